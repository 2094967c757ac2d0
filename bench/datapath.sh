#!/usr/bin/env bash
# Benchmark 1, data-path overhead. The C++ example server as 2 standalone
# processes that each bind one port with SO_REUSEPORT (`--port P`), versus
# the same binary as 2 workers under corral that accept on the one socket
# corral bound and passed as fd 3 (`--fd {fd:http}`, the default "shared"
# mode), and, for reference, under corral with `mode = "reuseport"` (one
# SO_REUSEPORT socket per worker, set in a config file). All run at once on
# their own ports; each round runs wrk -t2 -c64 -d10s against each, with
# keep-alive and with `Connection: close`, in rotating order.
# During each run, bench.py split records how the connections and the CPU
# time spread over the two workers. Output: $RESULTS/datapath.jsonl and
# $RESULTS/datapath-split.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/datapath.jsonl; : >"$out"

read -r p_std p_cor p_rp p_sh <<<"$(free_ports 4)"
cat >"$RESULTS/reuseport.toml" <<TOML
[[socket]]
name = "http"
listen = "127.0.0.1:$p_rp"
mode = "reuseport"
TOML
cat >"$RESULTS/datapath.cmds" <<CMDS
# standalone: two processes on one port (SO_REUSEPORT)
$EXAMPLE --port $p_std --host 127.0.0.1 --quiet &
$EXAMPLE --port $p_std --host 127.0.0.1 --quiet &
# standalone, shared: one socket bound by a launcher that is not on the data path, 2 processes accepting on it
$PY share-socket --port $p_sh --count 2 -- $EXAMPLE --fd {fd} --quiet
# corral: 2 workers on the socket corral binds
$CORRAL run --name bench-N --workers 2 --listen http=127.0.0.1:$p_cor -- $EXAMPLE --fd '{fd:http}' --quiet
# corral, reuseport mode: reuseport.toml has one [[socket]] with listen = "127.0.0.1:$p_rp", mode = "reuseport"
$CORRAL run --name bench-N -c reuseport.toml --workers 2 -- $EXAMPLE --fd '{fd:http}' --quiet
# load, per round and mode (keep-alive; close adds -H 'Connection: close')
wrk -t2 -c64 -d$DURATION --latency [-H 'Connection: close'] http://127.0.0.1:PORT/
CMDS

spawn "$RESULTS/datapath-std1.log" "$EXAMPLE" --port "$p_std" --host 127.0.0.1 --quiet
std1=$SPAWNED
spawn "$RESULTS/datapath-std2.log" "$EXAMPLE" --port "$p_std" --host 127.0.0.1 --quiet
std2=$SPAWNED
spawn "$RESULTS/datapath-shared.log" $PY share-socket --port "$p_sh" --count 2 -- "$EXAMPLE" --fd '{fd}' --quiet
shared=$SPAWNED
spawn "$RESULTS/datapath-corral.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" --workers 2 --listen "http=127.0.0.1:$p_cor" \
  -- "$EXAMPLE" --fd '{fd:http}' --quiet
cor=$SPAWNED
spawn "$RESULTS/datapath-corral-reuseport.log" "$CORRAL" run --name "bench-$BASHPID-$RANDOM" -c "$RESULTS/reuseport.toml" --workers 2 \
  -- "$EXAMPLE" --fd '{fd:http}' --quiet
cor_rp=$SPAWNED
declare -A port=([standalone]=$p_std [standalone-shared]=$p_sh [corral]=$p_cor [corral-reuseport]=$p_rp)
declare -A workers=([standalone]="$std1 $std2" [standalone-shared]="--parent $shared" [corral]="--skip-same-exe --parent $cor" [corral-reuseport]="--skip-same-exe --parent $cor_rp")
split=$RESULTS/datapath-split.jsonl; : >"$split"
for s in "${!port[@]}"; do wait_http "${port[$s]}"; done
sleep 1
for s in "${!port[@]}"; do
  log "datapath: warm-up $s"
  DURATION=2s wrk_run "$s" keep-alive "${port[$s]}" 0 >/dev/null
done

systems=(standalone standalone-shared corral corral-reuseport)
for round in $(seq "$ROUNDS"); do
  k=$(((round - 1) % ${#systems[@]}))
  order=("${systems[@]:k}" "${systems[@]:0:k}")
  for mode in keep-alive close; do
    for s in "${order[@]}"; do
      log "datapath: round $round/$ROUNDS $s $mode"
      # shellcheck disable=SC2086  # workers: several words on purpose
      wrk_split "$s" "$mode" "${port[$s]}" "$round" "$split" ${workers[$s]} >>"$out"
    done
  done
done
