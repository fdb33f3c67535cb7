#!/usr/bin/env bash
# A consumer never sees memory someone else wrote: real pinned workers whose tenant checks every new chunk
# reads as zeros and then writes a secret over it. Chunks released and re-added inside one worker, and chunks of
# a worker started after the previous one was SIGKILLed while holding data, must all come back zeroed.
source "$(dirname "$0")/lib.sh"
require_root_v1

helper=$HELPERS/fault_zero_chunks
[[ -x $helper ]] || fail "missing $helper"
size_mib=256
mkcg "$T_NAME" $((1 << 30))
"$helper" "$T_NAME" "${size_mib}M" > "$T_DIR/out" 2> "$T_DIR/err" || {
  cat "$T_DIR/out" "$T_DIR/err" >&2
  fail "the helper failed"
}
mapfile -t workers < <(awk '$1 == "worker" { print $2 }' "$T_DIR/out")
(( ${#workers[@]} == 2 )) || fail "expected two workers, saw: ${workers[*]}"
[[ ${workers[0]} != "${workers[1]}" ]] || fail "the second worker is the same process"
grep -q '^done$' "$T_DIR/out" || fail "the helper did not finish: $(tail -n 3 "$T_DIR/out")"
if grep -q '^dirty' "$T_DIR/out"; then
  fail "chunks came back holding another tenant's data: $(grep -m 5 '^dirty' "$T_DIR/out")"
fi
# Every chunk of the three grows was checked (none skipped): 256 MiB + 128 MiB in A, 256 MiB in B.
chunks_a=$(grep -c "^clean ${workers[0]}$" "$T_DIR/out")
chunks_b=$(grep -c "^clean ${workers[1]}$" "$T_DIR/out")
(( chunks_a == size_mib * 3 / 4 )) || fail "worker A checked $chunks_a chunks, expected $((size_mib * 3 / 4))"
(( chunks_b == size_mib / 2 )) || fail "worker B checked $chunks_b chunks, expected $((size_mib / 2))"
pass "all $((chunks_a + chunks_b)) chunks read as zeros, after a release and after a worker restart"
