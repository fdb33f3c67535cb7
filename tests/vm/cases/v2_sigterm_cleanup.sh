#!/bin/sh
# cgroup v2, domain mode: a worker killed with SIGKILL gives its memory back at once and is restarted after the
# cool-down (noticed through its pidfd); SIGTERM then frees everything, removes the cgroup usbd created, and
# usbd exits 0.
. /vmtests/lib.sh

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 96M --api-sock off --spot-listen off \
	--worker-cooldown-ms 1000
balloon=$T_NAME/usbd-balloon
inflated() { [ "$(cg_cur "$balloon")" -ge $((96 << 20)) ]; }
wait_for 60 "the balloon to reach 96 MiB" inflated

worker=$(worker_pid "$T_NAME")
[ -n "$worker" ] || fail "no worker process in $balloon"
[ "$(cat "/proc/$worker/oom_score_adj")" = 1000 ] || fail "worker oom_score_adj is not 1000"
adj=$(cat "/proc/$USBD_PID/oom_score_adj")
[ "$adj" -le -500 ] || fail "controller oom_score_adj $adj is not strongly negative"

kill -9 "$worker"
released() { [ "$(cg_cur "$balloon")" -lt $((16 << 20)) ]; }
wait_for 20 "the killed worker's memory to return" released
new_worker() { local p; p=$(worker_pid "$T_NAME"); [ -n "$p" ] && [ "$p" != "$worker" ]; }
wait_for 30 "a new worker after the cool-down" new_worker
wait_for 60 "the new worker to re-inflate" inflated
worker=$(worker_pid "$T_NAME")

stop_usbd
[ "$USBD_STATUS" = 0 ] || fail "usbd exited with $USBD_STATUS after SIGTERM"
[ ! -d "$CG/$balloon" ] || fail "usbd left its cgroup $balloon behind"
kill -0 "$worker" 2>/dev/null && fail "the worker is still alive"
usage=$(cg_cur "$T_NAME")
[ "$usage" -lt $((16 << 20)) ] || fail "domain usage still $(mib "$usage") MiB after exit"
pass "worker restarted after its cool-down; SIGTERM freed everything and removed usbd's cgroup (v2)"
