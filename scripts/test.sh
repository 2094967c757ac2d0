#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite twice:
# under AddressSanitizer+UndefinedBehaviorSanitizer, then as a normal build
# with warnings as errors. In between: each libFuzzer target for a short
# while (scripts/fuzz.sh), and the worker library's and shared memory's
# tests under ThreadSanitizer. Ends with ctest's summary of the normal build.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh || exit 1
jobs=$(nproc)

build_and_test() {  # dir, extra cmake flags...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCORRAL_WERROR=ON "$@" >/dev/null || return 1
  cmake --build "$dir" -j "$jobs" || return 1
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300
}

echo "== test suite under ASan+UBSan =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test build-asan -DCMAKE_BUILD_TYPE=Debug -DCORRAL_SANITIZE=ON
asan=$?
echo "== fuzzing: each target ${CORRAL_CI_FUZZ_SECONDS:-30}s =="
./scripts/fuzz.sh "${CORRAL_CI_FUZZ_SECONDS:-30}"
fuzz=$?
echo "== worker library and shared memory under ThreadSanitizer =="
# Only what runs threads: the worker library (and the ipc code it shares).
cmake -S . -B build-tsan -G Ninja -DCORRAL_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCORRAL_SANITIZE_THREAD=ON >/dev/null &&
  cmake --build build-tsan -j "$jobs" --target worker_tests ipc_tests &&
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" -R '^(worker_tests|ipc_tests)\.'
tsan=$?
echo "== test suite =="
build_and_test build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
normal=$?
[[ $asan -eq 0 && $fuzz -eq 0 && $tsan -eq 0 && $normal -eq 0 ]]
