#!/usr/bin/env bash
# Benchmark 5, failed requests during rolling reloads. The same drain-aware
# Node app (examples/node/server.js + app.js) with 2 workers under corral
# (`corral reload`), PM2 cluster mode (`pm2 reload hello`) and Node's cluster
# module (examples/node/cluster.js, SIGHUP = rolling restart), plus corral
# with the C++ example server (ready = "notify"). All four run from the start
# on their own ports; one at a time gets wrk -t2 -c64 for $DURATION_RELOAD
# (default 60s), keep-alive and `Connection: close`, while a loop reloads it
# every $RELOAD_INTERVAL s (default 2) counted from the end of the previous
# reload (the corral and PM2 CLIs return when their reload is complete; the
# cluster primary ignores a SIGHUP during a restart). Failed requests = wrk's
# socket errors (connect, read, write, timeout) + non-2xx answers, from
# bench/failures.lua. $ROUNDS_RELOAD rounds (default 3), rotating order.
# Output: $RESULTS/reload.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/reload.jsonl; : >"$out"
rounds=${ROUNDS_RELOAD:-3}
dur=${DURATION_RELOAD:-60s}
interval=${RELOAD_INTERVAL:-2}
case $dur in
  *m) secs=$((${dur%m} * 60)) ;;
  *s) secs=${dur%s} ;;
  *) echo "DURATION_RELOAD: use Ns or Nm (got $dur)" >&2; exit 2 ;;
esac

tmp=$(mktemp -d -t corral-bench-reload.XXXXXX)
trap 'cleanup; rm -rf "$tmp"' EXIT
pm2_home=$(mktemp -d -t corral-bench-pm2.XXXXXX)
declare -A port
read -r port[corral] port[pm2] port[cluster] port[corral-cpp] <<<"$(free_ports 4)"
n_node=bench-reload-$BASHPID
n_cpp=bench-reload-cpp-$BASHPID
cat >"$tmp/cpp.toml" <<TOML
name = "$n_cpp"

[worker]
command = ["$EXAMPLE", "--fd", "{fd:http}", "--quiet"]
count = 2
ready = "notify"

[[socket]]
listen = "127.0.0.1:${port[corral-cpp]}"
TOML

# The Node app tells corral when it listens (systemd-notify --ready), so a
# reload waits for each new worker: corral's recommended setting for it.
cat >"$tmp/node.toml" <<TOML
name = "$n_node"

[worker]
command = ["node", "examples/node/server.js", "{fd:http}"]
count = 2
ready = "notify"

[[socket]]
listen = "127.0.0.1:${port[corral]}"
TOML

cat >"$RESULTS/reload.cmds" <<CMDS
# node.toml: name = "bench-reload"; [worker] command = ["node", "examples/node/server.js", "{fd:http}"],
#            count = 2, ready = "notify"; [[socket]] listen = "127.0.0.1:${port[corral]}"
$CORRAL run -c node.toml &
PORT=${port[pm2]} WORKERS=2 PM2_HOME=\$(mktemp -d) $PM2 start examples/node/ecosystem.config.js
node examples/node/cluster.js ${port[cluster]} 2 &
# cpp.toml: name = "bench-reload-cpp"; [worker] command = ["$EXAMPLE", "--fd", "{fd:http}", "--quiet"],
#           count = 2, ready = "notify"; [[socket]] listen = "127.0.0.1:${port[corral-cpp]}"
$CORRAL run -c cpp.toml &
# each run: the load, and meanwhile a reload every ${interval} s after the previous one returned
wrk -t2 -c64 -d$dur -s bench/failures.lua [-H 'Connection: close'] http://127.0.0.1:PORT/
while sleep $interval; do $CORRAL reload --name bench-reload; done  # corral + Node
while sleep $interval; do PM2_HOME=... $PM2 reload hello; done  # PM2
while sleep $interval; do kill -HUP CLUSTER_PRIMARY_PID; done  # Node cluster
while sleep $interval; do $CORRAL reload --name bench-reload-cpp; done  # corral + C++
CMDS

declare -A reload
spawn "$RESULTS/reload-corral.log" "$CORRAL" run -c "$tmp/node.toml"
reload[corral]="$CORRAL reload --name $n_node"
PORT=${port[pm2]} WORKERS=2 pm2_start "$pm2_home" examples/node/ecosystem.config.js
reload[pm2]="env PM2_HOME=$pm2_home $PM2 reload hello"
spawn "$RESULTS/reload-cluster.log" node examples/node/cluster.js "${port[cluster]}" 2
cluster_pid=$SPAWNED
reload[cluster]="kill -HUP $cluster_pid"
spawn "$RESULTS/reload-corral-cpp.log" "$CORRAL" run -c "$tmp/cpp.toml"
reload[corral-cpp]="$CORRAL reload --name $n_cpp"
systems=(corral pm2 cluster corral-cpp)
for s in "${systems[@]}"; do wait_http "${port[$s]}"; : >"$RESULTS/reload-$s-cmd.log"; done
sleep 2

forget_pid() {  # pid: no longer ours to stop (it was waited for)
  local p keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# reload_loop STOPFILE OUT LOG CMD...: every $interval s after the previous
# call returned, runs CMD (bounded), until STOPFILE exists; one JSON line per
# call in OUT (start and end times, exit status); CMD's output goes to LOG.
reload_loop() {
  local stop=$1 rec=$2 cmdlog=$3 t0 t1 rc
  shift 3
  while sleep "$interval" && [[ ! -e $stop ]]; do
    t0=$EPOCHREALTIME rc=0
    timeout 120 "$@" >>"$cmdlog" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    printf '{"start": %s, "end": %s, "rc": %d}\n' "$t0" "$t1" "$rc" >>"$rec"
  done
}

# run_one LABEL MODE ROUND: one wrk run under reloads, appended to $out.
run_one() {
  local label=$1 mode=$2 round=$3 hdr=() loop i skip=0
  local stop=$tmp/stop rec=$tmp/reloads.jsonl
  [[ $mode == close ]] && hdr=(-H 'Connection: close')
  rm -f "$stop"; : >"$rec"
  [[ $label == cluster ]] && skip=$(stat -c %s "$RESULTS/reload-cluster.log")
  # shellcheck disable=SC2086  # reload[]: a command line on purpose
  spawn "$tmp/loop.log" reload_loop "$stop" "$rec" "$RESULTS/reload-$label-cmd.log" ${reload[$label]}
  loop=$SPAWNED
  { timeout $((secs + 30)) wrk -t2 -c64 -d"$dur" -s bench/failures.lua "${hdr[@]}" "http://127.0.0.1:${port[$label]}/" || true; } \
    >"$tmp/wrk.out" 2>&1
  touch "$stop"
  for i in $(seq 1300); do kill -0 "$loop" 2>/dev/null || break; sleep 0.1; done  # the last reload ends
  stop_pid "$loop"; forget_pid "$loop"
  local extra=()
  [[ $label == cluster ]] && extra=(--log "$RESULTS/reload-cluster.log" --log-skip "$skip"
                                     --done-pattern "rolling restart done")
  $PY reload-record --label "$label" --mode "$mode" --round "$round" --wrk "$tmp/wrk.out" \
    --reloads "$rec" "${extra[@]}" | tee -a "$out" >&2
  sleep 2  # the old workers finish draining
  wait_http "${port[$label]}"
}

for s in "${systems[@]}"; do
  log "reload: warm-up $s"
  timeout 30 wrk -t2 -c64 -d2s "http://127.0.0.1:${port[$s]}/" >/dev/null 2>&1 || true
done
for round in $(seq "$rounds"); do
  k=$(((round - 1) % ${#systems[@]}))
  order=("${systems[@]:k}" "${systems[@]:0:k}")
  for mode in keep-alive close; do
    for s in "${order[@]}"; do
      log "reload: round $round/$rounds $s $mode ($dur, a reload every ${interval}s)"
      run_one "$s" "$mode" "$round"
    done
  done
done
