"""Hostile corral workers for tests/hostile/: each misbehaves in one way that
corral must survive without stalling the supervision of its other workers.
Standard library only. Every action is announced on stdout as a line
"hostile: ..." (corral logs it as "[w<id> <pid>] hostile: ...").

    hostile_worker.py forker STATE_DIR CHILDREN GRANDCHILDREN
        The first instance (marked in STATE_DIR; its replacements only idle)
        forks CHILDREN processes as fast as it can, each of which forks
        GRANDCHILDREN more; all of them idle. The count is the bound: the
        tree is CHILDREN * (GRANDCHILDREN + 1) processes, never more.
    hostile_worker.py flood STATE_FILE
        Writes to stdout as fast as it can for ever: 1 KiB lines, and every
        64th write one 40 KiB line (over corral's line cap). Every MiB it
        records the bytes written so far in STATE_FILE.
    hostile_worker.py close-output
        Closes its stdout and stderr, then idles.
    hostile_worker.py deaf
        Ignores every signal that can be ignored (the stop signal, SIGINT,
        SIGHUP, SIGQUIT, ...), then idles: only SIGKILL ends it.
"""
import os
import signal
import sys


def say(text):
    print("hostile: " + text, flush=True)


def idle():
    while True:
        signal.pause()


def forker(state_dir, children, grandchildren):
    marker = os.path.join(state_dir, "forked")
    if os.path.exists(marker):
        say("forker: already forked once, idling")
        idle()
    open(marker, "w").close()
    total = 0
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            for _ in range(grandchildren):
                if os.fork() == 0:
                    idle()
            idle()
        total += 1 + grandchildren
    say("forker: %d processes forked" % total)
    idle()


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def flood(state_file):
    line = b"x" * 1023 + b"\n"
    chunk = line * 64
    long_line = b"y" * (40 * 1024) + b"\n"
    written = 0
    next_report = 0
    writes = 0
    while True:
        data = long_line if writes % 64 == 63 else chunk
        write_all(1, data)
        writes += 1
        written += len(data)
        if written >= next_report:
            with open(state_file + ".tmp", "w") as f:
                f.write(str(written))
            os.rename(state_file + ".tmp", state_file)
            next_report = written + (1 << 20)


def close_output():
    say("closing stdout and stderr")
    sys.stdout.flush()
    os.close(1)
    os.close(2)
    idle()


def deaf():
    for signum in signal.valid_signals():
        if signum not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            try:
                signal.signal(signum, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
    say("deaf to every signal but SIGKILL")
    idle()


def main():
    mode = sys.argv[1]
    if mode == "forker":
        forker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "flood":
        flood(sys.argv[2])
    elif mode == "close-output":
        close_output()
    elif mode == "deaf":
        deaf()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
