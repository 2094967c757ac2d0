#!/usr/bin/env bash
# run_fuzzer.sh FUZZER TARGET FUZZ_SOURCE_DIR RUNS_DIR SECONDS
# Fuzzes one target for SECONDS over a fresh copy of its committed inputs
# (corpus/ and regressions/) in RUNS_DIR/TARGET/corpus — the repository's
# corpus is never written. Prints one summary line; on a crash, the path of
# the saved input and the fuzzer's report, and exits non-zero.
set -uo pipefail
fuzzer=$1 target=$2 src=$3 runs=$4 seconds=$5

work=$runs/$target
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
for dir in "$src/corpus/$target" "$src/regressions/$target"; do
  [[ -d $dir ]] && find "$dir" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
done
seeds=$(find "$work/corpus" -type f | wc -l)
dict=()
[[ -f $src/dict/$target.dict ]] && dict=(-dict="$src/dict/$target.dict")

# -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb:
# the parsers must stay small on any input.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" \
  "$work/corpus" >"$work/log" 2>&1
rc=$?

# libFuzzer's status lines: "#N<tab>INITED cov: C ft: F corp: ..." and the
# last "#N<tab>DONE cov: ... corp: K/..." (K: the inputs libFuzzer keeps);
# final stats "stat::number_of_executed_units: N".
field() { grep -o "$1: [0-9]*" <<<"$2" | head -1 | grep -o '[0-9]*$'; }
inited=$(grep -a -E '^#[0-9]+[[:space:]]+INITED ' "$work/log" | tail -1)
last=$(grep -a -E '^#[0-9]+[[:space:]]' "$work/log" | grep -a 'cov: ' | tail -1)
execs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | grep -o '[0-9]*$')
printf 'fuzz %-8s %4ss  execs %-10s cov %s -> %s  ft %s -> %s  corpus %s -> %s inputs\n' \
  "$target" "$seconds" "${execs:-?}" "$(field cov "$inited")" "$(field cov "$last")" \
  "$(field ft "$inited")" "$(field ft "$last")" "$seeds" "$(field corp "$last")" |
  tee "$work/summary"

if [[ $rc -ne 0 ]]; then
  crash=$(find "$work/artifacts" -type f | head -1)
  echo "fuzz $target: FAILED (exit $rc); input: ${crash:-none saved}" | tee -a "$work/summary"
  grep -a -E -A25 'ERROR: |fuzz property violated|==ERROR|runtime error' "$work/log" | head -60
  exit 1
fi
