#!/usr/bin/env bash
# A swapoff that lands in the middle of a harvest step, made to happen every time: usbd is frozen (SIGSTOP) while a
# step is under way (its journal exists) and the app already has more in swap than the step's cushion, then the
# swap file is turned off. All the app's swapped memory must find room in its cgroup: swapoff succeeds, no OOM
# kill; usbd, let go, restores the limit. Before the fix a step held the limit 64 MiB (HARVEST_CUSHION) above the
# slice just reclaimed, so a swapoff bringing back more than that before the step noticed killed the app (seen
# once in fault_swapoff under the sanitizer pass). A stop may also land between a slice's lowering write and the
# write that raises the limit again (the limit then at usage, for two system calls), or before the step's first slice
# has lowered anything: such a stop is let go and another tried.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

swapoff_setup

journal=$T_DIR/journal
start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 700M --harvest-journal "$journal" --api-sock off \
  --spot-listen off --status-interval 0
# More in swap than the cushion (64 MiB) and a margin.
swapped() { (( $(cg_swap "$T_NAME/app") >= (160 << 20) )); }
wait_for 240 "harvesting to bring 160 MiB to swap" swapped

# Freeze usbd in a step with the limit where the step holds it between slices.
caught=0
for try in $(seq 400); do
  kill -STOP "$USBD_PID"
  until grep -q '^State:.*T' "/proc/$USBD_PID/status"; do sleep 0.001; done
  if [[ -e $journal ]]; then
    l=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
    u=$(cg_usage "$T_NAME/app")
    # Held between slices: lowered, but not at usage (under usage + 16 MiB: between a lowering write and the next,
    # or the step's last slice; at the limit before the step: its first slice, not yet lowered).
    if (( l >= u + (16 << 20) && l < limit )); then caught=1; break; fi
  fi
  kill -CONT "$USBD_PID"
  sleep 0.0$((RANDOM % 5 + 1))
done
((caught)) || fail "no harvest step caught in 400 tries (swap $(mib "$(cg_swap "$T_NAME/app")") MiB)"
echo "usbd frozen mid-step (try $try): limit $(mib "$l") MiB, usage $(mib "$u") MiB, app swap" \
  "$(mib "$(cg_swap "$T_NAME/app")") MiB; swapoff $swapfile"
rc=0
swapoff "$swapfile" || rc=$?
kill -CONT "$USBD_PID"
kill -0 "$app" 2>/dev/null || fail "the app died during swapoff (swapoff status $rc)"
[[ $(awk '$1 == "oom_kill" { print $2 }' "$CGV1/$T_NAME/app/memory.oom_control") == 0 ]] ||
  fail "an OOM kill in the app (swapoff status $rc)"
((rc == 0)) || fail "swapoff failed with status $rc"
kill -0 "$USBD_PID" || fail "usbd died"

kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not exit cleanly"
[[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit" ]] || fail "the app's limit was left lowered"
[[ ! -e $journal ]] || fail "a journal was left behind"
pass "a swapoff in the middle of a harvest step, usbd frozen: all the app's swap came back, no OOM kill"
