#!/usr/bin/env bash
# A driver killed with SIGKILL in the middle of a step leaves the app's limit lowered and its journal behind; the
# start-up repair (harvest_drive --repair-only, the path usbd takes first) puts the limit back and removes the journal.
# The app keeps all of its 1 GiB hot and the steps are large, so that a step lasts long enough to be caught.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

LIMIT=$((3 << 30)) J=$T_DIR/journal
make_swap 1536
mkcg "$T_NAME" "$LIMIT"
run_in_cg "$T_NAME" "$HARVEST_APP" --hot 1G --status "$T_DIR/app" 1G &
T_PIDS+=($!)
wait_for 60 "the app to hold 1 GiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=1073741824 growing=0' $T_DIR/app"

caught=0
for attempt in 1 2 3 4 5; do
  "$HARVEST_DRIVE" --target 1G --step-max 768M --share 100 --window 2000 --timeout 60000 --journal "$J" \
    "$T_NAME" >"$T_DIR/drive.out" 2>"$T_DIR/drive.err" &
  DRIVE=$!
  T_PIDS+=("$DRIVE")
  end=$((SECONDS + 90))
  while ((SECONDS < end)); do
    if [[ -e $J ]] && (( $(cg_get "$T_NAME" memory.limit_in_bytes) < LIMIT )); then
      kill -KILL "$DRIVE"
      break
    fi
    sleep 0.02
  done
  kill -KILL "$DRIVE" 2>/dev/null || true
  wait "$DRIVE" 2>/dev/null || true
  # Caught mid-step only if the kill left both the lowered limit and the journal.
  if [[ -e $J ]] && (( $(cg_get "$T_NAME" memory.limit_in_bytes) < LIMIT )); then
    caught=1
    break
  fi
  echo "attempt $attempt missed the step; repairing and trying again"
  "$HARVEST_DRIVE" --repair-only --journal "$J" "$T_NAME" 2>/dev/null || true
done
(( caught )) || fail "never caught a step in flight in 5 attempts"

lowered=$(cg_get "$T_NAME" memory.limit_in_bytes)
grep -qx "cgroup $T_NAME" "$J" || fail "the journal does not name the cgroup: $(cat "$J")"
grep -qx "previous $LIMIT" "$J" || fail "the journal does not hold the previous limit: $(cat "$J")"
grep -qx "knob limit" "$J" || fail "the journal does not name the knob: $(cat "$J")"

"$HARVEST_DRIVE" --repair-only --journal "$J" "$T_NAME" 2>"$T_DIR/repair.err" || fail "repair failed: $(cat "$T_DIR/repair.err")"
[[ $(cg_get "$T_NAME" memory.limit_in_bytes) == "$LIMIT" ]] || fail "limit not restored: $(cg_get "$T_NAME" memory.limit_in_bytes)"
[[ ! -e $J ]] || fail "the journal is still there"
grep -q "repaired an interrupted step" "$T_DIR/repair.err" || fail "the repair did not say what it did: $(cat "$T_DIR/repair.err")"

# A second start finds nothing to do and says nothing.
"$HARVEST_DRIVE" --repair-only --journal "$J" "$T_NAME" 2>"$T_DIR/repair2.err" || fail "second repair failed"
[[ ! -s $T_DIR/repair2.err ]] || fail "the second repair logged: $(cat "$T_DIR/repair2.err")"
pass "killed with the limit at $(mib "$lowered") MiB; repaired to $(mib "$LIMIT") MiB"
