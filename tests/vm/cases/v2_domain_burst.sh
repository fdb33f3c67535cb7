#!/bin/sh
# cgroup v2, domain mode: in a 256 MiB domain (memory.max) the balloon reaches its 96 MiB lower bound, charged to
# the domain; then the app allocates and touches 160 MiB at once. It must complete without an OOM kill (in its
# cgroup or anywhere), and usbd must have deflated for it.
. /vmtests/lib.sh

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 96M --api-sock off --spot-listen off
balloon=$T_NAME/usbd-balloon

inflated() { [ "$(cg_cur "$balloon")" -ge $((96 << 20)) ]; }
wait_for 60 "the balloon to reach its 96 MiB lower bound" inflated
dom=$(cg_cur "$T_NAME")
[ "$dom" -ge $((96 << 20)) ] || fail "domain usage $(mib "$dom") MiB does not show the 96 MiB grab"
echo "balloon at $(mib "$(cg_cur "$balloon")") MiB, domain usage $(mib "$dom") MiB"

kills=$(oom_kills)
set +e
run_in_cg "$T_NAME/app" "$HELPERS/workload" burst 160M
status=$?
set -e
[ "$status" = 0 ] || fail "the app's burst exited with status $status (137 = killed)"
[ "$(cg_key "$T_NAME/app" memory.events oom_kill)" = 0 ] || fail "the app cgroup saw an OOM kill"
if [ "$(oom_kills)" != "$kills" ]; then
	# Only the balloon worker may be sacrificed (oom_score_adj 1000): that is the safety net, not a failure.
	grep -q "worker died" "$T_DIR/usbd.log" || fail "an OOM kill hit something other than the balloon worker"
	echo "note: the kernel sacrificed the balloon worker (the safety net); the app survived"
fi
grep -q "deflating" "$T_DIR/usbd.log" || fail "usbd never deflated for the burst"
kill -0 "$USBD_PID" || fail "usbd died"
grep "deflating" "$T_DIR/usbd.log" | head -n 5
pass "a 160 MiB burst completed beside a 96 MiB balloon in a 256 MiB v2 domain"
