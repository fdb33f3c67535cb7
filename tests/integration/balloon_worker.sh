#!/bin/bash
# balloon_worker: a real, pinned balloon worker in a v1 memory cgroup of its own, driven through
# helpers/balloon_probe, which starts usbd's own worker role ($USBD) as usbd does. Checks that its grab is charged to the cgroup and locked, that a shrink gives memory
# back, that a SIGKILLed worker is reaped and its memory returns, and that a restarted worker stops on SIGTERM.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_v1

PROBE=$HELPERS/balloon_probe
[[ -x $PROBE ]] || fail "missing $PROBE (build the balloon_probe target)"
CG=$CGV1/$T_NAME
MIB=1048576

# Registered before it exists, so that the trap removes it whatever happens next.
T_CGROUPS=("$T_NAME" "${T_CGROUPS[@]}")
coproc PROBE_IO { exec "$PROBE" "$USBD" 2>"$T_DIR/probe.log"; }
T_PIDS+=("$PROBE_IO_PID")

# ask COMMAND...: one request to the probe; its answer lands in $ANSWER.
ask() {
  echo "$*" >&"${PROBE_IO[1]}"
  read -r -t 120 ANSWER <&"${PROBE_IO[0]}" || fail "no answer to '$*'; probe log: $(tail -n 5 "$T_DIR/probe.log")"
  [[ $ANSWER != error* ]] || fail "'$*' answered: $ANSWER"
}
usage() { cat "$CG/memory.usage_in_bytes"; }
vm_lck_kib() { awk '/^VmLck:/ { print $2 }' "/proc/$1/status"; }
# AddressSanitizer's runtime turns mlock into a no-op, so in such a build the lock cannot be checked.
LOCK_CHECKED=true
if grep -q __asan_init "$PROBE"; then  # clang links ASan statically: ldd does not show it
  echo "NOTE: $PROBE is built with AddressSanitizer, which disables mlock: VmLck is not checked" >&2
  LOCK_CHECKED=false
fi
# check_locked PID MIB: the worker has exactly MIB MiB locked.
check_locked() {
  $LOCK_CHECKED || return 0
  [[ $(vm_lck_kib "$1") == $(($2 * 1024)) ]] || fail "worker VmLck is $(vm_lck_kib "$1") kB, not $2 MiB"
}
check_worker() {
  grep -qx "$1" "$CG/cgroup.procs" || fail "worker $1 is not in $CG (procs: $(cat "$CG/cgroup.procs"))"
  [[ $(cat "/proc/$1/oom_score_adj") == 1000 ]] || fail "worker $1 oom_score_adj is $(cat "/proc/$1/oom_score_adj")"
}

ask create "$T_NAME"
[[ -d $CG ]] || fail "cgroup $CG was not created"
ask start
pid=${ANSWER#started }
check_worker "$pid"
base=$(usage)

ask grow 256M
read -r _ err changed grab <<<"$ANSWER"
[[ $err == 0 && $changed == $((256 * MIB)) && $grab == $((256 * MIB)) ]] || fail "grow 256M answered: $ANSWER"
grown=$(usage)
(( grown - base >= 256 * MIB )) || fail "cgroup usage rose by $(mib $((grown - base))) MiB, not 256"
check_locked "$pid" 256
ask stats
read -r _ grab chunks resident <<<"$ANSWER"
[[ $grab == $((256 * MIB)) && $chunks == 128 && $resident == $((256 * MIB)) ]] || fail "stats answered: $ANSWER"
pass "grow: usage +$(mib $((grown - base))) MiB, VmLck $(vm_lck_kib "$pid") kB" \
  "(THP: $(awk '/^AnonHugePages:/ { print $2 }' "/proc/$pid/smaps_rollup") kB)"

ask shrink 128M
read -r _ err changed grab <<<"$ANSWER"
[[ $err == 0 && $changed == $((128 * MIB)) && $grab == $((128 * MIB)) ]] || fail "shrink 128M answered: $ANSWER"
shrunk=$(usage)
# A few MiB of slack for kernel memory charged or freed meanwhile; the grab itself is returned at once.
(( grown - shrunk >= 124 * MIB )) || fail "cgroup usage fell by $(mib $((grown - shrunk))) MiB, not 128"
check_locked "$pid" 128
pass "shrink: usage -$(mib $((grown - shrunk))) MiB"

kill -9 "$pid"
ask wait-exit
[[ $ANSWER == "killed 9" ]] || fail "worker_reap after SIGKILL saw: $ANSWER"
dead=$(usage)
(( dead < base + 16 * MIB )) || fail "cgroup still charged $(mib "$dead") MiB after the worker died"
pass "SIGKILL: reaped, usage back to $(mib "$dead") MiB"

ask start
pid2=${ANSWER#started }
[[ $pid2 != "$pid" ]] || fail "restarted worker has the old pid $pid"
check_worker "$pid2"
ask grow 64M
[[ $ANSWER == "done 0 $((64 * MIB)) $((64 * MIB))" ]] || fail "grow 64M answered: $ANSWER"
ask stop
[[ -z $(cat "$CG/cgroup.procs") ]] || fail "cgroup still has tasks after worker_stop: $(cat "$CG/cgroup.procs")"
grep -q "usbd-worker: info: SIGTERM; releasing everything" "$T_DIR/probe.log" ||
  fail "the worker did not log its SIGTERM exit; probe log: $(tail -n 5 "$T_DIR/probe.log")"
pass "restart and worker_stop (SIGTERM)"

ask remove
[[ ! -d $CG ]] || fail "cgroup $CG still exists after remove"
# Gone already: lib.sh's cleanup must not look for it.
kept=()
for c in "${T_CGROUPS[@]}"; do [[ $c == "$T_NAME" ]] || kept+=("$c"); done
T_CGROUPS=("${kept[@]}")
pass "balloon worker"
