#!/usr/bin/env bash
# Benchmark 4, supervisor footprint. Each round starts, at the same time:
# corral with 2 and with 64 C++ example-server workers, Node's cluster master
# with 2 workers, gunicorn's arbiter with 2 workers (each of these under
# /usr/bin/time -v), and PM2's God Daemon with `-i 2` (it detaches, so no
# `time`). Once every one answers, plus 3 s, bench.py reads each supervisor's
# VmRSS/VmHWM from /proc/PID/status and its utime+stime (/proc/PID/stat) and
# per-thread schedstat run time before and after 10 idle seconds. Then all
# stop (TERM by pid; `pm2 kill`) and `time -v`'s max RSS is collected.
# Output: $RESULTS/footprint.jsonl and $RESULTS/footprint-time.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/footprint.jsonl; : >"$out"
tout=$RESULTS/footprint-time.jsonl; : >"$tout"
TIME=(/usr/bin/time -v -o)

cat >"$RESULTS/footprint.cmds" <<CMDS
/usr/bin/time -v $CORRAL run --name bench-N --workers 2 --listen http=127.0.0.1:P1 -- $EXAMPLE --fd '{fd:http}' --quiet
/usr/bin/time -v $CORRAL run --name bench-N --workers 64 --listen http=127.0.0.1:P2 -- $EXAMPLE --fd '{fd:http}' --quiet
/usr/bin/time -v node examples/node/cluster.js P3 2
/usr/bin/time -v gunicorn -w 2 -b 127.0.0.1:P4 --chdir examples/gunicorn app:app
PORT=P5 PM2_HOME=\$(mktemp -d) $PM2 start examples/node/server.js -i 2 --name hello
python3 bench/tools/bench.py idle --secs 10 --round N corral-2=PID ... pm2=GOD_DAEMON_PID
CMDS

child_of() {  # the process /usr/bin/time started
  local i
  for i in $(seq 100); do
    c=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1; exit}' || true)
    [[ -n $c ]] && { echo "$c"; return; }
    sleep 0.05
  done
  return 1
}

wait_children() {  # pid n: until pid has n children
  local i
  for i in $(seq 200); do
    [[ $(cat /proc/"$1"/task/*/children 2>/dev/null | wc -w) -ge $2 ]] && return 0
    sleep 0.05
  done
  return 1
}

for round in $(seq "$ROUNDS"); do
  log "footprint: round $round/$ROUNDS"
  read -r p1 p2 p3 p4 p5 <<<"$(free_ports 5)"
  tdir=$(mktemp -d -t corral-bench-time.XXXXXX)
  pm2_home=$(mktemp -d -t corral-bench-pm2.XXXXXX)
  declare -A tpid=() spid=()
  spawn /dev/null "${TIME[@]}" "$tdir/corral-2" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 2 \
    --listen "http=127.0.0.1:$p1" -- "$EXAMPLE" --fd '{fd:http}' --quiet
  tpid[corral-2]=$SPAWNED
  spawn /dev/null "${TIME[@]}" "$tdir/corral-64" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 64 \
    --listen "http=127.0.0.1:$p2" -- "$EXAMPLE" --fd '{fd:http}' --quiet
  tpid[corral-64]=$SPAWNED
  spawn /dev/null "${TIME[@]}" "$tdir/cluster" node examples/node/cluster.js "$p3" 2
  tpid[cluster]=$SPAWNED
  spawn /dev/null "${TIME[@]}" "$tdir/gunicorn" gunicorn -w 2 -b "127.0.0.1:$p4" \
    --chdir examples/gunicorn app:app
  tpid[gunicorn]=$SPAWNED
  PORT=$p5 pm2_start "$pm2_home" examples/node/server.js -i 2 --name hello
  spid[pm2]=$(cat "$pm2_home/pm2.pid")
  for k in "${!tpid[@]}"; do spid[$k]=$(child_of "${tpid[$k]}"); done
  for p in "$p1" "$p2" "$p3" "$p4" "$p5"; do wait_http "$p" 30; done
  wait_children "${spid[corral-64]}" 64
  sleep 3
  procs=()
  for k in corral-2 corral-64 cluster gunicorn pm2; do procs+=("$k=${spid[$k]}"); done
  $PY idle --secs 10 --round "$round" "${procs[@]}" >>"$out"
  pm2_stop "$pm2_home"
  for k in corral-2 corral-64 cluster gunicorn; do
    stop_pid "${spid[$k]}"               # the supervisor; `time` then exits
    wait "${tpid[$k]}" 2>/dev/null || true
    $PY parse-time --label "$k" --round "$round" "$tdir/$k" >>"$tout"
  done
  rm -rf "$tdir"
done
