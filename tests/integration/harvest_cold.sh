#!/usr/bin/env bash
# The harvester brings a stable app's cold memory into swap up to the target and stays there, sparing the hot set:
# an app holds 1 GiB of which it keeps touching the first 200 MiB; target 512 MiB, on a private 1.5 GiB swap file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

TARGET=$((512 << 20)) SLACK=$((64 << 20)) HOT_PAGES=$((200 << 8))
make_swap 1536
mkcg "$T_NAME" $((3 << 30))
run_in_cg "$T_NAME" "$HARVEST_APP" --hot 200M --status "$T_DIR/app" 1G &
T_PIDS+=($!)
wait_for 60 "the app to hold 1 GiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=1073741824 growing=0' $T_DIR/app"

"$HARVEST_DRIVE" --target 512M --journal "$T_DIR/journal" "$T_NAME" >"$T_DIR/drive.out" 2>"$T_DIR/drive.err" &
DRIVE=$!
T_PIDS+=("$DRIVE")
wait_for 240 "swap to reach 512 MiB - 64 MiB" bash -c "(( \$(awk '\$1 == \"total_swap\" { print \$2 }' \
  $CGV1/$T_NAME/memory.stat) >= $TARGET - $SLACK ))"

wait_for 120 "the harvester to reach the target" bash -c "tail -n 1 $T_DIR/drive.out | grep -q '^state=at_target'"

# It stays: 15 s of readings, all within the band, and the harvester says it is at the target.
hot_before=$(app_field "$T_DIR/app" hot_majflt)
for i in $(seq 15); do
  s=$(cg_swap "$T_NAME")
  in_band "$s" $((TARGET - SLACK)) $((TARGET + SLACK)) || fail "swap $(mib "$s") MiB left 512 +- 64 MiB"
  sleep 1
done
grep -q '^state=at_target' <(tail -n 3 "$T_DIR/drive.out") || fail "the harvester is not at_target: $(tail -n 3 "$T_DIR/drive.out")"

# The hot set stayed in memory: the first step may catch part of it at the inactive list's tail (the back-off then
# slows harvesting down), but under 5% of its pages in all, and none once the target is reached.
hot=$(app_field "$T_DIR/app" hot_majflt)
(( hot == hot_before )) || fail "the hot set kept faulting at the target: $hot_before, then $hot"
(( hot < HOT_PAGES / 20 )) || { cat "$T_DIR/drive.out" "$T_DIR/app" >&2; fail "the hot set took $hot major faults"; }
# Every lowered limit was restored, and no journal is left.
[[ $(cg_get "$T_NAME" memory.limit_in_bytes) == $((3 << 30)) ]] || fail "limit not restored: $(cg_get "$T_NAME" memory.limit_in_bytes)"
[[ ! -e $T_DIR/journal ]] || fail "a journal was left behind"
grep -q 'steps=[1-9]' <(tail -n 1 "$T_DIR/drive.out") || fail "no steps counted"

kill -TERM "$DRIVE"
wait "$DRIVE" || fail "the driver did not exit cleanly"
! grep -q 'error' "$T_DIR/drive.err" || fail "the driver logged errors: $(cat "$T_DIR/drive.err")"
pass "swap $(mib "$(cg_swap "$T_NAME")") MiB of target 512 MiB; hot set major faults: $hot"
