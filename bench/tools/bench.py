#!/usr/bin/env python3
"""Small stdlib helper for corral's benchmark scripts.

Subcommands (each prints JSON lines on stdout unless said otherwise):
  free-port [N]                N distinct free TCP ports on 127.0.0.1
  share-socket --port P --count N -- CMD...
                               binds 127.0.0.1:P and runs N copies of CMD sharing that one
                               socket ("{fd}" in CMD is its number): a shared socket with no
                               supervisor, the baseline for corral's default socket mode
  wait-http URL SECS           exits 0 once URL answers 200, 1 after SECS
  parse-wrk --label --mode --round   wrk --latency output on stdin -> one line
  split --label --mode --round --secs S [--parent PID] [PID...]
                               how one wrk run's load spread over the workers
  crash [--kills N] [--interval S] LABEL:PID:PORT[:LOG]...
                               kill -9 each supervisor's only worker, time the recovery
  reload-record --label --mode --round --wrk FILE --reloads FILE [--log F --log-skip N --done-pattern P]
                               one wrk run under reloads (bench/failures.lua) -> one line
  admin-record --round R FILE  hyperfine --export-json -> one line per command
  idle --secs S --round R L=PID...   RSS and CPU of supervisor processes while idle
  parse-time --label --round FILE    /usr/bin/time -v output -> max RSS
  autoscale-step --port --log --round [--clients --ms --limit]
                               a load step: times to the scale-up decision and the new worker ready
  autoscale-ramp --port --log --name --corral --csv --phases S:C:P,...
                               a load ramp, `corral status --json` sampled into a CSV
  stamp-meta --results DIR     keep meta.json's build/date in each load-*.json
  report --results DIR --out FILE    docs/benchmarks.md from the results
"""
import argparse
import datetime
import glob
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def emit(obj):
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------- small tools
def cmd_free_port(a):
    socks = []
    for _ in range(a.n):  # held open together, so the ports differ
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def cmd_share_socket(a):
    """Not on the data path: binds, forks the workers, waits. A TERM is passed
    on to the workers; when one exits, the others are stopped too."""
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", a.port))
    lsock.listen(1024)
    fd = lsock.fileno()
    argv = [part.replace("{fd}", str(fd)) for part in cmd]
    env = {k: v for k, v in os.environ.items() if k not in ("LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET")}
    kids = [subprocess.Popen(argv, pass_fds=(fd,), env=env) for _ in range(a.count)]
    lsock.close()
    stop = lambda *_: [k.terminate() for k in kids if k.poll() is None]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.wait()
    stop()
    for k in kids:
        k.wait()


def cmd_wait_http(a):
    deadline = time.monotonic() + a.secs
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(a.url, timeout=1) as r:
                if r.status == 200:
                    return 0
        except OSError:
            pass
        time.sleep(0.05)
    print(f"no answer from {a.url} within {a.secs}s", file=sys.stderr)
    return 1


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def cmd_parse_wrk(a):
    out = sys.stdin.read()
    rec = {"label": a.label, "mode": a.mode, "round": a.round, "rps": None}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        rec["rps"] = float(m.group(1))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        if m:
            rec[f"p{pct}_ms"] = round(to_ms(m.group(1)), 3)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rec["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rec["non_2xx"] = int(m.group(1)) if m else 0
    if rec["rps"] is None:
        rec["raw"] = out[-500:]
    emit(rec)


# ---------------------------------------------------------------- processes
def children(pid):
    kids = set()
    for f in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(f) as fh:
                kids.update(int(x) for x in fh.read().split())
        except OSError:
            pass
    return kids


def exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def workers_of(sup, skip_same_exe):
    """The supervisor's children; with skip_same_exe, leaving out copies of
    the supervisor's own binary (corral forks a helper of itself besides its
    workers; Node's cluster workers, by contrast, are node like their primary)."""
    kids = children(sup)
    if skip_same_exe:
        own = exe(sup)
        kids = {k for k in kids if exe(k) != own}
    return kids


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return None


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def cpu_ns_all(pid):
    """On-CPU time in ns, summed over the process's threads."""
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except OSError:
            pass
    return total


def established_inodes():
    inodes = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    if parts[3] == "01":  # ESTABLISHED
                        inodes.add(parts[9])
        except OSError:
            pass
    return inodes


def connections(pid, inodes):
    n = 0
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            n += 1
    return n


def cmd_split(a):
    """How the load spread over the workers during one wrk run: established
    connections per worker at mid-run and each worker's share of the CPU
    time the workers used over the run. Workers are PIDs, or children of
    --parent."""
    pids = [int(p) for p in a.pids]
    if a.parent:
        pids += sorted(workers_of(a.parent, a.skip_same_exe))
    t0 = {p: cpu_ticks(p) for p in pids}
    time.sleep(a.secs / 2)
    inodes = established_inodes()
    conns = [connections(p, inodes) for p in pids]
    time.sleep(a.secs / 2)
    ticks = [cpu_ticks(p) - t0[p] for p in pids]
    total = sum(ticks)
    emit({"label": a.label, "mode": a.mode, "round": a.round, "conns": conns, "cpu_ticks": ticks,
          "busiest_cpu_share": round(max(ticks) / total, 3) if total else None})


# ---------------------------------------------------------------- crash
def poller(sup, old, helpers, wfd, limit):
    """Child process: polls the supervisor's children in a tight loop and
    reports when the killed worker was reaped (it stays listed as a zombie
    until its parent waits for it) and when a new child appeared, about
    every 0.1 ms (it sleeps between reads, so it does not hog a core)."""
    fds = [os.open(f, os.O_RDONLY) for f in glob.glob(f"/proc/{sup}/task/*/children")]
    reaped = spawned = None
    new_pid = None
    os.write(wfd, b"R")
    end = time.perf_counter() + limit
    while reaped is None or spawned is None:
        kids = set()
        for fd in fds:
            try:
                kids.update(int(x) for x in os.pread(fd, 4096, 0).split())
            except OSError:
                pass
        now = time.perf_counter()
        if now > end:
            break
        if reaped is None and old not in kids:
            reaped = now
        if spawned is None:
            new = kids - {old} - helpers
            if new:
                spawned, new_pid = now, min(new)
        time.sleep(0.00005)
    os.write(wfd, json.dumps({"reaped": reaped, "spawned": spawned, "new_pid": new_pid}).encode())
    os._exit(0)


def http_get_200(port, timeout):
    """One connect + GET /; True on a 200 answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")


LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")


def log_times(path, old, deadline):
    """From a corral log: wall times of the 'worker N (pid OLD) killed by
    signal 9' line and of the next 'worker N started (pid M)' line."""
    while True:
        killed = started = None
        with open(path, errors="replace") as fh:
            for line in fh:
                m = LOG_TS.match(line)
                if not m:
                    continue
                ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                if killed is None and f"(pid {old}) killed by signal 9" in line:
                    killed = (ts, m.group(1))
                elif killed is not None and re.search(r"worker \d+ started \(pid \d+\)", line):
                    started = (ts, m.group(1))
                    break
        if (killed and started) or time.monotonic() > deadline:
            return killed, started
        time.sleep(0.05)


def kill_and_probe(label, sup, port, logfile, rnd, timeout):
    """One kill -9 of the supervisor's only worker; returns the record."""
    # corral forks a helper of its own binary besides the workers.
    helpers = children(sup) - workers_of(sup, label.startswith("corral"))
    kids = children(sup) - helpers
    if len(kids) != 1:
        return {"label": label, "round": rnd, "error": f"supervisor has {len(kids)} workers"}
    old = kids.pop()
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        poller(sup, old, helpers, w, 10.0)
    os.close(w)
    os.read(r, 1)  # the poller is polling
    wall0 = time.time()
    t0 = time.perf_counter()
    os.kill(old, signal.SIGKILL)
    answered = None
    attempts = refused = timeouts = 0
    while time.perf_counter() - t0 < 10.0:
        attempts += 1
        try:
            if http_get_200(port, timeout):
                answered = time.perf_counter()
                break
        except ConnectionRefusedError:
            refused += 1
        except socket.timeout:
            timeouts += 1
        except OSError:
            pass
        time.sleep(0.0002)
    buf = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    os.waitpid(child, 0)
    p = json.loads(buf)
    ms = lambda t: None if t is None else round((t - t0) * 1e3, 3)
    rec = {"label": label, "round": rnd, "answer_ms": ms(answered),
           "reaped_ms": ms(p["reaped"]), "spawned_ms": ms(p["spawned"]),
           "attempts": attempts, "refused": refused, "timeouts": timeouts}
    if logfile:
        killed, started = log_times(logfile, old, time.monotonic() + 2)
        if killed:
            rec["log_notice_ms"] = round((killed[0] - wall0) * 1e3, 3)
        if started:
            rec["log_started_ms"] = round((started[0] - wall0) * 1e3, 3)
    return rec


def cmd_crash(a):
    """Targets are LABEL:SUPERVISOR_PID:PORT[:CORRAL_LOG]. Each round kills
    each target's worker in turn, so the setups are measured side by side;
    the same target is killed again only after `interval` seconds."""
    targets = []
    for t in a.targets:
        label, sup, port, *rest = t.split(":", 3)
        targets.append((label, int(sup), int(port), rest[0] if rest else None))
    gap = max(a.interval / len(targets), 0.5)
    time.sleep(a.interval)
    for rnd in range(1, a.kills + 1):
        order = targets[(rnd - 1) % len(targets):] + targets[:(rnd - 1) % len(targets)]
        for label, sup, port, logfile in order:
            emit(kill_and_probe(label, sup, port, logfile, rnd, a.timeout))
            time.sleep(gap)
    return 0


# ---------------------------------------------------------------- reload
def cmd_reload_record(a):
    """One wrk run under reloads -> one line: bench/failures.lua's counts from
    the wrk output, and the reloads the loop made (one JSON line each: start,
    end, exit status). With --log/--done-pattern, completed reloads are also
    counted from a log (Node cluster: the SIGHUP returns at once)."""
    with open(a.wrk, errors="replace") as fh:
        text = fh.read()
    counts = None
    for line in text.splitlines():
        if line.startswith("{") and '"requests"' in line:
            counts = json.loads(line)
    rec = {"label": a.label, "mode": a.mode, "round": a.round}
    if counts is None:
        rec["error"] = "no counts from wrk"
        rec["raw"] = text[-500:]
    else:
        sock = counts["connect"] + counts["read"] + counts["write"] + counts["timeout"]
        rec.update({"requests": counts["requests"],
                    "rps": round(counts["requests"] / (counts["duration_us"] / 1e6), 1)
                    if counts["duration_us"] else None,
                    "connect": counts["connect"], "read": counts["read"],
                    "write": counts["write"], "timeout": counts["timeout"],
                    "non_2xx": counts["status"], "socket_errors": sock,
                    "secs": round(counts["duration_us"] / 1e6),
                    "failed": sock + counts["status"]})
    with open(a.reloads) as fh:
        calls = [json.loads(l) for l in fh if l.strip()]
    rec["reloads"] = sum(1 for c in calls if c["rc"] == 0)
    rec["reload_errors"] = sum(1 for c in calls if c["rc"] != 0)
    rec["reload_secs"] = med([c["end"] - c["start"] for c in calls if c["rc"] == 0])
    if a.log:
        with open(a.log, "rb") as fh:
            fh.seek(a.log_skip)
            lines = fh.read().decode(errors="replace").splitlines()
        rec["signals"] = rec["reloads"]
        rec["reloads"] = sum(1 for l in lines if a.done_pattern in l)
        rec["reload_errors"] = sum(1 for l in lines if "aborted" in l)
    emit(rec)


# ---------------------------------------------------------------- admin
def cmd_admin_record(a):
    """hyperfine --export-json of one round -> one line per command (ms)."""
    with open(a.file) as fh:
        data = json.load(fh)
    for r in data["results"]:
        times = [t * 1e3 for t in r["times"]]
        emit({"label": r["command"], "round": a.round, "runs": len(times),
              "median_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
              "stddev_ms": statistics.stdev(times) if len(times) > 1 else 0.0,
              "min_ms": min(times), "max_ms": max(times),
              "times_ms": [round(t, 4) for t in times]})


def reload_gaps(path):
    """From corral's log of the Node reload runs: for each reload, the seconds
    from its `reload complete` line (every old worker draining, no longer
    accepting) to the next `listening` line of a new worker; and how many
    workers died of SIGTERM (stopped while still starting)."""
    if not os.path.exists(path):
        return [], 0
    gaps, early, pending = [], 0, None
    with open(path, errors="replace") as fh:
        for line in fh:
            m = LOG_TS.match(line)
            if not m:
                continue
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            if "reload complete" in line:
                pending = ts
            elif pending is not None and re.search(r"node server pid=\d+ listening", line):
                gaps.append(ts - pending)
                pending = None
            if "killed by signal 15" in line:
                early += 1
    return gaps, early


# ---------------------------------------------------------------- footprint
def cmd_idle(a):
    pids = dict(x.split("=", 1) for x in a.procs)
    pids = {k: int(v) for k, v in pids.items()}
    before = {k: (cpu_ticks(p), cpu_ns_all(p)) for k, p in pids.items()}
    # Processes a supervisor runs besides its workers (corral's helper).
    helpers = {k: children(p) - workers_of(p, k.startswith("corral")) for k, p in pids.items()}
    before_h = {h: cpu_ns_all(h) for hs in helpers.values() for h in hs}
    t0 = time.monotonic()
    time.sleep(a.secs)
    secs = time.monotonic() - t0
    hz = os.sysconf("SC_CLK_TCK")
    for k, p in pids.items():
        ticks, ns = cpu_ticks(p) - before[k][0], cpu_ns_all(p) - before[k][1]
        emit({"label": k, "round": a.round, "pid": p,
              "vmrss_kib": proc_status(p, "VmRSS"), "vmhwm_kib": proc_status(p, "VmHWM"),
              "rssanon_kib": proc_status(p, "RssAnon"), "rssfile_kib": proc_status(p, "RssFile"),
              "threads": proc_status(p, "Threads"),
              "workers": len(workers_of(p, k.startswith("corral"))),
              "helpers": len(helpers[k]),
              "helpers_rss_kib": sum(proc_status(h, "VmRSS") or 0 for h in helpers[k]),
              "pss_kib": pss_kib(p),
              "helpers_pss_kib": sum(pss_kib(h) or 0 for h in helpers[k]),
              "helpers_cpu_ms_sched": sum(cpu_ns_all(h) - before_h.get(h, 0) for h in helpers[k]) / 1e6,
              "cpu_ticks": ticks, "cpu_ms_stat": ticks * 1000 / hz, "cpu_ms_sched": ns / 1e6,
              "cpu_pct": ns / 1e9 / secs * 100, "secs": round(secs, 3)})


def cmd_parse_time(a):
    with open(a.file) as fh:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", fh.read())
    emit({"label": a.label, "round": a.round, "time_maxrss_kib": int(m.group(1)) if m else None})


# ---------------------------------------------------------------- autoscale
def burn_client(port, ms, pause, stop, counts):
    """One load client: GET /burn?ms=MS on a new connection each time (so a
    new worker gets its share), then `pause` seconds, until `stop` is set."""
    import http.client
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", f"/burn?ms={ms}", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            c.close()
            counts["ok" if r.status == 200 else "failed"] += 1
        except OSError:
            counts["failed"] += 1
            time.sleep(0.01)
        if pause:
            stop.wait(pause)


class Load:
    """`clients` burn_client threads; change() sets how many run."""
    def __init__(self, port, ms):
        import threading
        self.port, self.ms, self.threads = port, ms, []
        self.counts = {"ok": 0, "failed": 0}
        self.threading = threading

    def change(self, clients, pause=0.0):
        self.stop()
        for _ in range(clients):
            ev = self.threading.Event()
            t = self.threading.Thread(target=burn_client,
                                      args=(self.port, self.ms, pause, ev, self.counts), daemon=True)
            t.start()
            self.threads.append((t, ev))

    def stop(self):
        for _, ev in self.threads:
            ev.set()
        for t, _ in self.threads:
            t.join(15)
        self.threads = []


def log_lines_since(path, offset):
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode(errors="replace").splitlines()


def log_ts(line):
    m = LOG_TS.match(line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp() if m else None


def cmd_autoscale_step(a):
    """A load step on a corral at 1 worker: `clients` clients start looping
    GET /burn at t0; times (from corral's log, on its clock) to the
    autoscale decision, to the new worker's `started` and `ready` lines."""
    offset = os.path.getsize(a.log)
    load = Load(a.port, a.ms)
    t0 = time.time()
    load.change(a.clients)
    deadline = time.monotonic() + a.limit
    rec = {"round": a.round, "clients": a.clients, "burn_ms": a.ms}
    while time.monotonic() < deadline:
        decision = started = ready = None
        for line in log_lines_since(a.log, offset):
            if decision is None:
                m = re.search(r"autoscale: (.*: (\d+) -> (\d+) workers.*)$", line)
                if m and int(m.group(3)) > int(m.group(2)):
                    decision = (log_ts(line), m.group(1), m.group(3))
                continue
            m = re.search(r"worker (\d+) started \(pid (\d+)\)", line)
            if m and started is None:
                started = (log_ts(line), m.group(2))
                continue
            if started and f"(pid {started[1]}) ready" in line:
                ready = log_ts(line)
                break
        if ready:
            break
        time.sleep(0.02)
    # A little more load once the new worker is ready, so its share shows.
    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    load.stop()
    if decision:
        rec.update({"decision_s": round(decision[0] - t0, 3), "reason": decision[1],
                    "workers_after": int(decision[2])})
    if started:
        rec["started_s"] = round(started[0] - t0, 3)
    if ready:
        rec["ready_s"] = round(ready - t0, 3)
    else:
        rec["error"] = "no new worker ready within the limit"
    rec.update({"requests": load.counts["ok"], "failed_requests": load.counts["failed"]})
    emit(rec)


def cmd_autoscale_ramp(a):
    """A load ramp: phases SECS:CLIENTS:PAUSE_MS (each client loops GET
    /burn?ms=MS, pausing PAUSE_MS between requests); every `every` seconds
    one `corral status --json` -> a CSV row. Prints the scale decisions
    (from the log) as JSON lines."""
    import csv
    import subprocess
    phases = [tuple(float(x) for x in p.split(":")) for p in a.phases.split(",")]
    offset = os.path.getsize(a.log)
    load = Load(a.port, a.ms)
    t0 = time.time()
    end = 0.0
    with open(a.csv, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["t_s", "clients", "load_cores", "desired", "running", "ready",
                      "cpu_avg_sampled", "cpu_total_pct", "scale_events"])
        for secs, clients, pause_ms in phases:
            load.change(int(clients), pause_ms / 1e3)
            # What the clients ask for, in cores: each burns MS per MS+PAUSE.
            cores = clients * a.ms / (a.ms + pause_ms)
            end += secs
            while time.time() - t0 < end:
                tick = time.time()
                try:
                    s = json.loads(subprocess.run([a.corral, "status", "--json", "--name", a.name],
                                                  capture_output=True, text=True, timeout=5).stdout)
                except (ValueError, subprocess.TimeoutExpired):
                    s = None
                if s:
                    auto = s.get("autoscale") or {}
                    cpu_rule = next((r for r in auto.get("rules", []) if r.get("metric") == "cpu"), {})
                    total = sum(w.get("cpu_percent") or 0 for w in s["workers"])
                    v = cpu_rule.get("value")
                    out.writerow([round(tick - t0, 3), int(clients), round(cores, 2), s["desired"],
                                  s["running"], s["ready"], "" if v is None else round(v, 1),
                                  round(total, 1), auto.get("scale_events")])
                    fh.flush()
                time.sleep(max(0.0, a.every - (time.time() - tick)))
    load.stop()
    for line in log_lines_since(a.log, offset):
        m = re.search(r"autoscale: (.*)$", line)
        if m:
            emit({"t_s": round(log_ts(line) - t0, 3), "reason": m.group(1)})
    emit({"requests": load.counts["ok"], "failed_requests": load.counts["failed"]})


# ---------------------------------------------------------------- meta
def cmd_stamp_meta(a):
    """Before bench/run.sh rewrites meta.json: each load-BENCH.json without
    its own provenance gets meta.json's corral build, day and rounds, so the
    report still says what the results of benchmarks not rerun came from."""
    path = os.path.join(a.results, "meta.json")
    if not os.path.exists(path):
        return
    with open(path) as fh:
        meta = json.load(fh)
    for f in glob.glob(os.path.join(a.results, "load-*.json")):
        with open(f) as fh:
            l = json.load(fh)
        if "corral" in l:
            continue
        l.update({"corral": meta.get("corral"), "day": meta.get("date", "")[:10],
                  "rounds": meta.get("rounds")})
        with open(f, "w") as fh:
            json.dump(l, fh)


# ---------------------------------------------------------------- report
def load(results, name):
    path = os.path.join(results, name + ".jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip().startswith("{")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, nd=0, unit=""):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}{unit}"


def commands(results, name):
    path = os.path.join(results, name + ".cmds")
    if not os.path.exists(path):
        return ""
    with open(path) as fh:
        return "```sh\n" + fh.read().rstrip() + "\n```\n"


def round_ratios(recs, num, den, mode):
    """num/den for each round that measured both."""
    by = {}
    for r in recs:
        if r["mode"] == mode and r.get("rps"):
            by.setdefault(r["round"], {})[r["label"]] = r["rps"]
    return [v[num] / v[den] for v in by.values() if num in v and den in v]


def paired_ratio(recs, num, den, mode):
    """Median over rounds of num/den, both measured in the same round."""
    ratios = round_ratios(recs, num, den, mode)
    return med(ratios), len(ratios)


def verdict(ok):
    return "met" if ok else "**missed**"


def rps_table(recs, labels, ref, names, ref_short):
    rows = ["| setup | mode | req/s (median) | min–max | p50 latency | p99 latency | "
            f"ratio to {ref_short} (paired median) | errors |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for mode in ("keep-alive", "close"):
        for lab in labels:
            rs = [r for r in recs if r["label"] == lab and r["mode"] == mode]
            if not rs:
                continue
            vals = [r["rps"] for r in rs if r["rps"]]
            ratio, n = paired_ratio(recs, lab, ref, mode) if lab != ref else (1.0, len(vals))
            errs = sum(r.get("socket_errors", 0) + r.get("non_2xx", 0) for r in rs)
            rows.append(f"| {names[lab]} | {mode} | {fmt(med(vals))} | "
                        f"{fmt(min(vals) if vals else None)}–{fmt(max(vals) if vals else None)} | "
                        f"{fmt(med(r.get('p50_ms') for r in rs), 2, ' ms')} | "
                        f"{fmt(med(r.get('p99_ms') for r in rs), 2, ' ms')} | "
                        f"{fmt(ratio, 3)} (n={n}) | {errs} |")
    return "\n".join(rows) + "\n"


def split_table(recs, labels, names):
    """How the load spread over the workers, from `bench.py split`."""
    rows = ["| setup | mode | connections of the busiest worker at mid-run, per run | "
            "busiest worker's share of the workers' CPU time (median; 0.5 = even) |",
            "|---|---|---|---:|"]
    for mode in ("keep-alive", "close"):
        for lab in labels:
            rs = sorted((r for r in recs if r["label"] == lab and r["mode"] == mode),
                        key=lambda r: r["round"])
            if not rs or len(rs[0]["conns"]) < 2:
                continue
            per_run = ", ".join(f"{max(r['conns'])}/{sum(r['conns'])}" for r in rs)
            if mode == "close":
                per_run = "– (connections are short-lived)"
            rows.append(f"| {names[lab]} | {mode} | {per_run} | "
                        f"{fmt(med(r.get('busiest_cpu_share') for r in rs), 2)} |")
    return "\n".join(rows) + "\n"


BENCHES = ("datapath", "node", "crash", "footprint", "heartbeat", "reload", "admin", "autoscale")


def cmd_report(a):
    R = a.results
    with open(os.path.join(R, "meta.json")) as fh:
        meta = json.load(fh)
    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Generated by `bench/run.sh` (do not edit by hand: rerun it). Every number is a median "
      f"over {meta['rounds']} runs unless its section says otherwise; the setups of one "
      "benchmark run side by side, interleaved "
      "round by round in rotating order, so each ratio compares runs made within seconds of "
      "each other. The machine is small, shared and noisy: trust the ratios more than the "
      "absolute numbers. All traffic stays on 127.0.0.1.\n")
    w("## Machine and versions\n")
    w("| | |\n|---|---|")
    # Benchmarks rerun alone leave the others' results (and their provenance).
    prov = {}
    for b in BENCHES:
        f = os.path.join(R, f"load-{b}.json")
        if os.path.exists(f):
            with open(f) as fh:
                l = json.load(fh)
            if l.get("corral"):
                prov[b] = (l.get("day", ""), l["date"], l["corral"])
    mixed = len({c for _, _, c in prov.values()}) > 1
    for k in ("date", "nproc", "kernel", "cpu", "memory", "corral", "node", "pm2", "gunicorn",
              "python", "wrk", "hyperfine", "supervisord"):
        label = f"{k} (latest run)" if mixed and k in ("date", "corral") else k
        w(f"| {label} | {meta.get(k, 'n/a')} |")
    if mixed:
        w("| results of each benchmark: day, end, corral build | "
          + "; ".join(f"{b}: {d} {t}, {c}" for b, (d, t, c) in prov.items()) + " |")
    loads = []
    for b in BENCHES:
        f = os.path.join(R, f"load-{b}.json")
        if os.path.exists(f):
            with open(f) as fh:
                l = json.load(fh)
            loads.append(f"{b} {l['load_start']:.1f} → {l['load_end']:.1f} (ended {l['date']})")
    if loads:
        w(f"| 1-min load average at start → end of each benchmark | {'; '.join(loads)} |")
    w("")

    summary = []

    # 1. data path
    recs = load(R, "datapath")
    names = {"standalone": "2 standalone `--port` processes (SO_REUSEPORT)",
             "standalone-shared": "2 processes sharing one socket, no supervisor",
             "corral": "corral, 2 workers (`--fd`, default shared socket)",
             "corral-reuseport": "corral, 2 workers, `mode = \"reuseport\"`"}
    labels = ["standalone", "standalone-shared", "corral", "corral-reuseport"]
    w("## 1. Data-path overhead: C++ example server\n")
    w("`wrk -t2 -c64 -d10s --latency` against `GET /` of the example server with 2 processes, "
      "each socket arrangement with and without corral. corral is not on the data path (the "
      "workers accept and serve themselves), so what it could cost is only what its presence "
      "changes. Like for like: the 2 standalone SO_REUSEPORT processes against corral's "
      "`reuseport` mode (one SO_REUSEPORT socket per worker, bound by corral), and 2 processes "
      "sharing one socket with no supervisor (`bench.py share-socket` binds it and forks them) "
      "against corral's default `shared` mode. Target: ratio ≥ 0.97 (corral adds nothing to "
      "the data path). The difference between the two socket modes is the kernel's, not "
      "corral's, and is shown as the ratio of the shared setups to the SO_REUSEPORT "
      "processes.\n")
    if recs:
        w(rps_table(recs, labels, "standalone", names, "standalone"))
        split = load(R, "datapath-split")
        if split:
            w("How the load spread over the two workers during the same runs (`bench.py split`: "
              "established connections per worker half-way through each run, and each "
              "worker's `utime+stime` over the run):\n")
            w(split_table(split, labels, names))
        for num, den, what in (("corral-reuseport", "standalone", "corral `reuseport` / standalone SO_REUSEPORT"),
                               ("corral", "standalone-shared", "corral `shared` / standalone shared socket")):
            for mode in ("keep-alive", "close"):
                r, n = paired_ratio(recs, num, den, mode)
                if r is not None:
                    # Below the target in the median only, or in every round?
                    wins = sum(1 for x in round_ratios(recs, num, den, mode) if x >= 1.0)
                    summary.append((f"{what}, {mode}", f"{r:.3f}", "≥ 0.97",
                                    verdict(r >= 0.97) + ("" if r >= 0.97 else
                                    f" (corral faster in {wins} of {n} rounds)")))
        for mode in ("keep-alive", "close"):
            r, _ = paired_ratio(recs, "corral", "standalone", mode)
            if r is not None:
                summary.append((f"corral `shared` (default) / standalone SO_REUSEPORT, {mode} "
                                "(the socket mode's cost, for choosing one)", f"{r:.3f}", "—", "—"))
    w(commands(R, "datapath"))

    # 2. node
    recs = load(R, "node")
    names = {"plain": "one plain `node` process (1 worker, reference)",
             "cluster": "Node cluster module, 2 workers",
             "pm2": "PM2 cluster mode, `-i 2`",
             "corral": "corral, 2 workers of `node server.js {fd:http}`",
             "corral-reuseport": "corral, 2 workers, `mode = \"reuseport\"`"}
    w("## 2. Against Node's cluster module and PM2 (same Node app)\n")
    w("The same hello-world app (`examples/node/app.js`, body `hello\\n`) served by 2 workers "
      "under Node's cluster module (round-robin: the master accepts and hands each connection "
      "to a worker), under PM2 cluster mode (built on the cluster module; its daemon is the "
      "master), and under corral (both workers accept on the inherited socket themselves; "
      "corral's `reuseport` socket mode, one SO_REUSEPORT socket per worker, is shown for "
      "reference, the targets apply to the default shared socket). "
      "`wrk -t2 -c64 -d10s`, with keep-alive and with `Connection: close`. Ratios are corral "
      "over the other setup, paired by round. Targets: with `Connection: close`, corral ≥ 1.6× "
      "Node cluster and ≥ 2× PM2; with keep-alive, no worse (≥ 1.0×).\n")
    if recs:
        w(rps_table(recs, ["plain", "cluster", "pm2", "corral", "corral-reuseport"], "corral",
                    names, "corral"))
        split = load(R, "node-split")
        if split:
            w("How the load spread over the two workers (the cluster primary and PM2's daemon, "
              "which accept and pass connections on, are not counted):\n")
            w(split_table(split, ["cluster", "pm2", "corral", "corral-reuseport"], names))
        w("Ratios of corral to the others (paired by round, median):\n")
        w("| mode | corral / Node cluster | corral / PM2 | corral / one plain process |")
        w("|---|---:|---:|---:|")
        for mode in ("keep-alive", "close"):
            rc, _ = paired_ratio(recs, "corral", "cluster", mode)
            rp, _ = paired_ratio(recs, "corral", "pm2", mode)
            r1, _ = paired_ratio(recs, "corral", "plain", mode)
            w(f"| {mode} | {fmt(rc, 2, '×')} | {fmt(rp, 2, '×')} | {fmt(r1, 2, '×')} |")
            need_c, need_p = (1.6, 2.0) if mode == "close" else (1.0, 1.0)
            if rc is not None:
                summary.append((f"corral / Node cluster, {mode}", f"{rc:.2f}×", f"≥ {need_c}×",
                                verdict(rc >= need_c)))
            if rp is not None:
                summary.append((f"corral / PM2, {mode}", f"{rp:.2f}×", f"≥ {need_p}×",
                                verdict(rp >= need_p)))
        w("")
    w(commands(R, "node"))

    # 3. crash
    recs = load(R, "crash")
    names = {"corral-cpp": "corral + C++ example server",
             "corral-node": "corral + `node examples/node/server.js`",
             "cluster": "Node cluster module (`examples/node/cluster.js`)",
             "pm2": "PM2 cluster mode `-i 1`",
             "gunicorn": "gunicorn `-w 1` (sync worker)"}
    w("## 3. Crash recovery: kill -9 of the only worker\n")
    w("One worker, so the next connection must wait for its replacement. A Python (stdlib) "
      "probe (`bench/tools/bench.py crash`) sends SIGKILL to the worker, then at once loops "
      "connect + `GET /` (50 ms timeout per attempt, 0.2 ms pause after a refused or failed "
      "attempt) until a 200 arrives; times are `time.perf_counter()` from the kill. A helper "
      "process reads `/proc/SUPERVISOR/task/*/children` about every 0.1 ms: the killed worker "
      "stays listed as a zombie until its supervisor reaps it (*reaped* = the supervisor "
      "noticed), and a new pid there marks the fork of the replacement (*forked*). For corral "
      "its log gives the same two moments on its own clock: the `worker 0 (pid N) killed by "
      "signal 9` line and the `worker 0 started (pid M)` line (log timestamps have microsecond "
      "precision; compared with the probe's `time.time()` read just before the kill). A worker "
      "up for at least `min_uptime` (corral's default: 5 s) is replaced at once, so the same "
      f"worker is killed again only after {meta.get('crash_interval', '?')} s; the five "
      "supervisors run at the same time and are killed in turn, in rotating order. *Refused* "
      "counts attempts refused because nothing listened (the cluster primary closes its "
      "listening socket while it has no worker); *hung* counts attempts that connected but "
      "got no answer within 50 ms. Targets for corral + C++: notice < 1 ms, serving < 10 ms.\n")
    if recs:
        w("| supervisor + app | noticed: log line (median) | noticed: reaped (poll) | "
          "replacement: log `started` | replacement: forked (poll) | **answered 200** (median) "
          "| answered min–max | refused / hung attempts (median) | runs |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for lab in names:
            rs = [r for r in recs if r["label"] == lab and "error" not in r]
            if not rs:
                continue
            ans = [r["answer_ms"] for r in rs if r.get("answer_ms") is not None]
            w(f"| {names[lab]} | {fmt(med(r.get('log_notice_ms') for r in rs), 3, ' ms')} | "
              f"{fmt(med(r.get('reaped_ms') for r in rs), 2, ' ms')} | "
              f"{fmt(med(r.get('log_started_ms') for r in rs), 3, ' ms')} | "
              f"{fmt(med(r.get('spawned_ms') for r in rs), 2, ' ms')} | "
              f"**{fmt(med(ans), 2, ' ms')}** | "
              f"{fmt(min(ans) if ans else None, 2)}–{fmt(max(ans) if ans else None, 2)} ms | "
              f"{fmt(med(r.get('refused') for r in rs))} / {fmt(med(r.get('timeouts') for r in rs))} | "
              f"{len(ans)}/{len(rs)} |")
        w("")
        rs = [r for r in recs if r["label"] == "corral-cpp" and "error" not in r]
        n = med(r.get("log_notice_ms") for r in rs)
        s = med(r.get("answer_ms") for r in rs)
        if n is not None:
            summary.append(("corral notices a kill -9 (log)", f"{n:.3f} ms", "< 1 ms", verdict(n < 1)))
        if s is not None:
            summary.append(("corral + C++ serving again after kill -9", f"{s:.2f} ms", "< 10 ms",
                            verdict(s < 10)))
        errs = [r for r in recs if "error" in r]
        if errs:
            w("Errors: " + "; ".join(f"{r['label']} round {r['round']}: {r['error']}" for r in errs) + "\n")
    w(commands(R, "crash"))

    # 4. footprint
    recs = load(R, "footprint")
    times = load(R, "footprint-time")
    names = {"corral-2": "corral, 2 workers (C++)", "corral-64": "corral, 64 workers (C++)",
             "pm2": "PM2 God Daemon, `-i 2` (Node)", "cluster": "Node cluster master, 2 workers",
             "gunicorn": "gunicorn arbiter, `-w 2`"}
    w("## 4. Supervisor footprint\n")
    w("The supervisor process alone (not its workers), idle, after every worker answers and "
      "3 s more. RSS is `VmRSS` from `/proc/PID/status` (and `VmHWM`, its peak); "
      "PSS (from `/proc/PID/smaps_rollup`) splits shared pages among the processes mapping "
      "them. Idle CPU is the `utime+stime` delta from `/proc/PID/stat` over 10 s (clock ticks of "
      "10 ms, so 0 means < 1 tick), with the per-thread `schedstat` run time as a finer "
      "reading. `/usr/bin/time -v` max RSS is reported too, but note what it is: the kernel "
      "merges the peak RSS of every reaped descendant into it, so for a supervisor it is the "
      "larger of its own peak and its largest worker's; PM2's daemon detaches and cannot be "
      "run under `time`. Children of a supervisor that are not workers (corral forks a "
      "helper copy of itself) are listed in the last column. All five setups run at the "
      "same time, idle. Targets: corral < 5 MiB with 2 workers, < 10 MiB with 64.\n")
    if recs:
        w("| supervisor | workers | VmRSS (median) | of which RssAnon / RssFile | PSS | VmHWM | "
          "`time -v` max RSS | idle CPU ticks / 10 s | idle CPU (schedstat) | threads | "
          "other children: count, VmRSS, idle CPU |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for lab in names:
            rs = [r for r in recs if r["label"] == lab]
            if not rs:
                continue
            ts = [t["time_maxrss_kib"] for t in times if t["label"] == lab]
            mib = lambda v: None if v is None else v / 1024
            w(f"| {names[lab]} | {fmt(med(r['workers'] for r in rs))} | "
              f"{fmt(mib(med(r['vmrss_kib'] for r in rs)), 2, ' MiB')} | "
              f"{fmt(mib(med(r.get('rssanon_kib') for r in rs)), 2)} / "
              f"{fmt(mib(med(r.get('rssfile_kib') for r in rs)), 2)} MiB | "
              f"{fmt(mib(med(r.get('pss_kib') for r in rs)), 2, ' MiB')} | "
              f"{fmt(mib(med(r['vmhwm_kib'] for r in rs)), 2, ' MiB')} | "
              f"{fmt(mib(med(ts)), 1, ' MiB')} | "
              f"{fmt(med(r['cpu_ticks'] for r in rs))} | "
              f"{fmt(med(r['cpu_ms_sched'] for r in rs), 2, ' ms')} "
              f"({fmt(med(r['cpu_pct'] for r in rs), 3, ' %')}) | "
              f"{fmt(med(r['threads'] for r in rs))} | "
              + (f"{fmt(med(r.get('helpers') for r in rs))}, "
                 f"RSS {fmt(mib(med(r.get('helpers_rss_kib') for r in rs)), 2, ' MiB')} "
                 f"(PSS {fmt(mib(med(r.get('helpers_pss_kib') for r in rs)), 2, ' MiB')}), "
                 f"{fmt(med(r.get('helpers_cpu_ms_sched') for r in rs), 2, ' ms')} |"
                 if med(r.get('helpers') or 0 for r in rs) else "none |"))
        w("")
        for lab, limit in (("corral-2", 5), ("corral-64", 10)):
            v = med(r["vmrss_kib"] for r in recs if r["label"] == lab)
            if v is not None:
                summary.append((f"corral RSS, {lab.split('-')[1]} workers (supervisor process)",
                                f"{v / 1024:.2f} MiB", f"< {limit} MiB", verdict(v / 1024 < limit)))
            h = med(r.get("helpers_rss_kib") or 0 for r in recs if r["label"] == lab)
            if v is not None and h:
                t = (v + h) / 1024
                summary.append((f"corral + its guardian, {lab.split('-')[1]} workers: RSS added up",
                                f"{t:.2f} MiB", f"< {limit} MiB", verdict(t < limit)))
                p = med((r.get("pss_kib") or 0) + (r.get("helpers_pss_kib") or 0)
                        for r in recs if r["label"] == lab)
                if p:
                    summary.append((f"corral + its guardian, {lab.split('-')[1]} workers: PSS added up",
                                    f"{p / 1024:.2f} MiB", f"< {limit} MiB", verdict(p / 1024 < limit)))
    w(commands(R, "footprint"))

    # 5. reload
    recs = [r for r in load(R, "reload") if "error" not in r]
    lr = os.path.join(R, "load-reload.json")
    rounds = json.load(open(lr)).get("rounds") if os.path.exists(lr) else None
    names = {"corral": "corral + Node (`corral reload`)",
             "pm2": "PM2 cluster mode (`pm2 reload hello`)",
             "cluster": "Node cluster module (SIGHUP: rolling restart)",
             "corral-cpp": "corral + C++ example server (`ready = \"notify\"`)"}
    w("## 5. Rolling reload under load: failed requests\n")
    w("The same drain-aware Node app (`examples/node/app.js`: on SIGTERM/SIGINT it stops "
      "accepting, answers requests still arriving on open keep-alive connections with "
      "`Connection: close`, and closes idle connections after a 1 s grace) with 2 workers under "
      "corral, PM2 cluster mode (`examples/node/ecosystem.config.js`) and Node's cluster module "
      "(`examples/node/cluster.js`: on SIGHUP it forks a replacement per worker, waits for its "
      "`listening` event, then sends the old worker SIGTERM), and the C++ example server under "
      "corral with `ready = \"notify\"`. Each setup in turn gets `wrk -t2 -c64` for "
      f"{recs[0].get('secs', '?') if recs else '?'} s, keep-alive and `Connection: close`, "
      "while a loop reloads it every 2 s counted from the end of the previous reload (`corral "
      "reload` and `pm2 reload` return when the reload is complete; the cluster primary ignores "
      "a SIGHUP during a restart, and its reloads are counted from its log). A failed request is "
      "any socket error wrk counts (connect, read, write, timeout) or a non-2xx answer "
      "(`bench/failures.lua`). A *timeout* is not a lost request: every 2 s wrk counts each "
      "connection whose request has waited more than 2 s for its answer, so one long stall "
      "counts once per connection waiting (and again 2 s later if it lasts). Medians over "
      f"{rounds or '?'} runs per setup and mode, in rotating order. The issue's target: 0 "
      "failed requests under corral with a drain-aware server.\n")
    if recs:
        w("| setup | mode | **failed requests per run** (median) | min–max | failed per reload "
          "(median) | reloads per run | requests per run (median) | requests vs corral + Node "
          "(paired median) | failures by kind, all runs: connect / read / write / timeout / "
          "non-2xx | reload command's duration (median) | runs |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for mode in ("keep-alive", "close"):
            for lab in names:
                rs = [r for r in recs if r["label"] == lab and r["mode"] == mode]
                if not rs:
                    continue
                failed = [r["failed"] for r in rs]
                per = [r["failed"] / r["reloads"] for r in rs if r["reloads"]]
                by = {}
                for r in recs:
                    if r["mode"] == mode:
                        by.setdefault(r["round"], {})[r["label"]] = r["requests"]
                ratio = med(v[lab] / v["corral"] for v in by.values()
                            if lab in v and v.get("corral"))
                kinds = " / ".join(str(sum(r[k] for r in rs))
                                   for k in ("connect", "read", "write", "timeout", "non_2xx"))
                rt = med(r.get("reload_secs") for r in rs)
                w(f"| {names[lab]} | {mode} | **{fmt(med(failed))}** | {min(failed)}–{max(failed)} | "
                  f"{fmt(med(per), 2)} | {fmt(med(r['reloads'] for r in rs))} | "
                  f"{fmt(med(r['requests'] for r in rs))} | {fmt(ratio, 2)} | {kinds} | "
                  f"{'n/a (a signal)' if lab == 'cluster' else fmt(None if rt is None else rt * 1e3, 0, ' ms')} | "
                  f"{len(rs)} |")
        w("")
        errs = [r for r in recs if r.get("reload_errors")]
        if errs:
            w("Reloads that failed (the command's exit status was not 0, or the cluster primary "
              "aborted a restart): " + "; ".join(f"{names[r['label']]} {r['mode']} round "
                                                  f"{r['round']}: {r['reload_errors']}" for r in errs) + "\n")
        for lab, what in (("corral", "corral + Node"), ("corral-cpp", "corral + C++")):
            for mode in ("keep-alive", "close"):
                rs = [r for r in recs if r["label"] == lab and r["mode"] == mode]
                if rs:
                    tot = sum(r["failed"] for r in rs)
                    summary.append((f"{what}: failed requests during reloads, {mode} "
                                    f"(all {len(rs)} runs, {sum(r['reloads'] for r in rs)} reloads)",
                                    f"{tot}", "0", verdict(tot == 0)))
    bad = [r for r in load(R, "reload") if "error" in r]
    if bad:
        w("Runs without wrk's counts: " + "; ".join(f"{r['label']} {r['mode']} round {r['round']}"
                                                   for r in bad) + "\n")
    w(commands(R, "reload"))

    # 6. admin
    recs = load(R, "admin")
    names = {"corral": "`corral status` (2 workers)", "pm2": "`pm2 jlist` (2 cluster instances)",
             "supervisorctl": "`supervisorctl status` (1 program)"}
    w("## 6. Latency of the status command\n")
    w("Wall time of one status query from a fresh client process, measured by hyperfine "
      "(`-N`: no intermediate shell; 3 warm-up runs) against a running supervisor of the same "
      "Node app: corral with 2 workers, PM2 with 2 cluster instances (the query asks PM2's "
      "daemon over its RPC socket), supervisord with one program (over its unix-socket XML-RPC "
      "interface). Each round is one hyperfine invocation over the three commands, in rotating "
      "order; the median is the median of the rounds' medians, mean ± σ are over every run, "
      "ratios are paired by round. Much of PM2's and supervisorctl's time is their client's "
      "start-up (a Node process; Python importing supervisorctl), not the daemon's answer. "
      "Target: `corral status` under 2 ms (median).\n")
    if recs:
        w("| command | median | mean ± σ | min–max | runs | ratio to `corral status` (paired median) |")
        w("|---|---:|---:|---:|---:|---:|")
        for lab in names:
            rs = [r for r in recs if r["label"] == lab]
            if not rs:
                continue
            times = [t for r in rs for t in r["times_ms"]]
            by = {}
            for r in recs:
                by.setdefault(r["round"], {})[r["label"]] = r["median_ms"]
            ratio = med(v[lab] / v["corral"] for v in by.values() if lab in v and "corral" in v)
            sd = statistics.stdev(times) if len(times) > 1 else 0.0
            w(f"| {names[lab]} | **{fmt(med(r['median_ms'] for r in rs), 2, ' ms')}** | "
              f"{statistics.fmean(times):,.2f} ± {sd:,.2f} ms | "
              f"{min(times):,.2f}–{max(times):,.2f} ms | {len(times)} | {fmt(ratio, 1, '×')} |")
        w("")
        m = med(r["median_ms"] for r in recs if r["label"] == "corral")
        if m is not None:
            summary.append(("`corral status` latency (median)", f"{m:.2f} ms", "< 2 ms", verdict(m < 2)))
    w(commands(R, "admin"))

    # 7. autoscale
    recs = load(R, "autoscale-cpu")
    steps = load(R, "autoscale-step")
    ramp = load(R, "autoscale-ramp")
    if recs or steps or ramp:
        w("## 7. Autoscaling\n")
    if recs:
        sizes = sorted({int(r["label"].rsplit("-", 1)[1]) for r in recs})
        secs = med(r["secs"] for r in recs)
        w("What sampling costs corral itself. Each round starts, at the same time, corral with "
          f"{', '.join(map(str, sizes))} workers that cost nothing (`sleep 3600`), each once with "
          "`[autoscale] interval = \"1s\"` (min = max = N, so the count stays put, and one rule "
          "that never fires: every second corral reads each worker's CPU time and RSS, with its "
          "children, from /proc, and the machine's memory) and once without `[autoscale]`. Once "
          f"every worker is ready and 3 s more, corral's CPU over {fmt(secs)} idle seconds: "
          "`utime+stime` from `/proc/PID/stat` (clock ticks of 10 ms) and, finer, the threads' "
          "`schedstat` run time. *Sampling* is the difference between the two corrals of the same "
          "size, paired by round. Target: sampling under 1% of one core at 256 workers.\n")
        w("| workers | corral with `[autoscale]`, 1 s: CPU (utime+stime, median) | schedstat | "
          "corral without `[autoscale]` | schedstat | **sampling** (difference, utime+stime) | "
          "sampling (schedstat) | per worker and sample (schedstat) | corral's RSS with / without |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        hz = os.sysconf("SC_CLK_TCK")
        pct_t = lambda r: r["cpu_ticks"] / hz / r["secs"] * 100
        for n in sizes:
            a_ = [r for r in recs if r["label"] == f"corral-as-{n}"]
            p_ = [r for r in recs if r["label"] == f"corral-plain-{n}"]
            by = {}
            for r in a_ + p_:
                by.setdefault(r["round"], {})[r["label"].split("-")[1]] = r
            d_t = med(pct_t(v["as"]) - pct_t(v["plain"]) for v in by.values() if len(v) == 2)
            d_s = med(v["as"]["cpu_pct"] - v["plain"]["cpu_pct"] for v in by.values() if len(v) == 2)
            per = None if d_s is None else d_s / 100 * 1e6 / n  # µs per worker per 1 s sample
            w(f"| {n} | {fmt(med(pct_t(r) for r in a_), 3, ' %')} | "
              f"{fmt(med(r['cpu_pct'] for r in a_), 3, ' %')} | "
              f"{fmt(med(pct_t(r) for r in p_), 3, ' %')} | {fmt(med(r['cpu_pct'] for r in p_), 3, ' %')} | "
              f"**{fmt(d_t, 3, ' %')}** | {fmt(d_s, 3, ' %')} | {fmt(per, 1, ' µs')} | "
              f"{fmt(med(r['vmrss_kib'] for r in a_) / 1024, 2)} / "
              f"{fmt(med(r['vmrss_kib'] for r in p_) / 1024, 2)} MiB |")
            if n == max(sizes) and d_t is not None:
                summary.append((f"corral's CPU for sampling {n} workers every 1 s (utime+stime; "
                                f"schedstat {fmt(d_s, 3, '%')})", f"{d_t:.3f}% of a core", "< 1%",
                                verdict(d_t < 1)))
        nr = len({r['round'] for r in recs})
        w(f"\n({nr} round{'s' if nr != 1 else ''}; % of one core.)\n")
    if steps:
        ok = [r for r in steps if "ready_s" in r]
        w("Time from a load step to the added worker being ready. corral with the C++ example "
          "server (`ready = \"notify\"`: ready when it says so), `min = 1`, `max = 2`, `interval = "
          "\"500ms\"`, one rule `cpu above 60 for 2s add 1`; after 2 idle seconds, 2 clients "
          "(`bench.py autoscale-step`, Python) start looping `GET /burn?ms=200` (each request "
          "spins the worker's core for 200 ms; a new connection each time). Times from the "
          "first request to corral's log lines (its clock, microseconds): the decision "
          "(`autoscale: cpu …% above 60% for 2s (rule 1): 1 -> 2 workers`), the new worker's "
          "`started` and its `ready`. The decision cannot come before `for` (2 s) has passed "
          "from the first sample above 60%, which comes up to one `interval` after the step. "
          "A fresh corral each round.\n")
        w("| | decision logged | new worker started | **new worker ready** | min–max (ready) | runs |")
        w("|---|---:|---:|---:|---:|---:|")
        rd = [r["ready_s"] for r in ok]
        w(f"| from the load step (median) | {fmt(med(r.get('decision_s') for r in ok), 3, ' s')} | "
          f"{fmt(med(r.get('started_s') for r in ok), 3, ' s')} | "
          f"**{fmt(med(rd), 3, ' s')}** | {fmt(min(rd) if rd else None, 3)}–"
          f"{fmt(max(rd) if rd else None, 3)} s | {len(ok)}/{len(steps)} |")
        w(f"| decision → ready (median) | | | "
          f"{fmt(med(r['ready_s'] - r['decision_s'] for r in ok if 'decision_s' in r) * 1e3, 0, ' ms')} | | |")
        w("")
        if ok:
            w(f"A decision as logged: `autoscale: {ok[0]['reason']}`. Failed load requests over all "
              f"runs: {sum(r.get('failed_requests', 0) for r in steps)}.\n")
        bad = [r for r in steps if "ready_s" not in r]
        if bad:
            w("Runs without a new ready worker: " + "; ".join(f"round {r['round']}: {r.get('error')}"
                                                          for r in bad) + "\n")
    if ramp:
        w("Worker count and CPU over a load ramp (one run; `corral status --json` every 250 ms, "
          "`bench/results/autoscale-ramp.csv`): `min = 1`, `max = 4`, which the machine's 2 CPUs "
          "cap to 2, `interval = \"500ms\"`, `cpu above 60 for 2s add 2` (cooldown 5 s) and "
          "`cpu below 20 for 8s remove 1` (cooldown 10 s). Clients loop `GET /burn?ms=200` on a "
          "new connection each; the load offered goes 0 → 1 client pausing 200 ms between "
          "requests (half a core) → 1 client without pause (a core) → 2 clients (two cores) "
          "→ 0. The orange line is the average CPU per serving worker that the autoscaler saw at "
          "its last sample, the yellow one the CPU of all workers together as `corral status` "
          "measured it every 250 ms (the load offered, dashed, is what the clients ask for).\n")
        w("![worker count and CPU over a load ramp](autoscale-ramp.png)\n")
        ev = [r for r in ramp if "reason" in r]
        if ev:
            w("The decisions, as logged (seconds from the start of the ramp):\n")
            for r in ev:
                w(f"- {r['t_s']:.1f} s: `autoscale: {r['reason']}`")
            w("")
        tot = [r for r in ramp if "requests" in r]
        if tot:
            w(f"Requests during the ramp: {tot[0]['requests']}, failed: {tot[0]['failed_requests']}.\n")
    if recs or steps or ramp:
        w(commands(R, "autoscale"))

    w("## Observations (computed from this run)\n")
    obs = []
    split = load(R, "datapath-split")
    def held_all(label):  # keep-alive runs where one worker held every connection at mid-run
        ka = [r for r in split if r["label"] == label and r["mode"] == "keep-alive"]
        return sum(1 for r in ka if max(r["conns"]) == sum(r["conns"]) and sum(r["conns"]) > 0), len(ka)

    def busiest(label, mode):
        return med(r.get("busiest_cpu_share") for r in split if r["label"] == label and r["mode"] == mode)

    if any(r["label"] == "corral" for r in split):
        dp = load(R, "datapath")
        rat = {(lab, m): paired_ratio(dp, lab, "standalone", m)[0]
               for lab in ("corral", "standalone-shared", "corral-reuseport") for m in ("keep-alive", "close")}
        (cf, cn), (sf, sn) = held_all("corral"), held_all("standalone-shared")
        obs.append(f"Shared socket, with or without corral: one worker held all 64 keep-alive "
                   f"connections at mid-run in {cf} of {cn} runs under corral and {sf} of {sn} "
                   f"runs with no supervisor; the busiest worker's share of the workers' CPU time "
                   f"(0.50 = even) was {fmt(busiest('corral', 'keep-alive'), 2)} and "
                   f"{fmt(busiest('standalone-shared', 'keep-alive'), 2)} with keep-alive, "
                   f"{fmt(busiest('corral', 'close'), 2)} and {fmt(busiest('standalone-shared', 'close'), 2)} "
                   f"with `Connection: close`. Against the SO_REUSEPORT processes, the shared "
                   f"socket measured {fmt(rat[('corral', 'keep-alive')], 3)} (keep-alive) and "
                   f"{fmt(rat[('corral', 'close')], 3)} (close) under corral, and "
                   f"{fmt(rat[('standalone-shared', 'keep-alive')], 3)} and "
                   f"{fmt(rat[('standalone-shared', 'close')], 3)} with no supervisor: the cost is "
                   f"the one accept queue that both processes take from (which worker wins each "
                   f"of wrk's 64 simultaneous connects depends on scheduling, and a keep-alive "
                   f"connection stays where it landed), not corral. corral's `reuseport` mode "
                   f"measured {fmt(rat[('corral-reuseport', 'keep-alive')], 3)} and "
                   f"{fmt(rat[('corral-reuseport', 'close')], 3)}: for long-lived keep-alive "
                   f"connections from few clients, choose `mode = \"reuseport\"` "
                   f"(docs/configuration.md weighs the two modes).")

        def spread(num, den, mode):  # min–max of the per-round ratios
            rs = round_ratios(dp, num, den, mode)
            return f"{min(rs):.2f}–{max(rs):.2f}" if rs else "n/a"
        obs.append(f"How far single rounds scatter, as a yardstick for the paired medians: the "
                   f"per-round ratio of corral `reuseport` to the standalone SO_REUSEPORT "
                   f"processes, two setups the kernel treats the same, ranged "
                   f"{spread('corral-reuseport', 'standalone', 'keep-alive')} with keep-alive and "
                   f"{spread('corral-reuseport', 'standalone', 'close')} with close; corral "
                   f"`shared` to the shared socket without a supervisor ranged "
                   f"{spread('corral', 'standalone-shared', 'keep-alive')} and "
                   f"{spread('corral', 'standalone-shared', 'close')} (with keep-alive, mostly "
                   f"by how the 64 connections happened to split).")
    crash = [r for r in load(R, "crash") if r["label"] == "corral-cpp" and "error" not in r]
    if crash:
        n = med(r.get("log_notice_ms") for r in crash)
        st = med(r.get("log_started_ms") for r in crash)
        fk = med(r.get("spawned_ms") for r in crash)
        if None not in (n, st, fk):
            obs.append(f"corral + C++ after kill -9 (medians): the exit is logged {n:.2f} ms after "
                       f"the kill, the replacement's fork is seen at {fk:.2f} ms, and the "
                       f"`started` line comes at {st:.2f} ms: the launcher forks, then waits "
                       f"on a pipe until the child has exec'd before it logs, so the supervisor's "
                       f"loop is blocked for that exec each time it spawns.")
    fp = [r for r in load(R, "footprint") if r["label"] == "corral-2"]
    fp64 = [r for r in load(R, "footprint") if r["label"] == "corral-64"]
    if fp and fp64:
        text = (f"corral's RSS with 2 workers is {med(r['vmrss_kib'] for r in fp) / 1024:.2f} MiB, "
                f"of which only {med(r['rssanon_kib'] for r in fp) / 1024:.2f} MiB is anonymous "
                f"memory; the rest is file-backed pages of the binary and its shared libraries "
                f"(libstdc++, libuv, spdlog, fmt, toml++ ...), shared with other processes that "
                f"map them. 64 workers add about "
                f"{(med(r['vmrss_kib'] for r in fp64) - med(r['vmrss_kib'] for r in fp)) / 1024:.2f} MiB.")
        h = med(r.get("helpers_rss_kib") or 0 for r in fp)
        if h:
            text += (f" Besides its workers, corral now runs a helper (its guardian, a forked "
                     f"copy of itself) with {h / 1024:.2f} MiB of RSS, most of it pages it "
                     f"shares with corral, so adding the two RSS figures "
                     f"({(med(r['vmrss_kib'] for r in fp) + h) / 1024:.2f} MiB) overstates what "
                     f"they use together; their PSS (shared pages split among the processes "
                     f"mapping them) adds up to "
                     f"{fmt(med((r.get('pss_kib') or 0) + (r.get('helpers_pss_kib') or 0) for r in fp) / 1024, 2)} MiB "
                     f"(corral alone: {fmt(med(r.get('pss_kib') for r in fp) / 1024, 2)} MiB).")
        obs.append(text)
    rl = [r for r in load(R, "reload") if "error" not in r]
    if rl:
        def rmed(lab, key):
            return med(r.get(key) for r in rl if r["label"] == lab)
        cs, ps = rmed("corral", "reload_secs"), rmed("pm2", "reload_secs")
        if cs is not None and ps is not None:
            obs.append(f"A reload of 2 Node workers took a median {cs * 1e3:.0f} ms under corral "
                       f"(from `corral reload` to its reply; with `ready = \"notify\"` it waits for "
                       f"each new Node worker to listen before the old one drains) and "
                       f"{ps:.2f} s under `pm2 reload` (the PM2 client's own start-up included, "
                       f"about the time of `pm2 jlist` in section 6), so with the same 2 s pause PM2 was "
                       f"reloaded {fmt(rmed('pm2', 'reloads'))} times per run against "
                       f"{fmt(rmed('corral', 'reloads'))} for corral; \"failed per reload\" "
                       f"allows for that.")
        # Only meaningful when the Node workers counted as ready at exec
        # (ready = "started", this benchmark before it used notify).
        gaps, early = reload_gaps(os.path.join(R, "reload-corral.log"))
        notify = "ready = \"notify\"" in open(os.path.join(R, "reload.cmds")).read() \
            if os.path.exists(os.path.join(R, "reload.cmds")) else False
        if gaps and not notify:
            tos = sum(r["timeout"] for r in rl if r["label"] == "corral")
            hard = sum(r["connect"] + r["read"] + r["write"] + r["non_2xx"]
                       for r in rl if r["label"] == "corral")
            cpp = sum(r["failed"] for r in rl if r["label"] == "corral-cpp")
            gaps.sort()
            obs.append(f"Because a Node worker without readiness notification counts as ready as "
                       f"soon as it is started (`ready = \"started\"`, the default), `corral "
                       f"reload` replaced both Node workers within milliseconds, and the old ones "
                       f"stopped accepting before the new ones listened: from each reload's "
                       f"`reload complete` line to the first new worker's `listening` line in "
                       f"corral's log, median {statistics.median(gaps) * 1e3:.0f} ms, longest "
                       f"{gaps[-1]:.2f} s, over 2 s {sum(g > 2 for g in gaps)} time(s) in "
                       f"{len(gaps)} reloads. Connections wait in the shared socket's queue "
                       f"meanwhile ({hard} connect, read, write or non-2xx errors in corral + "
                       f"Node's runs), but a wait over 2 s is one of wrk's *timeouts*: corral + "
                       f"Node's runs counted {tos}. "
                       + (f"{early} worker(s) still starting were replaced by the next reload "
                          f"before Node had installed the app's SIGTERM handler, and died of the "
                          f"signal (no connection was lost: they had not listened yet). "
                          if early else "")
                       + "With `ready = \"notify\"` (the C++ server) a reload waits for each "
                       f"replacement to be ready; its runs counted {cpp} failed requests.")
        busy = []
        for b in ("reload", "admin"):
            f = os.path.join(R, f"load-{b}.json")
            if os.path.exists(f):
                with open(f) as fh:
                    l = json.load(fh)
                busy.append(max(l["load_start"], l["load_end"]))
        if busy and max(busy) > 3:
            obs.append(f"Other work shared the machine during the reload and status runs (1-min "
                       f"load average up to {max(busy):.1f} on {meta.get('nproc', '?')} cores): "
                       f"absolute times and request counts move with it; the failure counts "
                       f"and the paired ratios are what to compare.")
    loads = []
    for b in ("datapath", "node"):
        f = os.path.join(R, f"load-{b}.json")
        if os.path.exists(f):
            with open(f) as fh:
                loads.append(json.load(fh)["load_end"])
    if loads and max(loads) > 6:
        obs.append(f"The machine was busy with other work during the throughput runs (1-min load "
                   f"average up to {max(loads):.1f} on 2 cores, wrk and the servers included): "
                   f"single runs spread widely (see min–max), so only the paired medians mean "
                   f"much, and ratios within a few percent of a target are not a clear pass or "
                   f"miss.")
    for o in obs:
        w(f"- {o}")
    w("")
    w("## Targets\n")
    w("| what | measured | target | |\n|---|---:|---:|---|")
    for row in summary:
        w("| " + " | ".join(row) + " |")
    w("")
    if os.path.exists(os.path.join(R, "notes.md")):
        with open(os.path.join(R, "notes.md")) as fh:
            w(fh.read())
    w("## Reproduce\n")
    w("```sh\nbench/run.sh            # everything (installs wrk, hyperfine, time, gunicorn, "
      "supervisor and PM2; builds corral)\nROUNDS=7 bench/run.sh   # more runs per case\n"
      "bench/run.sh crash      # one benchmark: datapath | node | crash | footprint | heartbeat | "
      "reload | admin | autoscale\nROUNDS_RELOAD=1 DURATION_RELOAD=20s bench/run.sh reload   # a quick reload run\n```\n")
    w("Raw results (one JSON object per run) land in `bench/results/` (not committed).\n")
    text = "\n".join(out)
    # Committed text must not name this machine's paths.
    text = text.replace(os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")), ".")
    with open(a.out, "w") as fh:
        fh.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("free-port"); s.add_argument("n", type=int, nargs="?", default=1)
    s = sub.add_parser("wait-http"); s.add_argument("url"); s.add_argument("secs", type=float)
    s = sub.add_parser("share-socket")
    s.add_argument("--port", type=int, required=True); s.add_argument("--count", type=int, default=2)
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("parse-wrk")
    for k in ("--label", "--mode"):
        s.add_argument(k, required=True)
    s.add_argument("--round", type=int, required=True)
    s = sub.add_parser("split")
    for k in ("--label", "--mode"):
        s.add_argument(k, required=True)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--secs", type=float, required=True)
    s.add_argument("--parent", type=int)
    s.add_argument("--skip-same-exe", action="store_true",
                   help="leave out children running the parent's own binary (corral's helper)")
    s.add_argument("pids", nargs="*")
    s = sub.add_parser("crash")
    s.add_argument("--kills", type=int, default=5)
    s.add_argument("--interval", type=float, default=6.0)
    s.add_argument("--timeout", type=float, default=0.05)
    s.add_argument("targets", nargs="+")
    s = sub.add_parser("reload-record")
    for k in ("--label", "--mode", "--wrk", "--reloads"):
        s.add_argument(k, required=True)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--log"); s.add_argument("--log-skip", type=int, default=0)
    s.add_argument("--done-pattern", default="")
    s = sub.add_parser("admin-record")
    s.add_argument("--round", type=int, required=True); s.add_argument("file")
    s = sub.add_parser("idle")
    s.add_argument("--secs", type=float, default=10)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("procs", nargs="+")
    s = sub.add_parser("parse-time")
    s.add_argument("--label", required=True); s.add_argument("--round", type=int, required=True)
    s.add_argument("file")
    s = sub.add_parser("autoscale-step")
    s.add_argument("--port", type=int, required=True); s.add_argument("--log", required=True)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--clients", type=int, default=2); s.add_argument("--ms", type=int, default=200)
    s.add_argument("--limit", type=float, default=20, help="seconds of load at most")
    s = sub.add_parser("autoscale-ramp")
    s.add_argument("--port", type=int, required=True); s.add_argument("--log", required=True)
    s.add_argument("--name", required=True); s.add_argument("--corral", required=True)
    s.add_argument("--csv", required=True); s.add_argument("--ms", type=int, default=200)
    s.add_argument("--every", type=float, default=0.25)
    s.add_argument("--phases", required=True, help="SECS:CLIENTS:PAUSE_MS,...")
    s = sub.add_parser("stamp-meta"); s.add_argument("--results", required=True)
    s = sub.add_parser("report"); s.add_argument("--results", required=True); s.add_argument("--out", required=True)
    a = p.parse_args()
    fn = globals()["cmd_" + a.cmd.replace("-", "_")]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
