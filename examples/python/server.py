#!/usr/bin/env python3
"""A Python (stdlib only) HTTP server for corral: it serves the listening
socket it inherits instead of binding a port.

    corral run --listen 127.0.0.1:8080 -- python3 examples/python/server.py {fd:http}

The fd comes from argv[1], else 3 when LISTEN_FDS is set for this process
(systemd-style socket activation, which is what corral passes). TCP and unix
sockets both work. Every request gets "hello\\n"; GET /slow?ms=N answers
after N ms (for trying graceful stops).

SIGTERM/SIGINT: stop accepting, close idle keep-alive connections, let
requests in flight finish (answered with Connection: close), exit 0. A second
signal exits at once.
"""

import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BODY = b"hello\n"


def inherited_fd():
    if len(sys.argv) > 1:
        return int(sys.argv[1])
    if os.environ.get("LISTEN_FDS") and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return 3
    sys.exit("usage: server.py FD   (or run it with LISTEN_FDS/LISTEN_PID set)")


class Server(ThreadingHTTPServer):
    # Request threads are joined by server_close(), so requests in flight
    # finish before the process exits.
    daemon_threads = False
    block_on_close = True

    def __init__(self, sock):
        super().__init__(sock.getsockname(), Handler, bind_and_activate=False)
        self.socket.close()  # the unbound socket the base class made
        self.socket = sock
        self.server_address = sock.getsockname()
        self.stopping = False
        self.lock = threading.Lock()
        self.idle = set()  # connections waiting for their next request

    def stop(self):
        """Called once, from a helper thread: no accepts, idle keep-alives closed."""
        self.stopping = True
        self.shutdown()  # serve_forever() returns
        with self.lock:
            for conn in self.idle:
                try:
                    conn.shutdown(socket.SHUT_RD)  # its readline() sees EOF
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection is dropped after this

    def handle_one_request(self):
        with self.server.lock:
            if self.server.stopping:
                self.close_connection = True
                return
            self.server.idle.add(self.connection)
        try:
            super().handle_one_request()
        finally:
            with self.server.lock:
                self.server.idle.discard(self.connection)

    def parse_request(self):
        with self.server.lock:  # a request line arrived: no longer idle
            self.server.idle.discard(self.connection)
        return super().parse_request()

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/slow":
            ms = int(parse_qs(url.query).get("ms", ["1000"])[0])
            time.sleep(ms / 1000)
            body = b"slept %d ms\n" % ms
        else:
            body = BODY
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if self.server.stopping:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format, *args):  # no line per request
        pass


def main():
    fd = inherited_fd()
    sock = socket.socket(fileno=fd)  # family and type are read from the fd
    sock.set_inheritable(False)
    # Non-blocking, like every worker sharing the socket: one that loses the
    # race for a connection gets EAGAIN (socketserver ignores it) instead of
    # blocking in accept() where it could not notice a stop signal.
    sock.setblocking(False)
    server = Server(sock)

    def on_signal(signum, frame):
        if server.stopping:
            os._exit(128 + signum)
        threading.Thread(target=server.stop).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"python server pid={os.getpid()} listening fd={fd}", flush=True)
    server.serve_forever()
    server.server_close()  # closes the socket, joins request threads
    return 0


if __name__ == "__main__":
    sys.exit(main())
