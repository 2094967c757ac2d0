#!/usr/bin/env bash
# Heartbeats and hang detection (issue: shared-memory heartbeats):
#  1. what one heartbeat costs a worker: corral's (a store into shared
#     memory) vs gunicorn's (utime or fchmod of a temp file), Google Benchmark;
#  2. time from SIGSTOP of a worker to its replacement being ready, with
#     heartbeat_timeout = "1s" (the example server beats through the library);
#  3. corral's own CPU while supervising 256 heartbeating workers.
# Writes bench/results/heartbeat.md (bench/run.sh puts it into docs/benchmarks.md).
source "$(dirname "$0")/lib.sh"
REPS=${REPS:-5}
export XDG_RUNTIME_DIR=$(mktemp -d)
trap 'cleanup; rm -rf "$XDG_RUNTIME_DIR"' EXIT
out=$RESULTS/heartbeat.md

# 1. The cost of one heartbeat.
"./$BUILD_DIR/bench/micro/heartbeat_bench" --benchmark_repetitions="$REPS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$RESULTS/heartbeat-micro.json" 2>/dev/null

# 2. SIGSTOP to a ready replacement.
cat >"$RESULTS/hang.toml" <<TOML
[worker]
command = ["$EXAMPLE", "--fd", "{fd:http}", "--quiet"]
count = 1
ready = "notify"
heartbeat_timeout = "1s"
[restart]
min_uptime = "1s"
[[socket]]
listen = "127.0.0.1:0"
TOML
spawn "$RESULTS/hang-corral.log" "$CORRAL" run --name bench-hang -c "$RESULTS/hang.toml"
python3 - "$CORRAL" "$REPS" >"$RESULTS/hang.json" <<'PY'
import json, os, signal, subprocess, sys, time
corral, reps = sys.argv[1], int(sys.argv[2])
def worker():
    try:
        s = json.loads(subprocess.run([corral, "status", "--name", "bench-hang", "--json"],
                                      capture_output=True, text=True, timeout=5).stdout)
        w = s["workers"][0]
        return w["pid"], w["state"]
    except Exception:
        return None, None
def wait_ready(not_pid, deadline):
    while time.monotonic() < deadline:
        pid, state = worker()
        if pid and pid != not_pid and state == "ready":
            return pid
        time.sleep(0.005)
    return None
pid = wait_ready(None, time.monotonic() + 10)
results = []
for _ in range(reps):
    time.sleep(1.2)  # past min_uptime, so the replacement starts at once
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    new = wait_ready(pid, t0 + 10)
    t1 = time.monotonic()
    if new is None:
        break
    results.append(t1 - t0)
    pid = new
print(json.dumps({"seconds": results}))
PY
cleanup

# 3. corral's CPU with 256 heartbeating workers.
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sed -e 's/count = 1/count = 256/' "$RESULTS/hang.toml" >"$RESULTS/many.toml"
spawn "$RESULTS/many-corral.log" "$CORRAL" run --name bench-many -c "$RESULTS/many.toml"
cpid=$SPAWNED
for _ in $(seq 1 600); do
  ready=$("$CORRAL" status --name bench-many --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["ready"])' 2>/dev/null || echo 0)
  [[ $ready == 256 ]] && break
  sleep 0.1
done
c0=$(cpu_of "$cpid"); t0=$(date +%s.%N)
sleep 20
c1=$(cpu_of "$cpid"); t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$cpid/status")
cleanup
echo "{\"ready\": $ready, \"ticks\": $((c1 - c0)), \"hz\": $(getconf CLK_TCK), \"seconds\": $(echo "$t1 - $t0" | bc), \"rss_kib\": $rss}" >"$RESULTS/many.json"

python3 - "$RESULTS" "$REPS" >"$out" <<'PY'
import json, statistics, sys
res, reps = sys.argv[1], sys.argv[2]
micro = json.load(open(f"{res}/heartbeat-micro.json"))["benchmarks"]
med = {b["run_name"]: b["cpu_time"] for b in micro if b.get("aggregate_name") == "median"}
corral = med.get("BM_CorralHeartbeat/threads:1")
utime, fchmod = med.get("BM_GunicornUtime"), med.get("BM_GunicornFchmod")
hang = json.load(open(f"{res}/hang.json"))["seconds"]
many = json.load(open(f"{res}/many.json"))
cpu = many["ticks"] / many["hz"] / many["seconds"] * 100
print("## Heartbeats and hang detection\n")
print(f"`bench/heartbeat.sh`; medians over {reps} repetitions.\n")
print("| heartbeat | ns per call (CPU, median) | ratio to corral |\n|---|---:|---:|")
print(f"| corral (`corral_heartbeat()`: a coarse-clock read and a store into shared memory) | {corral:.1f} | 1 |")
print(f"| gunicorn ≥ 20 (`utime` of a temp file) | {utime:.0f} | {utime / corral:.0f}× |")
print(f"| gunicorn ≤ 19 (`fchmod` of a temp file) | {fchmod:.0f} | {fchmod / corral:.0f}× |")
print("\nTarget: ≥ 100× cheaper than gunicorn's.\n")
if hang:
    print(f"SIGSTOP of a ready worker to its replacement ready (`heartbeat_timeout = \"1s\"`, "
          f"example server beating through the library, polled with `corral status --json` every 5 ms): "
          f"median **{statistics.median(hang) * 1000:.0f} ms** over {len(hang)} runs "
          f"(min {min(hang) * 1000:.0f}, max {max(hang) * 1000:.0f}). Target: under 1.2 s.\n")
print(f"corral's own CPU while supervising {many['ready']} heartbeating workers (health tick every 100 ms, "
      f"reading each slot): **{cpu:.2f}% of one core** over {many['seconds']:.0f} s; corral's RSS {many['rss_kib'] / 1024:.1f} MiB.")
PY
log "wrote $out"
