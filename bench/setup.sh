#!/usr/bin/env bash
# Installs what the benchmarks need and builds corral in Release into its own
# build dir ($BUILD_DIR, default build-bench/): wrk, hyperfine, time, gunicorn,
# supervisor (supervisord, for bench/admin.sh), gnuplot-nox (bench/autoscale.sh's plot),
# node + npm from Debian's packages (sudo if not root); PM2 from
# bench/package-lock.json into bench/node_modules (npm ci).
source "$(dirname "$0")/lib.sh"
trap - EXIT

need=()
for p in wrk hyperfine time gunicorn supervisor python3 curl procps bc libbenchmark-dev gnuplot-nox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
fi
# corral's own build dependencies
./scripts/install-deps.sh

(cd bench && npm ci --no-audit --no-fund --loglevel=error)

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORRAL_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" --target corral example_server $(cmake --build "$BUILD_DIR" --target help | grep -q heartbeat_bench && echo heartbeat_bench)
# What the benchmarks ran: the commit built, for the report.
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' || echo ' + uncommitted changes'), built $(date -u '+%Y-%m-%d %H:%M UTC')" \
  >"$BUILD_DIR/bench-build.txt"
