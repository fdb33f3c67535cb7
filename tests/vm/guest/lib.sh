# Shared helpers for the guest's case scripts (POSIX sh: busybox ash or Debian's dash; sourced). Each case makes
# its own cgroups (cgroup v2) and removes them on any exit, and stops every process it started.
# The guest's runner sets where things are: VMTEST_CGPREFIX, the cgroup (relative to /sys/fs/cgroup, with a
# trailing slash) below which the case may make its own (empty: the root, in the busybox guest; under systemd,
# the test unit's delegated cgroup); VMTEST_BIN, the directory of usbd, usbdctl and helpers/; VMTEST_SWAP, the
# disk for swap. Cases name their cgroups from T_NAME, which carries that prefix, so they run unchanged in both.
set -eu

CG=/sys/fs/cgroup
USBD=${VMTEST_BIN:-/usbd}/usbd
USBDCTL=${VMTEST_BIN:-/usbd}/usbdctl
HELPERS=${VMTEST_BIN:-/usbd}/helpers
SWAP_DEV=${VMTEST_SWAP:-/dev/vda}
T_NAME=${VMTEST_CGPREFIX:-}vm-$(basename "$0" .sh)
T_DIR=$(mktemp -d /tmp/vmtest.XXXXXX)
T_PIDS=""
T_CGROUPS=""
T_SWAPS=""

fail() {
	echo "FAIL: $*"
	if [ -f "$T_DIR/usbd.log" ]; then
		echo "--- usbd log (first 15 and last 30 lines) ---"
		head -n 15 "$T_DIR/usbd.log"
		echo "..."
		tail -n 30 "$T_DIR/usbd.log"
	fi
	exit 1
}
skip() { echo "SKIP: $*"; exit 77; }
pass() { echo "PASS: $*"; }

mib() { echo $(($1 / 1048576)); }

# mkcg NAME [MAX_BYTES]: creates a cgroup (removed at exit, children first) and lets the memory controller reach
# its parent's children. A parent must hold no processes of its own (cgroup v2's rule).
mkcg() {
	local parent
	parent=$(dirname "$1")
	[ "$parent" = . ] || echo +memory > "$CG/$parent/cgroup.subtree_control"
	mkdir "$CG/$1"
	T_CGROUPS="$1 $T_CGROUPS"
	[ -z "${2:-}" ] || echo "$2" > "$CG/$1/memory.max"
}

cg_get() { cat "$CG/$1/$2"; }
# cg_key NAME FILE KEY: the value of KEY in a flat-keyed file (memory.events, memory.stat).
cg_key() { awk -v k="$3" '$1 == k { print $2 }' "$CG/$1/$2"; }
# cg_cur NAME: memory.current, or 0 if the cgroup does not exist (yet or any more).
cg_cur() { cat "$CG/$1/memory.current" 2>/dev/null || echo 0; }

cleanup() {
	local rc=$? p c d
	set +e
	for p in $T_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $T_PIDS; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for c in $T_CGROUPS; do
		[ -d "$CG/$c" ] || continue
		echo 1 > "$CG/$c/cgroup.kill"
		for d in $(find "$CG/$c" -depth -type d); do
			for _ in $(seq 30); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
		done
	done
	for p in $T_SWAPS; do swapoff "$p"; done
	rm -rf "$T_DIR"
	exit $rc
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# start_usbd ARGS...: starts usbd in the background, logging to $T_DIR/usbd.log; sets USBD_PID.
start_usbd() {
	"$USBD" --status-interval 1 "$@" > "$T_DIR/usbd.log" 2>&1 &
	USBD_PID=$!
	T_PIDS="$T_PIDS $USBD_PID"
}

# stop_usbd: SIGTERM, then waits; sets USBD_STATUS to its exit status.
stop_usbd() {
	kill -TERM "$USBD_PID"
	set +e
	wait "$USBD_PID"
	USBD_STATUS=$?
	set -e
}

# run_in_cg CG CMD...: runs CMD inside cgroup CG in the foreground; returns its status.
run_in_cg() {
	local cg=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$cg" "$@"
}

# start_in_cg CG CMD...: runs CMD inside cgroup CG in the background (stopped at exit); sets LAST_PID.
start_in_cg() {
	local cg=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$cg" "$@" &
	LAST_PID=$!
	T_PIDS="$T_PIDS $LAST_PID"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds; fails at once if usbd (when one
# was started) has exited. Generous bounds: the guest runs under software emulation on a shared machine, so they
# bound a hang, they do not measure speed.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s) + secs))
	until "$@"; do
		[ -z "${USBD_PID:-}" ] || kill -0 "$USBD_PID" 2>/dev/null || fail "usbd exited while waiting for: $what"
		[ "$(date +%s)" -lt "$end" ] || fail "timed out after ${secs}s waiting for: $what"
		sleep 0.2
	done
}

# swap_on: makes the guest's swap disk ($SWAP_DEV) swap for this case (turned off at exit).
swap_on() {
	mkswap "$SWAP_DEV" > /dev/null || fail "mkswap $SWAP_DEV"
	swapon "$SWAP_DEV" || fail "swapon $SWAP_DEV"
	T_SWAPS="$T_SWAPS $SWAP_DEV"
}

# oom_kills: the OOM kills the kernel has made since boot.
oom_kills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }

# worker_pid CG: the balloon worker's pid in usbd's cgroup CG/usbd-balloon (empty if none).
worker_pid() { cat "$CG/$1/usbd-balloon/cgroup.procs" 2>/dev/null | head -n 1; }
