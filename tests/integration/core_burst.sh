#!/usr/bin/env bash
# Core: in a 2 GiB domain the balloon reaches a 1 GiB lower bound (visible in the domain's usage); then the app
# allocates and touches 1.2 GiB as fast as it can. It must complete, never be OOM-killed, and the balloon must
# have given back what was needed to restore the headroom.
source "$(dirname "$0")/lib.sh"
require_root_v1

mkcg "$T_NAME" $((2 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 1G --api-sock off --spot-listen off
balloon=$T_NAME/usbd-balloon

grab_at_least() { [[ -f $CGV1/$balloon/memory.usage_in_bytes ]] && (( $(cg_get "$balloon" memory.usage_in_bytes) >= (1 << 30) )); }
wait_for 30 "the balloon to reach its 1 GiB lower bound" grab_at_least
dom_usage=$(cg_get "$T_NAME" memory.usage_in_bytes)
(( dom_usage >= (1 << 30) )) || fail "domain usage $(mib "$dom_usage") MiB does not show the 1 GiB grab"
echo "balloon at $(mib "$(cg_get "$balloon" memory.usage_in_bytes)") MiB, domain usage $(mib "$dom_usage") MiB"

set +e
run_in_cg "$T_NAME/app" "$HELPERS/workload" burst 1200M > "$T_DIR/burst.out" 2>&1
status=$?
set -e
cat "$T_DIR/burst.out"
(( status == 0 )) || fail "the app's burst exited with status $status (137 = OOM-killed)"
grep -q "^oom_kill 0$" <(grep oom_kill "$CGV1/$T_NAME/app/memory.oom_control") ||
  fail "the app cgroup saw an OOM kill: $(cat "$CGV1/$T_NAME/app/memory.oom_control")"

# After the burst (the app has exited and freed its memory), the balloon must have released at least what
# the burst needed: 1.2 GiB + the 512 MiB headroom do not fit beside more than ~0.3 GiB of balloon.
grep -q "deflating" "$T_DIR/usbd.log" || fail "usbd never deflated"
kill -0 "$USBD_PID" || fail "usbd died"
grep -E "deflating|worker" "$T_DIR/usbd.log" | head -n 20
if grep -q "worker died" "$T_DIR/usbd.log"; then
  echo "note: the worker was sacrificed by the kernel (the safety net), the app survived"
fi
pass "the app's 1.2 GiB burst completed beside a 1 GiB balloon in a 2 GiB domain"
