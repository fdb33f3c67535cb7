#!/usr/bin/env bash
# swapoff while usbd harvests: the app's swapped memory comes back (the app survives, nothing OOM-killed), usbd keeps
# running, every lowered limit is put back, and with no swap left harvesting stops: no further steps lower the
# limit and usbd says so once rather than failing at every step.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

swapoff_setup

start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 600M --harvest-journal "$T_DIR/journal" --api-sock off \
  --spot-listen off --status-interval 0
swapped() { (( $(cg_swap "$T_NAME/app") >= (128 << 20) )); }
wait_for 240 "harvesting to bring 128 MiB to swap" swapped
echo "app swap $(mib "$(cg_swap "$T_NAME/app")") MiB; swapoff $swapfile"
swapoff "$swapfile" || fail "swapoff failed"
other_swap=$(awk 'NR > 1' /proc/swaps | wc -l)

kill -0 "$app" || fail "the app died during swapoff"
[[ $(awk '$1 == "oom_kill" { print $2 }' "$CGV1/$T_NAME/app/memory.oom_control") == 0 ]] || fail "an OOM kill in the app"
kill -0 "$USBD_PID" || fail "usbd died"

# 20 s more: usbd alive, the limit lowered only transiently (by steps) if at all, a quiet log.
lines_before=$(wc -l < "$T_DIR/usbd.log")
lowered=0
end=$((SECONDS + 20))
while ((SECONDS < end)); do
  [[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit" ]] || lowered=$((lowered + 1))
  sleep 0.02
done
kill -0 "$USBD_PID" || fail "usbd died"
kill -0 "$app" || fail "the app died"
added=$(( $(wc -l < "$T_DIR/usbd.log") - lines_before ))
echo "after swapoff: $added log lines in 20 s, the limit seen lowered in $lowered samples"
tail -n 3 "$T_DIR/usbd.log"
(( added <= 3 )) || fail "usbd logged $added lines in 20 s after swapoff"
if (( other_swap == 0 )); then
  grep -q "harvest: no free swap" "$T_DIR/usbd.log" || fail "usbd did not say that harvesting stopped for lack of swap"
  (( lowered == 0 )) || fail "with no swap at all, steps still lowered the app's limit ($lowered samples)"
else
  echo "note: $other_swap other swap area(s) on this machine, so harvesting may go on there: $(awk 'NR > 1 { print $1 }' /proc/swaps)"
fi

kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not exit cleanly"
[[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit" ]] || fail "the app's limit was left lowered"
[[ ! -e $T_DIR/journal ]] || fail "a journal was left behind"
pass "swapoff during harvesting: the app survived, usbd kept running and left no limit lowered"
