#!/usr/bin/env bash
# Disk full for the harvest journal (a tiny tmpfs, filled): the harvester must not take a step it could not journal,
# so the app's limit is never lowered and nothing goes to swap; usbd keeps running and says why, without flooding
# its log. Once space is freed, harvesting proceeds (which shows the full disk was what held it back).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

jfs=$T_DIR/jfs
mkdir "$jfs"
mount -t tmpfs -o size=64k,mode=0700 usbd-test-journal "$jfs"
unmount_then_cleanup() { local rc=$?; set +e; umount -l "$jfs" 2>/dev/null; (exit $rc); cleanup; }
trap unmount_then_cleanup EXIT
dd if=/dev/zero of="$jfs/fill" bs=4k 2>/dev/null || true
! echo x 2>/dev/null > "$jfs/probe" || [[ ! -s $jfs/probe ]] || fail "the tmpfs is not full"

make_swap 1024
mkcg "$T_NAME" $((3 << 30))
mkcg "$T_NAME/app"
limit=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot 64M --status "$T_DIR/app" 512M &
T_PIDS+=($!)
wait_for 60 "the app to hold 512 MiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=536870912 growing=0' $T_DIR/app"

start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 256M --harvest-journal "$jfs/journal" --api-sock off \
  --spot-listen off --status-interval 0
tried() { grep -q "cannot write the journal $jfs/journal" "$T_DIR/usbd.log"; }
wait_for 120 "the harvester to try a step and find the disk full" tried

# 20 s of watching: the limit stays, no swap, usbd alive, and nothing more said about it.
lines_before=$(wc -l < "$T_DIR/usbd.log")
end=$((SECONDS + 20))
while ((SECONDS < end)); do
  [[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit" ]] || fail "the app's limit was lowered"
  sleep 0.02
done
kill -0 "$USBD_PID" || fail "usbd died"
swap=$(cg_swap "$T_NAME/app")
(( swap < (16 << 20) )) || fail "the app has $(mib "$swap") MiB in swap: a step was taken"
[[ ! -e $jfs/journal ]] || fail "a journal exists on the full disk"
added=$(( $(wc -l < "$T_DIR/usbd.log") - lines_before ))
echo "in 20 s with the disk full usbd logged $added lines, e.g.:"
grep "journal" "$T_DIR/usbd.log" | tail -n 2
# The failure is said once when it starts, not at every step.
(( added <= 2 )) || fail "usbd logged $added lines in 20 s: an error storm"

rm -f "$jfs/fill" "$jfs/probe"
swapped() { (( $(cg_swap "$T_NAME/app") >= (128 << 20) )); }
wait_for 240 "harvesting to proceed once the disk has room" swapped
grep -q "harvest: steps on $T_NAME/app work again" "$T_DIR/usbd.log" || fail "usbd did not say harvesting recovered"
kill -0 "$USBD_PID" || fail "usbd died"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not exit cleanly"
[[ $(cg_get "$T_NAME/app" memory.limit_in_bytes) == "$limit" ]] || fail "the app's limit was left lowered"
[[ ! -e $jfs/journal ]] || fail "a journal was left behind"
pass "with the journal's disk full no step was taken and usbd kept running; with room, harvesting resumed"
