#!/usr/bin/env bash
# Benchmark 3, crash recovery. Five supervisors with ONE worker each run at
# once: corral + the C++ example server, corral + examples/node/server.js,
# Node cluster (examples/node/cluster.js),
# PM2 cluster mode (-i 1), gunicorn -w 1 (examples/gunicorn). Each round, bench.py kills each
# one's worker with SIGKILL in turn and times (perf_counter, from the kill)
# until the supervisor reaped it, until a new child appeared, and until a
# fresh connection got a 200; for corral also the log lines' timestamps.
# The same worker is killed again only after CRASH_INTERVAL seconds (default 6;
# longer than corral's default min_uptime of 5 s, so restarts are immediate).
# Output: $RESULTS/crash.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/crash.jsonl; : >"$out"
kills=${CRASH_KILLS:-$((ROUNDS + 2))}
interval=${CRASH_INTERVAL:-6}

read -r p_cc p_cn p_cl p_pm p_gu <<<"$(free_ports 5)"
pm2_home=$(mktemp -d -t corral-bench-pm2.XXXXXX)
cat >"$RESULTS/crash.cmds" <<CMDS
$CORRAL run --name bench-N --workers 1 --listen http=127.0.0.1:$p_cc -- $EXAMPLE --fd '{fd:http}' --quiet 2>corral-cpp.log &
$CORRAL run --name bench-N --workers 1 --listen http=127.0.0.1:$p_cn -- node examples/node/server.js '{fd:http}' 2>corral-node.log &
node examples/node/cluster.js $p_cl 1 &
PORT=$p_pm PM2_HOME=\$(mktemp -d) $PM2 start examples/node/server.js -i 1 --name hello
gunicorn -w 1 -b 127.0.0.1:$p_gu --chdir examples/gunicorn app:app &
python3 bench/tools/bench.py crash --kills $kills --interval $interval \\
  corral-cpp:PID:$p_cc:corral-cpp.log corral-node:PID:$p_cn:corral-node.log \\
  cluster:PID:$p_cl pm2:GOD_DAEMON_PID:$p_pm gunicorn:PID:$p_gu
CMDS

spawn "$RESULTS/crash-corral-cpp.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 1 --listen "http=127.0.0.1:$p_cc" \
  -- "$EXAMPLE" --fd '{fd:http}' --quiet
pid_cc=$SPAWNED
spawn "$RESULTS/crash-corral-node.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 1 --listen "http=127.0.0.1:$p_cn" \
  -- node examples/node/server.js '{fd:http}'
pid_cn=$SPAWNED
spawn "$RESULTS/crash-cluster.log" node examples/node/cluster.js "$p_cl" 1
pid_cl=$SPAWNED
PORT=$p_pm pm2_start "$pm2_home" examples/node/server.js -i 1 --name hello
pid_pm=$(cat "$pm2_home/pm2.pid")
spawn "$RESULTS/crash-gunicorn.log" gunicorn -w 1 -b "127.0.0.1:$p_gu" --chdir examples/gunicorn app:app
pid_gu=$SPAWNED
for p in "$p_cc" "$p_cn" "$p_cl" "$p_pm" "$p_gu"; do wait_http "$p"; done

log "crash: $kills kills per supervisor, ${interval}s apart"
timeout $((kills * (interval + 12) + 60)) $PY crash --kills "$kills" --interval "$interval" \
  "corral-cpp:$pid_cc:$p_cc:$RESULTS/crash-corral-cpp.log" \
  "corral-node:$pid_cn:$p_cn:$RESULTS/crash-corral-node.log" \
  "cluster:$pid_cl:$p_cl" "pm2:$pid_pm:$p_pm" "gunicorn:$pid_gu:$p_gu" | tee -a "$out" >&2
