#!/usr/bin/env bash
# Installs what is missing, builds corral, and runs the bundled example
# server under it on 127.0.0.1:8080 with one worker per CPU, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORRAL_BUILD_TESTS=OFF >/dev/null
cmake --build build --target corral example_server
echo "corral: serving http://127.0.0.1:8080/ (try: curl http://127.0.0.1:8080/info); Ctrl-C stops"
exec ./build/cli/corral run --listen http=127.0.0.1:8080 -- \
  ./build/examples/http_server/example_server --fd '{fd:http}'
