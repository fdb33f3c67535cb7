#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/fuzz for SECONDS each, starting from its committed seed corpus (new
# inputs go to a scratch corpus, not into the repository). Prints each target's execution count.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${2:-60}
for bin in "$build"/fuzz/fuzz_*; do
  name=$(basename "$bin")
  scratch=$(mktemp -d)
  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
  "$bin" -max_total_time="$secs" -print_final_stats=1 "${dict[@]}" "$scratch" "tests/fuzz/corpus/$name" \
    2> "$scratch.log" || { tail -n 40 "$scratch.log"; echo "fuzz: $name FAILED"; exit 1; }
  echo "$name: $(grep -E '^stat::number_of_executed_units' "$scratch.log" | awk '{print $2}') executions, no crash"
  rm -rf "$scratch" "$scratch.log"
done
