#!/usr/bin/env python3
"""Checks that a server works the way corral runs it, without corral.

Plays the supervisor's part for one worker: binds a listening socket
(127.0.0.1 on a free port, or a unix socket with --unix), starts the command
with that socket as fd 3 and LISTEN_FDS=1, LISTEN_PID=<its pid>,
LISTEN_FDNAMES=http, replacing {fd:http} and {port:http} in its arguments;
then sends GET PATH and checks the answer, sends SIGTERM and checks that the
server exits 0. Exit status 0 when all of that holds.

    examples/try_inherited.py -- build/examples/http_server/example_server --fd {fd:http}
    examples/try_inherited.py --unix -- python3 examples/python/server.py {fd:http}
"""

import argparse
import os
import signal
import socket
import sys
import tempfile
import time


def request(address, family, path, timeout):
    """One GET with Connection: close; returns the raw response bytes."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def wait_exit(pid, timeout):
    """The exit status as a shell would show it, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unix", action="store_true", help="pass a unix socket instead of TCP")
    ap.add_argument("--path", default="/", help="request path (default /)")
    ap.add_argument("--expect", default="hello\n", help="text the response body must contain")
    ap.add_argument("--timeout", type=float, default=15, help="seconds for the answer and for the exit")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the server command after --")

    tmp = tempfile.mkdtemp(prefix="try-inherited-")
    if args.unix:
        family, address = socket.AF_UNIX, os.path.join(tmp, "http.sock")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind(address)
        port = ""
    else:
        family = socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        address = sock.getsockname()
        port = str(address[1])
    sock.listen(128)
    argv = [a.replace("{fd:http}", "3").replace("{port:http}", port) for a in command]
    print(f"try_inherited: {'unix:' + address if args.unix else '%s:%d' % address} -> {' '.join(argv)}",
          flush=True)

    pid = os.fork()
    if pid == 0:  # the worker: socket at fd 3, socket-activation variables, exec
        try:
            if sock.fileno() != 3:
                os.dup2(sock.fileno(), 3)
            os.set_inheritable(3, True)  # dup2 onto itself would not clear close-on-exec
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="http")
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)

    ok = True
    try:
        reply = request(address, family, args.path, args.timeout)
        head, _, body = reply.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        print(f"try_inherited: GET {args.path} -> {status_line!r}, body {body[:200]!r}")
        if b" 200 " not in status_line.encode() + b" " or args.expect.encode() not in body:
            print(f"try_inherited: FAIL: expected 200 and a body containing {args.expect!r}")
            ok = False
    except OSError as e:
        print(f"try_inherited: FAIL: request: {e}")
        ok = False

    os.kill(pid, signal.SIGTERM)
    code = wait_exit(pid, args.timeout)
    if code is None:
        print(f"try_inherited: FAIL: still running {args.timeout}s after SIGTERM; killing it")
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        ok = False
    else:
        print(f"try_inherited: exit status after SIGTERM: {code}")
        ok = ok and code == 0
    sock.close()
    if args.unix:
        if os.path.exists(address):
            os.unlink(address)
        else:  # under a supervisor, the other workers would lose their socket's name
            print("try_inherited: WARNING: the server deleted the unix socket's path on exit")
    os.rmdir(tmp)
    print("try_inherited: OK" if ok else "try_inherited: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
