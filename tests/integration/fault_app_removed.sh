#!/usr/bin/env bash
# The app cgroup removed while usbd runs: usbd says so once, frees the balloon, removes its own cgroup and exits 1
# (a supervisor sees a failure, not a daemon balloning for nobody); the domain is left as it was.
source "$(dirname "$0")/lib.sh"
require_root_v1

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 128M --api-sock "$T_DIR/usbd.sock" --spot-listen off
balloon=$T_NAME/usbd-balloon
grabbed() { [[ -f $CGV1/$balloon/memory.usage_in_bytes ]] && (( $(cg_get "$balloon" memory.usage_in_bytes) >= (128 << 20) )); }
wait_for 30 "the balloon to grab 128 MiB" grabbed
domain_limit=$(cg_get "$T_NAME" memory.limit_in_bytes)

rmdir "$CGV1/$T_NAME/app"
exited() { ! kill -0 "$USBD_PID" 2>/dev/null; }
wait_for 15 "usbd to exit after the app cgroup vanished" exited
set +e
wait "$USBD_PID"
status=$?
set -e
(( status == 1 )) || fail "usbd exited with status $status, expected 1"
grep -q "error: the app cgroup $T_NAME/app was removed: freeing the balloon and exiting" "$T_DIR/usbd.log" ||
  fail "usbd did not say why it exited"
n=$(grep -c "was removed:\|cannot read the domain" "$T_DIR/usbd.log")
(( n == 1 )) || fail "usbd logged the removal $n times: $(grep "was removed:\|cannot read the domain" "$T_DIR/usbd.log")"
[[ ! -d $CGV1/$balloon ]] || fail "usbd left its cgroup $balloon behind"
[[ ! -e $T_DIR/usbd.sock ]] || fail "usbd left its API socket behind"
[[ $(cg_get "$T_NAME" memory.limit_in_bytes) == "$domain_limit" ]] || fail "the domain's limit changed"
(( $(cg_get "$T_NAME" memory.usage_in_bytes) < (64 << 20) )) || fail "the balloon's memory was not given back"
tail -n 3 "$T_DIR/usbd.log"
pass "usbd exited 1 with one clear message after its app cgroup was removed, and cleaned up"
