#!/usr/bin/env bash
# The worker keeps only CAP_IPC_LOCK: after usbd starts it (and again after a restart), /proc/WORKER/status shows
# CAP_IPC_LOCK alone in its effective, permitted and bounding sets, none inheritable or ambient, and no_new_privs;
# it still locks its chunks (the grab reaches the lower bound, VmLck shows it) while the controller keeps its own.
source "$(dirname "$0")/lib.sh"
require_root_v1

ipc_lock=0000000000004000  # 1 << CAP_IPC_LOCK (14)
mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 128M --api-sock off --spot-listen off \
  --worker-cooldown-ms 200
balloon=$T_NAME/usbd-balloon

worker_pid() { [[ -f $CGV1/$balloon/cgroup.procs ]] && head -n 1 "$CGV1/$balloon/cgroup.procs"; }
grabbed() { [[ -n $(worker_pid) ]] && (( $(cg_get "$balloon" memory.usage_in_bytes) >= (128 << 20) )); }
cap() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

check_worker() {
  local pid=$1 set
  for set in CapEff CapPrm CapBnd; do
    [[ $(cap "$pid" $set) == "$ipc_lock" ]] || fail "worker $pid $set is $(cap "$pid" $set), not CAP_IPC_LOCK alone"
  done
  for set in CapInh CapAmb; do
    [[ $(cap "$pid" $set) == 0000000000000000 ]] || fail "worker $pid $set is $(cap "$pid" $set)"
  done
  [[ $(cap "$pid" NoNewPrivs) == 1 ]] || fail "worker $pid has no_new_privs $(cap "$pid" NoNewPrivs)"
  [[ $(cat "/proc/$pid/oom_score_adj") == 1000 ]] || fail "worker $pid oom_score_adj $(cat "/proc/$pid/oom_score_adj")"
  # AddressSanitizer's runtime turns mlock into a no-op; elsewhere the lock must hold with the kept capability.
  if ! grep -q __asan_init "$USBD"; then
    local lck
    lck=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid/status")
    (( lck >= 128 * 1024 )) || fail "worker $pid has only $lck kB locked"
  fi
  echo "worker $pid: CapEff $(cap "$pid" CapEff) CapBnd $(cap "$pid" CapBnd) NoNewPrivs 1"
}

wait_for 30 "the worker to grab 128 MiB" grabbed
first=$(worker_pid)
check_worker "$first"
[[ $(cap "$USBD_PID" CapEff) != "$ipc_lock" ]] || fail "the controller lost its capabilities too"

kill -9 "$first"
restarted() { local p; p=$(worker_pid) && [[ -n $p && $p != "$first" ]] && grabbed; }
wait_for 30 "a new worker after the cool-down" restarted
check_worker "$(worker_pid)"
kill -0 "$USBD_PID" || fail "usbd died"
pass "the worker runs with CAP_IPC_LOCK alone, before and after a restart"
