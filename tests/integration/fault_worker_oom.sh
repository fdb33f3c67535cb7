#!/usr/bin/env bash
# The worker OOM-killed for real: a 1 GiB domain, the balloon at a 640 MiB lower bound, and an app burst of 600 MiB
# that does not fit beside it. usbd runs with --no-events and is stopped (SIGSTOP) for the burst, so nothing but
# the kernel can make room: the kernel must kill the worker (oom_score_adj 1000), not the app, which completes and
# exits 0. Once continued, usbd logs the death and starts a new worker after the cool-down, which grabs again.
source "$(dirname "$0")/lib.sh"
require_root_v1

mkcg "$T_NAME" $((1 << 30))
# Swap (another test's swap file, say) would let the app's burst fit; memory+swap capped at the limit forbids it.
echo $((1 << 30)) > "$CGV1/$T_NAME/memory.memsw.limit_in_bytes"
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 640M --headroom 64M --no-events --worker-cooldown-ms 500 \
  --api-sock off --spot-listen off
balloon=$T_NAME/usbd-balloon

worker_pid() { [[ -f $CGV1/$balloon/cgroup.procs ]] && head -n 1 "$CGV1/$balloon/cgroup.procs"; }
grabbed() { [[ -n $(worker_pid) ]] && (( $(cg_get "$balloon" memory.usage_in_bytes) >= (640 << 20) )); }
oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$CGV1/$1/memory.oom_control"; }

wait_for 30 "the balloon to reach 640 MiB" grabbed
victim=$(worker_pid)
echo "worker $victim holds $(mib "$(cg_get "$balloon" memory.usage_in_bytes)") MiB of the 1 GiB domain"

kill -STOP "$USBD_PID"
set +e
run_in_cg "$T_NAME/app" "$HELPERS/workload" burst 600M > "$T_DIR/burst.out" 2>&1
status=$?
set -e
kill -CONT "$USBD_PID"
cat "$T_DIR/burst.out"
(( status == 0 )) || fail "the app's burst exited with status $status (137 = OOM-killed)"
[[ $(oom_kills "$T_NAME/app") == 0 ]] || fail "the kernel killed in the app cgroup: $(cat "$CGV1/$T_NAME/app/memory.oom_control")"
# v1 counts a kill in the victim's own cgroup: the worker's.
(( $(oom_kills "$balloon") >= 1 )) || fail "the kernel killed nothing in the worker's cgroup: $(cat "$CGV1/$balloon/memory.oom_control")"

# The stopped controller could not reap it: until it runs again the killed worker is a zombie.
logged() { grep -q "balloon worker died from signal 9" "$T_DIR/usbd.log"; }
wait_for 10 "usbd to log the worker's death" logged
[[ ! -e /proc/$victim ]] || fail "worker $victim is still there: $(grep State "/proc/$victim/status")"
restarted() { local p; p=$(worker_pid) && [[ -n $p && $p != "$victim" ]] && grabbed; }
wait_for 30 "a new worker to grab again after the cool-down" restarted
kill -0 "$USBD_PID" || fail "usbd died"
grep -E "balloon worker" "$T_DIR/usbd.log" | tail -n 3
pass "the kernel sacrificed worker $victim, the app's burst completed, worker $(worker_pid) replaced it"
