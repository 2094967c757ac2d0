#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of fuzz/ with
# clang (ASan+UBSan, in build-fuzz/, or $CORRAL_FUZZ_BUILD_DIR) and fuzzes
# each for SECONDS (default 60), two at a time, each over a copy of its
# committed corpus. Prints executions, coverage and corpus growth per
# target; exits non-zero if any target crashed or broke a property, naming
# the saved input (add it to fuzz/regressions/TARGET/ once fixed).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${CORRAL_FUZZ_BUILD_DIR:-build-fuzz}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }

# Only the fuzzers and what they link are built: the rest of the project
# (the supervisor, the test suite) is not needed in this configuration.
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCORRAL_FUZZ=ON -DCORRAL_BUILD_TESTS=OFF -DCORRAL_WERROR=ON \
  -DCORRAL_FUZZ_SECONDS="$seconds" >/dev/null || exit 1
cmake --build "$dir" -j "$(nproc)" --target fuzzers || exit 1

echo "== fuzzing each target for ${seconds}s, 2 at a time =="
ctest --test-dir "$dir" -L fuzz -j 2 --output-on-failure >"$dir/fuzz-ctest.log" 2>&1
rc=$?
cat "$dir"/fuzz/runs/*/summary 2>/dev/null
if [[ $rc -ne 0 ]]; then
  cat "$dir/fuzz-ctest.log"
  echo "fuzzing FAILED: see the inputs named above"
  exit 1
fi
echo "fuzzing: no crash, no property violated"
