#!/usr/bin/env bash
# Benchmark 2, corral against Node's cluster module and PM2 cluster mode.
# The same Node app (examples/node/app.js) with 2 workers under each: Node
# cluster (examples/node/cluster.js, round-robin primary), PM2 (`pm2 start
# examples/node/server.js -i 2`, its own PM2_HOME in a temp dir), corral
# (`node examples/node/server.js {fd:http}`; also with corral's
# `mode = "reuseport"`, one SO_REUSEPORT socket per worker, for reference), plus
# one plain node process for reference. All run at once on their own
# ports; each round runs wrk -t2 -c64 -d10s against each, keep-alive and
# `Connection: close`, in rotating order; bench.py split records how the
# connections and CPU time spread over the workers (for Node cluster and PM2
# the primary, which accepts, is not counted as a worker).
# Output: $RESULTS/node.jsonl and $RESULTS/node-split.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/node.jsonl; : >"$out"

declare -A port
read -r port[plain] port[cluster] port[pm2] port[corral] port[corral-reuseport] <<<"$(free_ports 5)"
cat >"$RESULTS/node-reuseport.toml" <<TOML
[[socket]]
name = "http"
listen = "127.0.0.1:${port[corral-reuseport]}"
mode = "reuseport"
TOML
pm2_home=$(mktemp -d -t corral-bench-pm2.XXXXXX)

cat >"$RESULTS/node.cmds" <<CMDS
PORT=${port[plain]} node examples/node/server.js &
node examples/node/cluster.js ${port[cluster]} 2 &
PORT=${port[pm2]} PM2_HOME=\$(mktemp -d) $PM2 start examples/node/server.js -i 2 --name hello
$CORRAL run --name bench-N --workers 2 --listen http=127.0.0.1:${port[corral]} -- node examples/node/server.js '{fd:http}'
# node-reuseport.toml: one [[socket]] with listen = "127.0.0.1:${port[corral-reuseport]}", mode = "reuseport"
$CORRAL run --name bench-N -c node-reuseport.toml --workers 2 -- node examples/node/server.js '{fd:http}'
wrk -t2 -c64 -d$DURATION --latency [-H 'Connection: close'] http://127.0.0.1:PORT/
PM2_HOME=... $PM2 kill   # at the end
CMDS

declare -A workers
PORT=${port[plain]} spawn "$RESULTS/node-plain.log" node examples/node/server.js
workers[plain]=$SPAWNED
spawn "$RESULTS/node-cluster.log" node examples/node/cluster.js "${port[cluster]}" 2
workers[cluster]="--parent $SPAWNED"
PORT=${port[pm2]} pm2_start "$pm2_home" examples/node/server.js -i 2 --name hello
workers[pm2]="--parent $(cat "$pm2_home/pm2.pid")"
spawn "$RESULTS/node-corral.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 2 --listen "http=127.0.0.1:${port[corral]}" \
  -- node examples/node/server.js '{fd:http}'
workers[corral]="--skip-same-exe --parent $SPAWNED"
spawn "$RESULTS/node-corral-reuseport.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" -c "$RESULTS/node-reuseport.toml" --workers 2 \
  -- node examples/node/server.js '{fd:http}'
workers[corral-reuseport]="--skip-same-exe --parent $SPAWNED"
split=$RESULTS/node-split.jsonl; : >"$split"
systems=(plain cluster pm2 corral corral-reuseport)
for s in "${systems[@]}"; do wait_http "${port[$s]}"; done
sleep 2
for s in "${systems[@]}"; do
  log "node: warm-up $s"
  DURATION=2s wrk_run "$s" keep-alive "${port[$s]}" 0 >/dev/null
done

for round in $(seq "$ROUNDS"); do
  k=$(((round - 1) % ${#systems[@]}))
  order=("${systems[@]:k}" "${systems[@]:0:k}")
  for mode in keep-alive close; do
    for s in "${order[@]}"; do
      log "node: round $round/$ROUNDS $s $mode"
      # shellcheck disable=SC2086  # workers: several words on purpose
      wrk_split "$s" "$mode" "${port[$s]}" "$round" "$split" ${workers[$s]} >>"$out"
    done
  done
done
