#!/usr/bin/env bash
# Installs, from Debian's packages, whatever corral needs to build and test
# and is missing. Idempotent; never asks a question.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libboost-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  prometheus-cpp-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev
  # the test suite: the sanitizer runtime, real third-party servers, curl,
  # a terminal for corral top, Prometheus (promtool, and a server that scrapes)
  clang libclang-rt-14-dev gunicorn python3 curl procps util-linux systemd tmux prometheus
  # clang's libFuzzer (in libclang-rt-14-dev) for scripts/fuzz.sh; memcheck
  valgrind
)
# Node.js serves one of the example servers; keep a newer one if present.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk hyperfine time gnuplot-nox libbenchmark-dev)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
