#!/usr/bin/env bash
# Soak (docs/reliability.md): tests/chaos's Soak test, run long on a Release
# build. Four workers that exit 5 ms after they start are restarted at once
# (min_uptime and window 0) while reloads follow each other; after a warm-up
# and again after the run (each time back to serving workers, at rest),
# corral's descriptors, RSS and threads are read from /proc, with its
# guardian's; then zombie children; after a clean stop, its shared-memory
# segment and socket files. `status` is timed every 20 ms throughout.
#   bench/soak.sh                                   10,000 restarts, 1,000 reloads
#   SOAK_RESTARTS=100000 SOAK_RELOADS=5000 bench/soak.sh
#   SKIP_SETUP=1 bench/soak.sh                      do not (re)build
# Builds corral, the example server and the test in Release into $BUILD_DIR
# (default build-reliability; tests on, unlike build-bench). Output:
# $RESULTS/soak.json (the figures), soak.log (the test's output), soak.md
# (a summary for the docs).
BUILD_DIR=${BUILD_DIR:-build-reliability}
source "$(dirname "$0")/lib.sh"

restarts=${SOAK_RESTARTS:-10000}
reloads=${SOAK_RELOADS:-1000}
reliability_build  # sets bin and build

log "soak: $restarts restarts, $reloads reloads"
rm -f "$RESULTS/soak.json"
status=0
CORRAL_SOAK_RESTARTS=$restarts CORRAL_SOAK_RELOADS=$reloads \
  CORRAL_SOAK_WARMUP_RESTARTS=${SOAK_WARMUP_RESTARTS:-500} CORRAL_SOAK_WARMUP_RELOADS=${SOAK_WARMUP_RELOADS:-50} \
  CORRAL_SOAK_REPORT="$RESULTS/soak.json" \
  timeout 3600 "$bin" --gtest_filter='Soak.*' \
  >"$RESULTS/soak.log" 2>&1 || status=$?
[[ -f $RESULTS/soak.json ]] || { log "no figures; see $RESULTS/soak.log"; exit 1; }

python3 - "$RESULTS/soak.json" "$build" "$status" >"$RESULTS/soak.md" <<'PYEOF'
import json, sys
f = json.load(open(sys.argv[1])); build, status = sys.argv[2], int(sys.argv[3])
s = f["status"]
print(f"corral {build} (Release), {f['workers']} workers; {f['restarts']} restarts and {f['reloads']} "
      f"reloads in {f['seconds']:.1f} s; test {'passed' if status == 0 else 'FAILED'}.\n")
print("| | descriptors | RSS (KiB) | threads |")
print("|---|---|---|---|")
for label, key in (("corral after warm-up", "after_warmup"), ("corral after the run", "after_run"),
                   ("guardian after warm-up", "guardian_after_warmup"),
                   ("guardian after the run", "guardian_after_run")):
    v = f.get(key)
    if v:
        print(f"| {label} | {v['fds']} | {v['rss_kib']} | {v['threads']} |")
print(f"\n- RSS growth after warm-up: {f['rss_growth_kib']} KiB")
print(f"- zombie children at rest: {f['zombies']}; after corral's exit: {f['segments_left']} "
      f"shared-memory segments, {f['sockets_left']} socket files left")
print(f"- status during the run: {s['calls']} calls, {s['unanswered']} unanswered, p50 "
      f"{s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.2f} ms")
PYEOF
cat "$RESULTS/soak.md"
exit "$status"
