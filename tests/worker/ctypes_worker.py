"""A worker in Python that uses libcorral-worker through ctypes (the FFI
example of docs/worker-library.md), run under supervise_once by ctest: it
serves "hello from worker N" on the inherited socket until asked to drain."""
import ctypes
import ctypes.util
import socket
import sys

lib = ctypes.CDLL(ctypes.util.find_library("corral-worker") or "libcorral-worker.so.0")
lib.corral_attach_message.restype = ctypes.c_char_p
lib.corral_publish.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
lib.corral_listen_fd.argtypes = [ctypes.c_char_p]

if lib.corral_attach() != 0:
    sys.exit("not attached: " + lib.corral_attach_message().decode())
worker_id = lib.corral_worker_id()
fd = lib.corral_listen_fd(b"http")
if fd < 0:
    sys.exit("no socket named http")
server = socket.socket(fileno=fd)
server.settimeout(0.1)
lib.corral_ready()
served = 0
while not lib.corral_drain_requested() and lib.corral_supervisor_alive():
    lib.corral_heartbeat()
    try:
        conn, _ = server.accept()
    except (TimeoutError, socket.timeout, BlockingIOError):
        continue
    with conn:
        conn.recv(4096)
        body = f"hello from worker {worker_id}\n".encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    served += 1
    lib.corral_publish(served, 0)
lib.corral_draining()
lib.corral_stopped()
