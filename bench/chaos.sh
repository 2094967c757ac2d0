#!/usr/bin/env bash
# Chaos under load (docs/reliability.md): tests/chaos's Chaos test, run
# longer on a Release build. A load client (4 keep-alive + 2 one-request
# connections) runs against 4 example servers under corral while a seeded
# schedule SIGKILLs, SIGSEGVs and SIGSTOPs random workers, reloads and scales
# (3..5, back to 4) every 100-500 ms; a prober times `status` every 20 ms.
# A calm phase (reloads and scales only) comes first: it must lose nothing.
#   bench/chaos.sh                                60 s of chaos after 10 s calm, seed 7
#   CHAOS_SECONDS=120 CHAOS_SEED=3 bench/chaos.sh
#   SKIP_SETUP=1 bench/chaos.sh                   do not (re)build
# Builds corral, the example server and the test in Release into $BUILD_DIR
# (default build-reliability; tests on, unlike build-bench). Output:
# $RESULTS/chaos.json (the figures), chaos.log (the test's output, corral's
# log tail on failure), chaos.md (a summary for the docs).
BUILD_DIR=${BUILD_DIR:-build-reliability}
source "$(dirname "$0")/lib.sh"

seconds=${CHAOS_SECONDS:-60}
calm=${CHAOS_CALM_SECONDS:-10}
seed=${CHAOS_SEED:-7}
reliability_build  # sets bin and build

log "chaos: ${calm} s calm, ${seconds} s chaos, seed $seed"
rm -f "$RESULTS/chaos.json"
status=0
CORRAL_CHAOS_SECONDS=$seconds CORRAL_CHAOS_CALM_SECONDS=$calm CORRAL_CHAOS_SEED=$seed \
  CORRAL_CHAOS_REPORT="$RESULTS/chaos.json" \
  timeout $((seconds + calm + 300)) "$bin" --gtest_filter='Chaos.*' \
  >"$RESULTS/chaos.log" 2>&1 || status=$?
[[ -f $RESULTS/chaos.json ]] || { log "no figures; see $RESULTS/chaos.log"; exit 1; }

python3 - "$RESULTS/chaos.json" "$build" "$status" >"$RESULTS/chaos.md" <<'PYEOF'
import json, sys
f = json.load(open(sys.argv[1])); build, status = sys.argv[2], int(sys.argv[3])
a, c, s = f["actions"], f["calm"], f["status"]
p = a["performed"]
print(f"corral {build} (Release), {f['workers']} workers, {f['connections']} connections, seed {f['seed']}; "
      f"test {'passed' if status == 0 else 'FAILED'}.\n")
print("| phase | s | kills (SIGKILL / SIGSEGV / SIGSTOP) | reloads done / refused (one under way) / aborted | scales | requests ok | failed |")
print("|---|---|---|---|---|---|---|")
ca = c["actions"]
print(f"| calm | {c['seconds']} | – | {ca['reloads_done']} / {ca['reloads_refused_under_way']} / {ca['reloads_aborted']} "
      f"| {ca['performed']['scale']} | {c['ok']} | {c['failed']} |")
print(f"| chaos | {f['seconds']} | {a['kills']} ({p['sigkill']} / {p['sigsegv']} / {p['sigstop']}) "
      f"| {a['reloads_done']} / {a['reloads_refused_under_way']} / {a['reloads_aborted']} "
      f"| {p['scale']} | {f['requests_ok']} | {f['requests_failed']} |\n")
print(f"- failed requests: {f['requests_failed']} ({f['failed_keep_alive']} keep-alive, "
      f"{f['failed_fresh_connection']} one-request) for {a['kills']} kills = "
      f"{f['failed_per_kill']:.2f} per kill; bound (kills × connections) {f['failed_bound']}; "
      f"failures with no kill in the window before them: {f['failed_without_kill']}")
print(f"- status on the admin socket: {s['calls']} calls, {s['unanswered']} unanswered, "
      f"p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.2f} ms")
print(f"- after the last action: 4 workers ready again in {f['recovery_s']:.2f} s; corral alive: "
      f"{f['corral_alive']}; then a clean stop (exit 0){' – see chaos.log' if status else ''}")
PYEOF
cat "$RESULTS/chaos.md"
exit "$status"
