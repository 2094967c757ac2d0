#!/usr/bin/env bash
# Installs corral and its systemd units (component "supervisor") into a
# temporary prefix, the way a user or a package would, and checks them:
#   - the files land in lib/systemd/system and lib/systemd/user, their
#     Exec lines name the installed binary, no @VARIABLE@ is left;
#   - `systemd-analyze verify` (offline; no running systemd needed) finds
#     nothing to say about them: the system units, the user units, and the
#     instances corral@web.* with the socket drop-in docs/systemd.md shows;
#   - the installed binary accepts the ExecStart and ExecReload arguments
#     (exit codes of a missing configuration and of an absent service, not
#     of a usage error).
# Exit 77 (skipped) without systemd-analyze.
#
# usage: verify_units_test.sh BUILD_DIR      env: CMAKE
set -euo pipefail
build=$1
CMAKE=${CMAKE:-cmake}

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed: skipped"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }

step "install (component supervisor) into $prefix"
"$CMAKE" --install "$build" --prefix "$prefix" --component supervisor >/dev/null
system=$prefix/lib/systemd/system
user=$prefix/lib/systemd/user
for f in "$prefix/bin/corral" "$system/corral@.service" "$system/corral@.socket" \
  "$user/corral@.service" "$user/corral@.socket" "$prefix/share/doc/corral/systemd.md"; do
  test -f "$f" || fail "missing $f"
done

step "installed paths"
for unit in "$system/corral@.service" "$user/corral@.service"; do
  if grep -n '@[A-Z_]*@' "$unit"; then fail "unsubstituted variable in $unit"; fi
  grep -q "^ExecStart=$prefix/bin/corral run -c .* --name %i$" "$unit" ||
    fail "ExecStart of $unit does not run $prefix/bin/corral: $(grep ^ExecStart= "$unit")"
  grep -q "^ExecReload=$prefix/bin/corral reload --name %i " "$unit" ||
    fail "ExecReload of $unit: $(grep ^ExecReload= "$unit")"
done
grep -q '^ExecStart=.* -c /etc/corral/%i.toml ' "$system/corral@.service" ||
  fail "the system unit does not read /etc/corral/%i.toml"
grep -q '^ExecStart=.* -c %E/corral/%i.toml ' "$user/corral@.service" ||
  fail "the user unit does not read %E/corral/%i.toml"

# Runs `systemd-analyze verify` with the given arguments; any line it prints
# about our units (a warning about a key, a missing binary) fails the test,
# not only a non-zero exit.
verify() {
  local out rc=0
  out=$(systemd-analyze "$@" 2>&1) || rc=$?
  if [ -n "$out" ]; then echo "$out"; fi
  [ "$rc" -eq 0 ] || fail "systemd-analyze $* exited $rc"
  if grep -E 'corral|listen\.conf' <<<"$out"; then fail "systemd-analyze $* complained"; fi
}

step "verify the system units"
verify verify "$system/corral@.service" "$system/corral@.socket"

step "verify the user units"
mkdir -m 0700 "$tmp/xdg"
XDG_RUNTIME_DIR=$tmp/xdg HOME=$tmp/home verify --user verify \
  "$user/corral@.service" "$user/corral@.socket"

step "verify corral@web with the documented socket drop-in"
units=$tmp/units
mkdir -p "$units/corral@web.socket.d"
cp "$system"/corral@.* "$units/"
cat >"$units/corral@web.socket.d/listen.conf" <<'EOF'
[Socket]
ListenStream=
ListenStream=0.0.0.0:8080
EOF
(cd "$units" && SYSTEMD_UNIT_PATH=$units: verify verify corral@web.socket corral@web.service)

step "the installed binary accepts the units' arguments"
rc=0
"$prefix/bin/corral" run -c "$tmp/absent.toml" --name web >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "corral run -c ABSENT --name web exited $rc, expected 78 (configuration)"
rc=0
XDG_RUNTIME_DIR=$tmp/xdg "$prefix/bin/corral" reload --name sd-verify-absent --timeout 290s \
  >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 69 ] || fail "corral reload --name N --timeout 290s exited $rc, expected 69 (no service)"

echo "ok"
