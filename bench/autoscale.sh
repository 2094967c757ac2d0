#!/usr/bin/env bash
# Benchmark 7, autoscaling (issue: autoscaling on CPU and memory rules).
#  1. corral's own CPU for sampling: each round starts, at the same time,
#     corral with 8, 64 and 256 workers that cost nothing (`sleep 3600`),
#     each once with `[autoscale] interval = "1s"` (min = max = N, so the
#     count stays put, and a rule that never fires) and once without
#     [autoscale]; once every worker is ready, plus 3 s, bench.py reads each
#     corral's utime+stime (/proc/PID/stat) and per-thread schedstat run
#     time before and after AUTOSCALE_SECS (default 30) idle seconds. The
#     difference between the two corrals of the same size is the sampling.
#  2. A load step: corral with the C++ example server (ready = "notify"),
#     min 1, max 2, interval 500ms, rule cpu above 60 for 2s add 1; 2 clients
#     start looping GET /burn?ms=200 (a new connection per request); times
#     from the load's start to corral's log lines: the decision, the new
#     worker started, and ready. A fresh corral each round.
#  3. A load ramp (one run): 0, then 1 client burning half the time, 1 client
#     all the time, 2 clients, 0 again, with `corral status --json` sampled
#     every 250 ms into a CSV; gnuplot draws docs/autoscale-ramp.png.
# Output: $RESULTS/autoscale-cpu.jsonl, autoscale-step.jsonl,
# autoscale-ramp.csv, autoscale-ramp.jsonl.
# AUTOSCALE_PARTS="cpu step ramp" (the default) chooses the parts to run; the
# others' results stay as they are.
source "$(dirname "$0")/lib.sh"
export XDG_RUNTIME_DIR=$(mktemp -d -t corral-bench-xdg.XXXXXX)  # the admin sockets
SECS=${AUTOSCALE_SECS:-30}
SIZES=${AUTOSCALE_SIZES:-8 64 256}
STEP_LIMIT=${AUTOSCALE_STEP_LIMIT:-20}
# The ramp: SECS:CLIENTS:PAUSE_MS per phase (each client loops /burn?ms=200).
RAMP=${AUTOSCALE_RAMP:-10:0:0,25:1:200,25:1:0,25:2:0,35:0:0}
PLOT=${AUTOSCALE_PLOT:-docs/autoscale-ramp.png}
PARTS=" ${AUTOSCALE_PARTS:-cpu step ramp} "
want() { [[ $PARTS == *" $1 "* ]]; }
tmp=$(mktemp -d -t corral-bench-autoscale.XXXXXX)
trap 'cleanup; rm -rf "$XDG_RUNTIME_DIR" "$tmp"' EXIT

status_field() {  # name field: one field of `corral status --json`, or 0
  "$CORRAL" status --name "$1" --json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])" 2>/dev/null || echo 0
}

wait_ready() {  # name n secs: until n workers are ready
  local i
  for i in $(seq $((${3:-60} * 10))); do
    [[ $(status_field "$1" ready) == "$2" ]] && return 0
    sleep 0.1
  done
  log "autoscale: $1 has not $2 ready workers"; return 1
}

# ------------------------------------------------------------ 1. sampling CPU
idle_toml() {  # n autoscale(0|1)
  cat <<TOML
[worker]
command = ["sleep", "3600"]
count = $1
TOML
  ((${2})) && cat <<TOML
[autoscale]
min = $1
max = $1
interval = "1s"
[[autoscale.rule]]   # never fires: sleep uses no CPU
metric = "cpu"
above = 1000
for = "1h"
TOML
  return 0
}
for n in $SIZES; do
  idle_toml "$n" 1 >"$RESULTS/autoscale-idle-$n.toml"
  idle_toml "$n" 0 >"$RESULTS/autoscale-plain-$n.toml"
done

cat >"$RESULTS/autoscale.cmds" <<CMDS
# 1. sampling cost (each N in $SIZES, both at once; the files are in bench/results/)
$CORRAL run --name bench-N -c autoscale-idle-N.toml    # [autoscale] interval = "1s", min = max = N
$CORRAL run --name bench-N -c autoscale-plain-N.toml   # the same without [autoscale]
python3 bench/tools/bench.py idle --secs $SECS --round R corral-as-N=PID corral-plain-N=PID ...
# 2. load step (a fresh corral each round; autoscale-step.toml)
$CORRAL run --name bench-N -c autoscale-step.toml
python3 bench/tools/bench.py autoscale-step --port P --log corral.log --round R --clients 2 --ms 200
# 3. ramp (autoscale-ramp.toml), then gnuplot
$CORRAL run --name bench-N -c autoscale-ramp.toml
python3 bench/tools/bench.py autoscale-ramp --port P --log corral.log --name bench-N --corral $CORRAL \\
  --csv autoscale-ramp.csv --phases $RAMP
CMDS

if want cpu; then
out=$RESULTS/autoscale-cpu.jsonl; : >"$out"
for round in $(seq "$ROUNDS"); do
  log "autoscale: sampling cost, round $round/$ROUNDS (sizes $SIZES, ${SECS}s)"
  procs=()
  names=()
  for n in $SIZES; do
    for kind in idle plain; do
      name="bench-$BASHPID-$RANDOM"
      spawn "$tmp/$kind-$n.log" "$CORRAL" run --name "$name" -c "$RESULTS/autoscale-$kind-$n.toml"
      label=corral-$([[ $kind == idle ]] && echo as || echo plain)-$n
      procs+=("$label=$SPAWNED")
      names+=("$name:$n")
    done
  done
  for nn in "${names[@]}"; do wait_ready "${nn%%:*}" "${nn##*:}" 120; done
  sleep 3
  $PY idle --secs "$SECS" --round "$round" "${procs[@]}" >>"$out"
  cleanup
done
fi

# ------------------------------------------------------------ 2. load step
step_toml() {  # port
  cat <<TOML
[worker]
command = ["$EXAMPLE", "--fd", "{fd:http}", "--quiet"]
count = 1
ready = "notify"
[[socket]]
name = "http"
listen = "127.0.0.1:$1"
[autoscale]
min = 1
max = 2
interval = "500ms"
[[autoscale.rule]]
metric = "cpu"
above = 60
for = "2s"
add = 1
TOML
}
step_toml P >"$RESULTS/autoscale-step.toml"
if want step; then
out=$RESULTS/autoscale-step.jsonl; : >"$out"
for round in $(seq "$ROUNDS"); do
  log "autoscale: load step, round $round/$ROUNDS"
  port=$(free_ports 1)
  step_toml "$port" >"$tmp/step.toml"
  name="bench-$BASHPID-$RANDOM"
  spawn "$RESULTS/autoscale-step-corral.log" "$CORRAL" run --name "$name" -c "$tmp/step.toml"
  wait_http "$port"
  wait_ready "$name" 1 20
  sleep 2   # idle samples first, as in a service that was quiet before the step
  timeout $((STEP_LIMIT + 30)) $PY autoscale-step --port "$port" --log "$RESULTS/autoscale-step-corral.log" \
    --round "$round" --clients 2 --ms 200 --limit "$STEP_LIMIT" | tee -a "$out" >&2
  cleanup
done
fi

# ------------------------------------------------------------ 3. ramp
ramp_toml() {  # port
  cat <<TOML
[worker]
command = ["$EXAMPLE", "--fd", "{fd:http}", "--quiet"]
count = 1
ready = "notify"
[[socket]]
name = "http"
listen = "127.0.0.1:$1"
[autoscale]
min = 1
max = 4              # above the machine's CPU count: capped by it
interval = "500ms"
[[autoscale.rule]]   # busy: two more
metric = "cpu"
above = 60
for = "2s"
add = 2
cooldown = "5s"
[[autoscale.rule]]   # quiet: one fewer
metric = "cpu"
below = 20
for = "8s"
remove = 1
cooldown = "10s"
TOML
}
ramp_toml P >"$RESULTS/autoscale-ramp.toml"
want ramp || exit 0
log "autoscale: ramp $RAMP"
port=$(free_ports 1)
ramp_toml "$port" >"$tmp/ramp.toml"
name="bench-$BASHPID-$RANDOM"
spawn "$RESULTS/autoscale-ramp-corral.log" "$CORRAL" run --name "$name" -c "$tmp/ramp.toml"
wait_http "$port"
wait_ready "$name" 1 20
ramp_secs=$(python3 -c "print(int(sum(float(p.split(':')[0]) for p in '$RAMP'.split(','))))")
timeout $((ramp_secs + 60)) $PY autoscale-ramp --port "$port" --log "$RESULTS/autoscale-ramp-corral.log" \
  --name "$name" --corral "$CORRAL" --csv "$RESULTS/autoscale-ramp.csv" --phases "$RAMP" \
  >"$RESULTS/autoscale-ramp.jsonl"
cleanup
cat "$RESULTS/autoscale-ramp.jsonl" >&2

# Columns: 1 t_s, 2 clients, 3 load_cores, 4 desired, 5 running, 6 ready,
# 7 cpu_avg_sampled, 8 cpu_total_pct, 9 scale_events.
gnuplot <<GP
set terminal pngcairo size 900,540 font "sans,10" noenhanced
set output "$PLOT"
set datafile separator ","
set datafile missing ""
set key below
set xlabel "seconds"
set ylabel "% of one core"
set y2label "workers"
set yrange [0:220]
set y2range [0:4.4]
set ytics nomirror
set y2tics 1
set grid
set title "corral autoscaling over a load ramp (2 CPUs; min 1, max 4 capped to 2; cpu above 60% for 2s: +2; below 20% for 8s: -1)"
plot "$RESULTS/autoscale-ramp.csv" every ::1 using 1:(\$3*100) with steps lw 1 dt 2 lc rgb "#888888" title "load offered (clients x duty, % of a core)", \
     "" every ::1 using 1:8 with lines lw 1 lc rgb "#e6ab02" title "CPU of all workers (status, every 250 ms)", \
     "" every ::1 using 1:7 with lines lw 2 lc rgb "#d95f02" title "average CPU per worker (autoscaler's sample)", \
     "" every ::1 using 1:5 axes x1y2 with steps lw 2 lc rgb "#1b9e77" title "workers running", \
     "" every ::1 using 1:6 axes x1y2 with steps lw 1 dt 3 lc rgb "#7570b3" title "workers ready"
GP
log "wrote $PLOT"
