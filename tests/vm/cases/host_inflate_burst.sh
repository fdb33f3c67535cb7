#!/bin/sh
# Whole-host mode (no --domain): usbd's domain is the machine (/proc/meminfo, the root cgroup's PSI). The balloon
# inflates toward a 384 MiB lower bound; then the app bursts to all the memory still available (about 512 MiB in
# the 1 GiB busybox guest, more in the Debian one), which cannot fit beside the balloon and the headroom. The
# burst must complete without any OOM kill (the worker may be sacrificed, as the safety net) and usbd must have
# deflated; with the app gone, the balloon inflates again.
. /vmtests/lib.sh

mkcg "$T_NAME-app"
start_usbd "$T_NAME-app" --grab-lower 384M --api-sock off --spot-listen off
balloon=usbd-balloon
grep -q "MemTotal" /proc/meminfo
inflated() { [ "$(cg_cur "$balloon")" -ge $((384 << 20)) ]; }
wait_for 60 "the balloon to reach its 384 MiB lower bound" inflated
burst=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
echo "balloon at $(mib "$(cg_cur "$balloon")") MiB; the app bursts to MemAvailable, $burst MiB"
grep "no .* notifications" "$T_DIR/usbd.log" || true

kills=$(oom_kills)
set +e
run_in_cg "$T_NAME-app" "$HELPERS/workload" burst "${burst}M"
status=$?
set -e
[ "$status" = 0 ] || fail "the app's burst exited with status $status (137 = killed)"
if [ "$(oom_kills)" != "$kills" ]; then
	grep -q "worker died" "$T_DIR/usbd.log" || fail "an OOM kill hit something other than the balloon worker"
	echo "note: the kernel sacrificed the balloon worker (the safety net); the app survived"
fi
grep -q "deflating" "$T_DIR/usbd.log" || fail "usbd never deflated for the burst"
grep "deflating" "$T_DIR/usbd.log" | head -n 5
wait_for 60 "the balloon to inflate again after the burst" inflated
kill -0 "$USBD_PID" || fail "usbd died"
stop_usbd
[ "$USBD_STATUS" = 0 ] || fail "usbd exited with $USBD_STATUS after SIGTERM"
[ ! -d "$CG/$balloon" ] || fail "usbd left its cgroup $balloon behind in the root"
pass "whole-host mode: inflated to 384 MiB, deflated for a $burst MiB burst that survived, inflated again"
