"""A corral worker in Python that uses libcorral-worker through ctypes and
watches its supervisor, for tests/integration/shm_test.cc:

    alive_worker.py LIBRARY REPORT_FILE

It attaches, reports ready, heartbeats every 50 ms, and each time
corral_supervisor_alive() changes its answer appends a line to REPORT_FILE
("stale" or "alive", written whole with one write()). It exits 0 when corral
asks it to drain.
"""
import ctypes
import os
import sys
import time

lib = ctypes.CDLL(sys.argv[1])
lib.corral_attach_message.restype = ctypes.c_char_p
report = sys.argv[2]

if lib.corral_attach() != 0:
    sys.exit("alive_worker: not attached: " + lib.corral_attach_message().decode())
print("alive_worker: " + lib.corral_attach_message().decode(), flush=True)
lib.corral_ready()
alive = True
started = time.monotonic()
while not lib.corral_drain_requested():
    lib.corral_heartbeat()
    now_alive = lib.corral_supervisor_alive() == 1
    if now_alive != alive:
        alive = now_alive
        fd = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, b"%s after %.1f s\n" % (b"alive" if alive else b"stale", time.monotonic() - started))
        os.close(fd)
    time.sleep(0.05)
lib.corral_draining()
lib.corral_stopped()
print("alive_worker: drained, exiting", flush=True)
