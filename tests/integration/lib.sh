# Shared helpers for usbd's integration tests (sourced). Each test makes its own cgroups under a unique name
# and removes them on any exit, stops every process it started and turns off swap it turned on.
set -euo pipefail

BUILD=${USBD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
USBD=$BUILD/usbd
USBDCTL=$BUILD/usbdctl
HELPERS=$BUILD/helpers
CGV1=/sys/fs/cgroup/memory
T_NAME=usbd-test-$$-$(basename "$0" .sh)
T_DIR=$(mktemp -d /tmp/usbd-test.XXXXXX)
T_PIDS=()
T_CGROUPS=()
T_SWAPS=()

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$T_DIR"/usbd*.log; do
    [[ -f $f ]] && { echo "--- ${f##*/} (tail) ---" >&2; tail -n 40 "$f" >&2; }
  done
  for f in "$T_DIR"/*.log; do  # the test's other programs: the last lines say where they were
    [[ -f $f && ${f##*/} != usbd*.log ]] && { echo "--- ${f##*/} (tail) ---" >&2; tail -n 8 "$f" >&2; }
  done
  exit 1
}
skip() { echo "SKIP: $*" >&2; exit 0; }
pass() { echo "PASS: $*"; }

require_root_v1() {
  [[ $(id -u) -eq 0 ]] || skip "needs root"
  [[ -f $CGV1/cgroup.event_control ]] || skip "needs the cgroup v1 memory controller at $CGV1"
}

# mkcg NAME [LIMIT_BYTES]: creates a v1 memory cgroup (removed at exit, children first).
mkcg() {
  mkdir "$CGV1/$1"
  T_CGROUPS=("$1" "${T_CGROUPS[@]}")
  [[ -z ${2:-} ]] || echo "$2" > "$CGV1/$1/memory.limit_in_bytes"
}

cg_get() { cat "$CGV1/$1/$2"; }

# Kills every process left in a cgroup (so it can be removed).
cg_kill_all() {
  local f=$CGV1/$1/cgroup.procs p
  [[ -f $f ]] || return 0
  for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null || true; done
}

cleanup() {
  local rc=$? p c i
  set +e
  for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${T_PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  for c in "${T_CGROUPS[@]}"; do
    [[ -d $CGV1/$c ]] || continue
    # children usbd may have made, deepest first
    find "$CGV1/$c" -mindepth 1 -depth -type d 2>/dev/null | while read -r d; do
      for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
      for i in $(seq 20); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
    done
    cg_kill_all "$c"
    for i in $(seq 30); do [[ -d $CGV1/$c ]] || break; rmdir "$CGV1/$c" 2>/dev/null && break; sleep 0.1; done
  done
  for s in "${T_SWAPS[@]}"; do swapoff "$s" 2>/dev/null || true; rm -f "$s"; done
  rm -rf "$T_DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_usbd ARGS...: starts usbd in the background, logging to $T_DIR/usbd.log; sets USBD_PID. Its harvest journal
# is the test's own (ARGS may name another): usbd locks it, so a shared default would refuse a second test's usbd.
# So is its state file: targets one test sets at run time must not reach the next test's usbd.
start_usbd() {
  "$USBD" --status-interval 1 --apps-sock "$T_DIR/apps.sock" --harvest-journal "$T_DIR/harvest.journal" \
    --state-file "$T_DIR/targets.json" "$@" \
    >"$T_DIR/usbd.log" 2>&1 &
  USBD_PID=$!
  T_PIDS+=("$USBD_PID")
}

# run_in_cg CG CMD...: runs CMD inside cgroup CG (foreground); returns its status.
run_in_cg() {
  local cg=$1; shift
  bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGV1/$cg" "$@"
}

# spawn_in_cg CG CMD...: starts CMD in the background inside CG; $! is CMD's own pid (bash execs it).
spawn_in_cg() {
  local cg=$1; shift
  bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGV1/$cg" "$@" &
}

# make_swap MIB: a swap file of MIB MiB this test owns (off and removed at exit); skips if swapon refuses it.
make_swap() {
  local f=$T_DIR/swapfile
  T_SWAPS+=("$f")
  fallocate -l "$1M" "$f" 2>/dev/null || dd if=/dev/zero of="$f" bs=1M count="$1" status=none
  chmod 600 "$f"
  mkswap "$f" >/dev/null
  swapon "$f" || skip "swapon refused a swap file here"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < end)) || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.1
  done
}

mib() { echo $(( $1 / 1048576 )); }

# free_port: a TCP port on 127.0.0.1 that nobody listens on now (the kernel's pick, so concurrent tests differ).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
