#!/usr/bin/env bash
# Core: a worker killed with SIGKILL is noticed and restarted after the cool-down, and the balloon re-inflates;
# SIGTERM frees everything, removes the cgroup usbd created, and exits 0.
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root

GRAB_MIB=$(t_size 256 128)
mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower "${GRAB_MIB}M" --api-sock off --spot-listen off \
  --worker-cooldown-ms 1500
balloon=$T_NAME/usbd-balloon
grab() { cg_usage "$balloon"; }
inflated() { (( $(grab) >= GRAB_MIB << 20 )); }
wait_for 30 "the balloon to reach $GRAB_MIB MiB" inflated

worker=$(cg_procs "$balloon")
[[ -n $worker ]] || fail "no worker process in $balloon"
[[ $(cat "/proc/$worker/oom_score_adj") == 1000 ]] || fail "worker oom_score_adj is not 1000"
ctl_adj=$(cat "/proc/$USBD_PID/oom_score_adj")
if bash -c 'echo -1 > /proc/self/oom_score_adj' 2>/dev/null; then
  (( ctl_adj < -500 )) || fail "controller oom_score_adj $ctl_adj is not strongly negative"
else
  # Without CAP_SYS_RESOURCE (as in this project's sandbox) nobody may lower oom_score_adj: usbd must say so.
  grep -q "cannot lower the controller's oom_score_adj" "$T_DIR/usbd.log" || fail "usbd hid a failed oom_score_adj write"
  echo "note: no CAP_SYS_RESOURCE here, the controller's oom_score_adj stays $ctl_adj (usbd warned)"
fi
rss=$(grep VmRSS "/proc/$USBD_PID/status" | awk '{print $2}')
echo "controller VmRSS: $rss KiB"
# AddressSanitizer's runtime (its shadow, and freed memory kept in quarantine) is most of such a build's RSS, and
# grows with how long the start took: the bound is usbd's own, checked in the plain build.
if grep -qa __asan_init "$USBD"; then
  echo "NOTE: $USBD is built with AddressSanitizer: the controller's RSS bound is not checked" >&2
else
  (( rss < 16384 )) || fail "controller RSS is large: $rss KiB"
fi

killed_at=$SECONDS
kill -9 "$worker"
released() { (( $(grab) < (64 << 20) )); }
wait_for 10 "the killed worker's memory to return" released
new_worker() { local p; p=$(cg_procs "$balloon"); [[ -n $p && $p != "$worker" ]]; }
wait_for 30 "a new worker after the cool-down" new_worker
(( SECONDS - killed_at >= 1 )) || fail "the worker was restarted before its cool-down"
grep -q "restarting in 1500 ms" "$T_DIR/usbd.log" || fail "usbd did not report the restart cool-down"
wait_for 30 "the new worker to re-inflate" inflated

kill -TERM "$USBD_PID"
set +e
wait "$USBD_PID"
status=$?
set -e
(( status == 0 )) || fail "usbd exited with $status after SIGTERM"
[[ ! -d $CG/$balloon ]] || fail "usbd left its cgroup $balloon behind"
kill -0 "$worker" 2>/dev/null && fail "the first worker is still alive"
usage=$(cg_usage "$T_NAME")
(( usage < (64 << 20) )) || fail "domain usage still $(mib "$usage") MiB after exit"
pass "worker restarted after its cool-down; SIGTERM freed everything and removed usbd's cgroup (cgroup v$CG_VER)"
