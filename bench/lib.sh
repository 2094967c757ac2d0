# Shared helpers for the benchmark scripts (sourced, not run).
# Every process a script starts goes through `spawn`, which records its pid;
# the EXIT trap stops each recorded pid (TERM, then KILL after 5 s) together
# with the descendants it had, always by pid. All traffic is on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
cd "$REPO"   # every path below is relative to the repository root

BUILD_DIR=${BUILD_DIR:-build-bench}
CORRAL=./$BUILD_DIR/cli/corral
EXAMPLE=./$BUILD_DIR/examples/http_server/example_server
PM2=./bench/node_modules/.bin/pm2
RESULTS=${RESULTS:-bench/results}
ROUNDS=${ROUNDS:-5}          # measured runs per case (medians are over these)
DURATION=${DURATION:-10s}    # wrk -d
PY="python3 bench/tools/bench.py"
mkdir -p "$RESULTS"

PIDS=()
PM2_HOMES=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# spawn LOGFILE CMD...: runs CMD in the background; sets SPAWNED to its pid.
spawn() {
  local out=$1; shift
  "$@" >"$out" 2>&1 </dev/null &
  SPAWNED=$!
  PIDS+=("$SPAWNED")
}

descendants() {  # pid: every descendant's pid, children first
  local p=$1 c
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

stop_pid() {  # pid: TERM, wait up to 5 s, then KILL it and what it had started
  local p=$1 kids i
  kill -0 "$p" 2>/dev/null || return 0
  kids=$(descendants "$p")
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for c in $kids; do kill -KILL "$c" 2>/dev/null || true; done
}

pm2_start() {  # home, args...: a PM2 daemon of our own in a temp PM2_HOME
  local home=$1; shift
  PM2_HOMES+=("$home")
  PM2_HOME=$home $PM2 start "$@" >/dev/null
}

pm2_stop() {  # home
  local home=$1 god
  [[ -d $home ]] || return 0
  god=$(cat "$home/pm2.pid" 2>/dev/null || true)
  PM2_HOME=$home timeout 20 $PM2 kill >/dev/null 2>&1 || true
  [[ -n $god ]] && stop_pid "$god"
  rm -rf "$home"
}

cleanup() {
  local p h
  for h in "${PM2_HOMES[@]}"; do pm2_stop "$h"; done
  PM2_HOMES=()
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

free_ports() { $PY free-port "$1"; }  # N distinct free ports, space-separated
wait_http() { $PY wait-http "http://127.0.0.1:$1/" "${2:-20}"; }

# wrk_run LABEL MODE PORT ROUND: one bounded wrk run, appended as a JSON line.
wrk_run() {
  local label=$1 mode=$2 port=$3 round=$4 hdr=()
  [[ $mode == close ]] && hdr=(-H 'Connection: close')
  { timeout 60 wrk -t2 -c64 -d"$DURATION" --latency "${hdr[@]}" "http://127.0.0.1:$port/" || true; } |
    $PY parse-wrk --label "$label" --mode "$mode" --round "$round"
}

# wrk_split LABEL MODE PORT ROUND SPLITFILE SPLIT-ARGS...: wrk_run, and meanwhile
# `bench.py split` (how the connections and CPU spread over the workers; its
# arguments: worker pids, or --parent PID for a supervisor's children).
wrk_split() {
  local label=$1 mode=$2 port=$3 round=$4 split=$5 sp; shift 5
  $PY split --label "$label" --mode "$mode" --round "$round" --secs "${DURATION%s}" "$@" >>"$split" &
  sp=$!
  wrk_run "$label" "$mode" "$port" "$round"
  wait "$sp" || true
}

# reliability_build: for bench/chaos.sh and bench/soak.sh, which run
# tests/chaos's binary longer. Builds it, corral and the example server in
# Release into $BUILD_DIR (unless SKIP_SETUP); sets `bin` to the test binary
# and `build` to the commit it was built from.
reliability_build() {
  if [[ -z ${SKIP_SETUP:-} ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORRAL_BUILD_TESTS=ON >/dev/null
    cmake --build "$BUILD_DIR" --target corral example_server chaos_tests
  fi
  bin=$BUILD_DIR/tests/chaos/chaos_tests
  [[ $bin == /* ]] || bin=./$bin
  build="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' || echo ' + uncommitted changes')"
}
