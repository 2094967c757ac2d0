#!/usr/bin/env bash
# Runs corral's benchmarks and writes docs/benchmarks.md.
#   bench/run.sh                      all of them (about 65 minutes; reload alone ~28,
#                                     autoscale ~9)
#   bench/run.sh node crash           only these (datapath | node | crash | footprint |
#                                     heartbeat | reload | admin | autoscale | chaos | soak;
#                                     chaos and soak write bench/results/{chaos,soak}.md for
#                                     docs/reliability.md, not docs/benchmarks.md)
#   ROUNDS=7 bench/run.sh             more runs per case (default 5; medians over them)
#   ROUNDS_RELOAD=1 DURATION_RELOAD=20s bench/run.sh reload   a quick reload run
#                                     (defaults 3 rounds of 60 s per case)
#   SKIP_SETUP=1 bench/run.sh         skip installing and building
# Each benchmark is its own script beside this one; each stops, by pid, every
# process it started (EXIT trap). Raw results go to bench/results/.
source "$(dirname "$0")/lib.sh"

benches=("$@")
((${#benches[@]})) || benches=(datapath node crash footprint heartbeat reload admin autoscale chaos soak)
[[ -n ${SKIP_SETUP:-} ]] || bench/setup.sh

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
corral_rev=$(cat "$BUILD_DIR/bench-build.txt" 2>/dev/null || echo "unknown build")
# Results of benchmarks not rerun now stay in $RESULTS and in the report: keep
# which corral build and date they came from (meta.json is rewritten below).
$PY stamp-meta --results "$RESULTS"
python3 - "$RESULTS/meta.json" <<PYEOF
import json, sys
json.dump({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "nproc": "$(nproc)", "kernel": "$(uname -r)",
  "cpu": "$cpu", "memory": "$mem", "corral": "$corral_rev (Release)",
  "node": "$(node --version)", "pm2": "$(node -p "require('./bench/node_modules/pm2/package.json').version")",
  "gunicorn": "$(gunicorn --version 2>&1 | head -n1)", "python": "$(python3 --version 2>&1)",
  "wrk": "$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)", "rounds": $ROUNDS,
  "hyperfine": "$(hyperfine --version 2>&1 | head -n1)",
  "supervisord": "$(supervisord --version 2>&1 | head -n1)",
  "crash_interval": ${CRASH_INTERVAL:-6},
}, open(sys.argv[1], "w"), indent=1)
PYEOF

for b in "${benches[@]}"; do
  log "== $b =="
  start_load=$(cut -d' ' -f1 /proc/loadavg)
  "bench/$b.sh"
  # Other work on the machine during the run, for the report.
  rounds=$ROUNDS
  [[ $b == reload ]] && rounds=${ROUNDS_RELOAD:-3}
  [[ $b == admin ]] && rounds=${ROUNDS_ADMIN:-3}
  echo "{\"bench\": \"$b\", \"load_start\": $start_load, \"load_end\": $(cut -d' ' -f1 /proc/loadavg), \"date\": \"$(date -u '+%H:%M UTC')\"," \
    "\"day\": \"$(date -u '+%Y-%m-%d')\", \"corral\": \"$corral_rev (Release)\", \"rounds\": $rounds}" \
    >"$RESULTS/load-$b.json"
done
$PY report --results "$RESULTS" --out docs/benchmarks.md
# bench/heartbeat.sh writes its own section.
if [[ -f $RESULTS/heartbeat.md ]]; then
  printf '\n' >>docs/benchmarks.md
  cat "$RESULTS/heartbeat.md" >>docs/benchmarks.md
fi
log "wrote docs/benchmarks.md"
