#!/usr/bin/env bash
# Core: in a 2 GiB domain the balloon reaches a 1 GiB lower bound (visible in the domain's usage); then the app
# allocates and touches 1.2 GiB as fast as it can. It must complete, never be OOM-killed, and the balloon must
# have given back what was needed to restore the headroom. (In the guest: a quarter of each size.)
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root

DOM_MIB=$(t_size 2048 512) GRAB_MIB=$(t_size 1024 256) BURST_MIB=$(t_size 1200 300)
mkcg "$T_NAME" $((DOM_MIB << 20))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower "${GRAB_MIB}M" --api-sock off --spot-listen off
balloon=$T_NAME/usbd-balloon

grab_at_least() { (( $(cg_usage "$balloon") >= GRAB_MIB << 20 )); }
wait_for 30 "the balloon to reach its $GRAB_MIB MiB lower bound" grab_at_least
dom_usage=$(cg_usage "$T_NAME")
(( dom_usage >= GRAB_MIB << 20 )) || fail "domain usage $(mib "$dom_usage") MiB does not show the $GRAB_MIB MiB grab"
echo "balloon at $(mib "$(cg_usage "$balloon")") MiB, domain usage $(mib "$dom_usage") MiB"

set +e
run_in_cg "$T_NAME/app" "$HELPERS/workload" burst "${BURST_MIB}M" > "$T_DIR/burst.out" 2>&1
status=$?
set -e
cat "$T_DIR/burst.out"
(( status == 0 )) || fail "the app's burst exited with status $status (137 = OOM-killed)"
(( $(cg_oom_kills "$T_NAME/app") == 0 )) || fail "the app cgroup saw $(cg_oom_kills "$T_NAME/app") OOM kills"

# After the burst (the app has exited and freed its memory), the balloon must have released at least what
# the burst needed: the burst and the headroom (a quarter of the domain) do not fit beside the whole lower bound.
grep -q "deflating" "$T_DIR/usbd.log" || fail "usbd never deflated"
kill -0 "$USBD_PID" || fail "usbd died"
grep -E "deflating|worker" "$T_DIR/usbd.log" | head -n 20
if grep -q "worker died" "$T_DIR/usbd.log"; then
  echo "note: the worker was sacrificed by the kernel (the safety net), the app survived"
fi
pass "the app's $BURST_MIB MiB burst completed beside a $GRAB_MIB MiB balloon in a $DOM_MIB MiB domain (cgroup v$CG_VER)"
