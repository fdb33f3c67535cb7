# Shared helpers for usbd's integration tests (sourced). Each test makes its own cgroups under a unique name
# and removes them on any exit, stops every process it started and turns off swap it turned on.
# The same script runs on cgroup v1 (this project's machines: the memory controller at /sys/fs/cgroup/memory) and
# on cgroup v2 (the Debian guest of tests/vm, from a systemd unit with Delegate=yes): tests speak to cgroups only
# through the cg_* helpers below, and name them from T_NAME, which lies in the cgroup the tests may use.
set -euo pipefail

BUILD=${USBD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
USBD=$BUILD/usbd
USBDCTL=$BUILD/usbdctl
HELPERS=$BUILD/helpers
CGV1=/sys/fs/cgroup/memory  # the v1-only tests' hierarchy (require_v1)
# The memory hierarchy: CG its root, CG_VER 1 or 2 (0: none). Cgroup names (T_NAME, usbd's --domain and app
# arguments) are relative to CG, as usbd resolves them.
if [[ -f $CGV1/cgroup.event_control ]]; then
  CG=$CGV1 CG_VER=1
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  CG=/sys/fs/cgroup CG_VER=2
else
  CG='' CG_VER=0
fi
# In the guest (tests/vm/debian/run-cases): VMTEST_CGPREFIX is the delegated cgroup the tests may use (relative to
# CG, with a trailing slash), VMTEST_SWAP the disk for swap. T_GUEST=1 there: a test under software emulation
# shrinks its sizes (t_size), never its assertions.
T_GUEST=${VMTEST_GUEST:-0}
T_NAME=${VMTEST_CGPREFIX:-}usbd-test-$$-$(basename "$0" .sh)
# A test killed outright (ctest's timeout sends SIGKILL) cannot clean up: the next test sweeps what such a test
# left, found by its owner's pid (in the cgroup's name, in T_DIR/owner) being gone: its processes, cgroups, swap
# file and directory. Nothing else is touched.
sweep_dead_tests() {
  local d c pid
  for d in /tmp/usbd-test.*/owner; do
    [[ -f $d ]] && pid=$(<"$d") && [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null || continue
    d=${d%/owner}
    swapoff "$d/swapfile" 2>/dev/null || true
    rm -rf "$d"
  done
  [[ -n $CG ]] || return 0
  for c in "$CG/${VMTEST_CGPREFIX:-}"usbd-test-*; do
    pid=${c##*/usbd-test-}; pid=${pid%%-*}
    [[ -d $c && $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null || continue
    find "$c" -depth -type d 2>/dev/null | while read -r d; do
      xargs -r kill -9 < "$d/cgroup.procs" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
    done
  done
}
sweep_dead_tests
T_DIR=$(mktemp -d /tmp/usbd-test.XXXXXX)
echo $$ > "$T_DIR/owner"
# The options that keep a test's usbd off the machine's own files (/var/lib/usbd): every test that runs "$USBD" as
# a daemon passes them first (later options win).
USBD_PRIVATE=(--harvest-journal "$T_DIR/harvest.journal" --state-file "$T_DIR/targets.json")
T_PIDS=()
T_CGROUPS=()
T_SWAPS=()
T_ZRAMS=()

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$T_DIR"/usbd*.log; do
    # without the status lines (--status-interval 1), which would hide the rest
    [[ -f $f ]] && { echo "--- ${f##*/} (tail, no status lines) ---" >&2; grep -v ': info: grab ' "$f" | tail -n 40 >&2; }
  done
  for f in "$T_DIR"/*.log; do  # the test's other programs: the last lines say where they were
    [[ -f $f && ${f##*/} != usbd*.log ]] && { echo "--- ${f##*/} (tail) ---" >&2; tail -n 8 "$f" >&2; }
  done
  exit 1
}
# skip: exit 0 for ctest on the host; 77 in the guest, whose runner reports it as a SKIP.
skip() { echo "SKIP: $*" >&2; if ((T_GUEST)); then exit 77; fi; exit 0; }
pass() { echo "PASS: $*"; }

# t_size HOST GUEST: HOST on this machine, GUEST in the guest (2.5 GiB of memory, software emulation).
t_size() { if ((T_GUEST)); then echo "$2"; else echo "$1"; fi; }

require_root() {
  [[ $(id -u) -eq 0 ]] || skip "needs root"
  ((CG_VER)) || skip "needs a memory controller (cgroup v1 at $CGV1 or cgroup v2)"
}
# require_v1 WHAT: for what only cgroup v1 has (usage-threshold eventfds, memsw, lowering limit_in_bytes).
require_v1() { ((CG_VER == 1)) || skip "needs the cgroup v1 memory controller: ${1:-}"; }
require_root_v1() { require_root; require_v1 "${1:-this test speaks cgroup v1 files}"; }

# mkcg NAME [LIMIT_BYTES]: creates a memory cgroup (removed at exit, children first) with that hard limit. On v2
# the memory controller is enabled for the parent's children first (the parent must hold no processes).
mkcg() {
  if ((CG_VER == 2)); then
    local parent
    parent=$CG/$(dirname "$1")
    grep -qw memory "$parent/cgroup.subtree_control" || echo +memory > "$parent/cgroup.subtree_control"
  fi
  mkdir "$CG/$1"
  T_CGROUPS=("$1" "${T_CGROUPS[@]}")
  [[ -z ${2:-} ]] || cg_set_limit "$1" "$2"
}

cg_get() { cat "$CG/$1/$2"; }
# cg_file WHAT: the file of this hierarchy for limit, usage or swap_setting (what keeps a cgroup out of swap:
# v1 memory.swappiness 0, v2 memory.swap.max 0).
cg_file() {
  case $CG_VER:$1 in
    1:limit) echo memory.limit_in_bytes ;;  2:limit) echo memory.max ;;
    1:usage) echo memory.usage_in_bytes ;;  2:usage) echo memory.current ;;
    1:swap_setting) echo memory.swappiness ;; 2:swap_setting) echo memory.swap.max ;;
    *) echo "cg_file: unknown $1" >&2; return 1 ;;
  esac
}
cg_set_limit() { echo "$2" > "$CG/$1/$(cg_file limit)"; }
# cg_limit NAME: the hard limit in bytes (v2 "max" as is).
cg_limit() { cat "$CG/$1/$(cg_file limit)"; }
# cg_usage NAME: memory usage in bytes, 0 when the cgroup does not exist (yet or any more).
cg_usage() { cat "$CG/$1/$(cg_file usage)" 2>/dev/null || echo 0; }
# cg_procs NAME: its processes, one a line (nothing when it does not exist).
cg_procs() { cat "$CG/$1/cgroup.procs" 2>/dev/null || true; }
# cg_stat NAME KEY: a value of memory.stat (the keys differ: v1 total_rss, total_swap; v2 anon, ...).
cg_stat() { awk -v k="$2" '$1 == k { print $2 }' "$CG/$1/memory.stat"; }
# cg_swap NAME: its swap in bytes, with descendants (v1 memory.stat total_swap, which needs memsw accounting;
# v2 memory.swap.current).
cg_swap() { if ((CG_VER == 1)); then cg_stat "$1" total_swap; else cat "$CG/$1/memory.swap.current"; fi; }
# cg_oom_kills NAME: the OOM kills in the cgroup and its descendants so far (v1 memory.oom_control, v2 memory.events).
cg_oom_kills() {
  local f=memory.oom_control
  ((CG_VER == 1)) || f=memory.events
  awk '$1 == "oom_kill" { print $2 }' "$CG/$1/$f"
}
# cg_swap_setting NAME: what says whether the cgroup may swap (cg_file swap_setting); cg_kept_out_of_swap NAME.
cg_swap_setting() { cat "$CG/$1/$(cg_file swap_setting)"; }
cg_kept_out_of_swap() { [[ $(cg_swap_setting "$1") == 0 ]]; }
# cg_forbid_swap NAME: the cgroup may not swap at all (v1: memsw limit = limit, skips without memsw accounting;
# v2: memory.swap.max 0).
cg_forbid_swap() {
  if ((CG_VER == 1)); then
    [[ -f $CG/$1/memory.memsw.limit_in_bytes ]] || skip "needs memsw accounting (swapaccount=1)"
    cg_limit "$1" > "$CG/$1/memory.memsw.limit_in_bytes"
  else
    echo 0 > "$CG/$1/memory.swap.max"
  fi
}

# Kills every process left in a cgroup (so it can be removed).
cg_kill_all() {
  local p
  [[ -d $CG/$1 ]] || return 0
  if ((CG_VER == 2)); then echo 1 > "$CG/$1/cgroup.kill"; return 0; fi
  for p in $(cg_procs "$1"); do kill -9 "$p" 2>/dev/null || true; done
}

cleanup() {
  local rc=$? p c i z
  set +e
  for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${T_PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  for c in "${T_CGROUPS[@]}"; do
    [[ -d $CG/$c ]] || continue
    # children usbd may have made, deepest first
    find "$CG/$c" -mindepth 1 -depth -type d 2>/dev/null | while read -r d; do
      cg_kill_all "${d#"$CG"/}"
      for i in $(seq 20); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
    done
    cg_kill_all "$c"
    for i in $(seq 30); do [[ -d $CG/$c ]] || break; rmdir "$CG/$c" 2>/dev/null && break; sleep 0.1; done
  done
  for s in "${T_SWAPS[@]}"; do swapoff "$s" 2>/dev/null || true; [[ $s == /dev/* ]] || rm -f "$s"; done
  for z in "${T_ZRAMS[@]}"; do
    for i in $(seq 30); do echo "$z" > /sys/class/zram-control/hot_remove 2>/dev/null && break; sleep 0.1; done
  done
  rm -rf "$T_DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_usbd ARGS...: starts usbd in the background, logging to $T_DIR/usbd.log; sets USBD_PID. Its harvest journal
# is the test's own (ARGS may name another): usbd locks it, so a shared default would refuse a second test's usbd.
# So is its state file: targets one test sets at run time must not reach the next test's usbd.
start_usbd() {
  "$USBD" --status-interval 1 --apps-sock "$T_DIR/apps.sock" "${USBD_PRIVATE[@]}" "$@" \
    >"$T_DIR/usbd.log" 2>&1 &
  USBD_PID=$!
  T_PIDS+=("$USBD_PID")
}

# run_in_cg CG CMD...: runs CMD inside cgroup CG (foreground); returns its status.
run_in_cg() {
  local cg=$1; shift
  bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$cg" "$@"
}

# spawn_in_cg CG CMD...: starts CMD in the background inside CG; $! is CMD's own pid (bash execs it).
spawn_in_cg() {
  local cg=$1; shift
  bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$cg" "$@" &
}

# make_swap MIB: swap of at least MIB MiB this test owns (turned off at exit): a swap file, or in the guest its swap
# disk (VMTEST_SWAP); skips if swapon refuses it.
make_swap() {
  local f=$T_DIR/swapfile
  if [[ -n ${VMTEST_SWAP:-} ]]; then
    f=$VMTEST_SWAP
    (( $(blockdev --getsize64 "$f") >= $1 << 20 )) || fail "the guest's swap disk is smaller than $1 MiB"
  else
    fallocate -l "$1M" "$f" 2>/dev/null || dd if=/dev/zero of="$f" bs=1M count="$1" status=none
    chmod 600 "$f"
  fi
  T_SWAPS+=("$f")
  mkswap "$f" >/dev/null
  swapon "$f" || skip "swapon refused $f here"
}

# make_zram_swap MIB PRIORITY: a zram swap device of MIB MiB this test makes (hot_add), swaps on with PRIORITY and
# removes at exit (swapoff, hot_remove); never another one. Sets ZRAM_DEV. Skips without zram-control.
make_zram_swap() {
  local id
  [[ -w /sys/class/zram-control/hot_add ]] || skip "no zram here (/sys/class/zram-control/hot_add)"
  id=$(cat /sys/class/zram-control/hot_add) || skip "zram hot_add refused"
  T_ZRAMS+=("$id")
  echo "$1M" > "/sys/block/zram$id/disksize"
  mkswap "/dev/zram$id" >/dev/null
  T_SWAPS+=("/dev/zram$id")
  swapon -p "$2" "/dev/zram$id" || skip "swapon refused /dev/zram$id here"
  ZRAM_DEV=/dev/zram$id
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s until it succeeds.
# The bounds only catch hangs, so they stretch on a busy machine: by T_SLOW, the load average per CPU when the test
# started, rounded up, 1 to 4 (USBD_TEST_SLOW sets it). The harvester paces itself on the app, which a CPU hog slows.
T_SLOW=${USBD_TEST_SLOW:-$(awk -v n="$(nproc)" '{ s = int($1 / n + 0.999); print (s < 1 ? 1 : (s > 4 ? 4 : s)) }' \
  /proc/loadavg)}
wait_for() {
  local secs=$(($1 * T_SLOW)) what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < end)) || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.1
  done
}

mib() { echo $(( $1 / 1048576 )); }

# free_port: a TCP port on 127.0.0.1 that no socket uses now, below the ephemeral range (32768-60999 here): a port
# the kernel picks (bind to 0) lies in that range, where a client's connection elsewhere can take it before usbd
# binds it. Random, so that tests started one after another differ.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    [[ -n $(ss -tanH "sport = :$p") ]] || { echo "$p"; return; }
  done
  fail "no free TCP port found"
}
