#!/usr/bin/env bash
# Installs libcorral-worker from a build tree into a temporary prefix and
# builds examples/c_worker against the *installed* files, the way a user
# would: with pkg-config (shared), with find_package (shared and static),
# and checks the headers compile as strict C99 and C++17. Then runs the
# example unsupervised and under supervise_once.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR SUPERVISE_ONCE
# env: CC, CXX, CMAKE, EXTRA_FLAGS (e.g. the sanitizer flags the library was
# built with, which its users must link with too)
set -euo pipefail
build=$1 src=$2 supervise=$3
CC=${CC:-cc} CXX=${CXX:-c++} CMAKE=${CMAKE:-cmake}
read -r -a extra <<<"${EXTRA_FLAGS:-}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
step() { echo "== $*"; }

step "install (component worker) into $prefix"
"$CMAKE" --install "$build" --prefix "$prefix" --component worker >/dev/null
for f in include/corral/worker.h include/corral/worker.hpp; do
  test -f "$prefix/$f" || { echo "missing $f"; exit 1; }
done
pc=$(find "$prefix" -name corral-worker.pc)
test -n "$pc" || { echo "missing corral-worker.pc"; exit 1; }
test -n "$(find "$prefix" -name corral-workerConfig.cmake)" || { echo "missing CMake package"; exit 1; }
test -n "$(find "$prefix" -name 'libcorral-worker.so.0')" || { echo "missing shared library"; exit 1; }
test -n "$(find "$prefix" -name 'libcorral-worker.a')" || { echo "missing static library"; exit 1; }

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
step "pkg-config: corral-worker $(pkg-config --modversion corral-worker)"
libdir=$(pkg-config --variable=libdir corral-worker)
# pkg-config output is a list of words by design.
# shellcheck disable=SC2046
"$CC" -std=c99 -Wall -Wextra -Werror "${extra[@]}" $(pkg-config --cflags corral-worker) \
  "$src/examples/c_worker/hello_worker.c" -o "$tmp/hello_worker" \
  $(pkg-config --libs corral-worker) -Wl,-rpath,"$libdir"

step "headers: strict C99 and C++17"
printf '#include <corral/worker.h>\nint main(void) { return corral_attach() < 0; }\n' >"$tmp/c99.c"
# shellcheck disable=SC2046
"$CC" -std=c99 -pedantic -Wall -Wextra -Werror $(pkg-config --cflags corral-worker) -fsyntax-only "$tmp/c99.c"
cat >"$tmp/cxx17.cc" <<'CXX'
#include <corral/worker.hpp>
int main() {
  corral::Worker worker;
  corral::RequestScope request;
  worker.heartbeat();
  return corral::listen_fd("http").value_or(0) < 0 || worker.drain_requested();
}
CXX
# shellcheck disable=SC2046
"$CXX" -std=c++17 -Wall -Wextra -Werror "${extra[@]}" $(pkg-config --cflags corral-worker) \
  "$tmp/cxx17.cc" -o "$tmp/cxx17" $(pkg-config --libs corral-worker) -Wl,-rpath,"$libdir"
env -u CORRAL_SHM -u LISTEN_FDS "$tmp/cxx17"

step "run unsupervised"
env -u CORRAL_SHM -u CORRAL_SLOT -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES \
  "$tmp/hello_worker" 2>"$tmp/unsupervised.log"
cat "$tmp/unsupervised.log"
grep -q "CORRAL_SHM is not set" "$tmp/unsupervised.log"

step "run under supervise_once (pkg-config build, shared)"
"$supervise" "$tmp/hello_worker"

step "find_package(corral-worker) build"
cflags="${extra[*]}"
"$CMAKE" -S "$src/examples/c_worker" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >/dev/null
"$CMAKE" --build "$tmp/cmake-build" >/dev/null
if ldd "$tmp/cmake-build/hello_worker_static" | grep -q corral-worker; then
  echo "hello_worker_static links the shared library"; exit 1
fi
step "run under supervise_once (find_package build, shared)"
"$supervise" "$tmp/cmake-build/hello_worker"
step "run under supervise_once (find_package build, static)"
"$supervise" "$tmp/cmake-build/hello_worker_static"
echo "install test: OK"
