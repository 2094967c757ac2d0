"""A WSGI hello app for gunicorn (Debian package `gunicorn`) under corral.

gunicorn speaks systemd socket activation itself: when LISTEN_FDS is set and
LISTEN_PID is its own pid, the arbiter serves fds 3.. and ignores --bind:

    corral run --listen 127.0.0.1:8080 -- \
        gunicorn --workers 1 --chdir examples/gunicorn app:app

Or with the fd named explicitly. Debian's gunicorn 20.1 then counts fd 3
twice (once from --bind, once from LISTEN_FDS) and fails, so hide the
variables from it:

    corral run --listen 127.0.0.1:8080 -- env -u LISTEN_FDS -u LISTEN_PID \
        gunicorn --workers 1 --bind fd://{fd:http} --chdir examples/gunicorn app:app
"""

BODY = b"hello\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
