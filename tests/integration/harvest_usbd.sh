#!/usr/bin/env bash
# The harvester inside the real daemon: usbd --swap-target brings a stable app's cold memory to swap and reports
# it in /usbd/status; usbd killed with SIGKILL in the middle of a v1 step leaves the app's limit lowered and a
# journal behind, and the next usbd start finds the journal and puts the limit back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

make_swap 1024
mkcg "$T_NAME" $((3 << 30))
mkcg "$T_NAME/app"
limit_before=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot 100M --status "$T_DIR/app" 768M &
T_PIDS+=($!)
wait_for 60 "the app to hold 768 MiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=805306368 growing=0' $T_DIR/app"

sock=$T_DIR/usbd.sock
journal=$T_DIR/journal
start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 256M --harvest-journal "$journal" --api-sock "$sock" \
  --spot-listen off
swapped() { (( $(cg_swap "$T_NAME/app") >= (192 << 20) )); }
wait_for 240 "the app's swap to approach the 256 MiB target" swapped
status=$(curl -s --unix-socket "$sock" http://localhost/usbd/status)
swap_bytes=$(grep -oE '"swap_bytes": *[0-9]+' <<<"$status" | grep -oE '[0-9]+$')
(( swap_bytes >= (128 << 20) )) || fail "/usbd/status reports swap_bytes=$swap_bytes: $status"
echo "app swap $(mib "$(cg_swap "$T_NAME/app")") MiB; /usbd/status swap_bytes $(mib "$swap_bytes") MiB"

# Crash mid-step: raise the target so steps continue, catch a step with its journal written, SIGKILL usbd.
curl -s --unix-socket "$sock" -X PATCH http://localhost/usbd/targets -d '{"swap_target_mib": 700}' >/dev/null
end=$((SECONDS + 120))
until [[ -f $journal && $(cg_get "$T_NAME/app" memory.limit_in_bytes) != "$limit_before" ]]; do
  ((SECONDS < end)) || fail "no harvest step started within 120 s"
  sleep 0.005
done
kill -9 "$USBD_PID"
wait "$USBD_PID" 2>/dev/null || true
lowered=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
[[ -f $journal ]] || fail "the journal vanished with the SIGKILL"
[[ $lowered != "$limit_before" ]] || fail "the crash did not catch a lowered limit"
echo "after SIGKILL: app limit $(mib "$lowered") MiB (was $(mib "$limit_before") MiB), journal present"
# The dead controller's worker dies with it (PDEATHSIG); its empty cgroup is reused by the next start.
start_usbd --domain "$T_NAME" "$T_NAME/app" --harvest-journal "$journal" --api-sock off --spot-listen off
restored() { [[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit_before" && ! -f $journal ]]; }
wait_for 10 "the next start to restore the limit from the journal" restored
kill -0 "$USBD_PID" || fail "usbd did not keep running after the repair"
pass "usbd harvested to its swap target and repaired a step a SIGKILL interrupted"
