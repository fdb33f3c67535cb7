#!/usr/bin/env bash
# What a request costs the server: spot memory served by the real usbd worker vs Debian's redis-server 7, on the
# same request stream, both on loopback on private ports, set up as bench/bench_spot.sh sets them up (usbd in its
# own v1 cgroup domain usbd-bench-cpu-PID holding 256 MiB, --grab-lower 256M; redis maxmemory 256mb
# allkeys-lru, no persistence). The stream: redis-benchmark -c 50 -r 100000, SET then GET (separate runs, the
# keyspace emptied before the SET), pipelines of 1 and 16, values of 64 bytes and 4 KiB.
#   cpu (default): the servers take turns (the first one alternating by round), ROUNDS rounds, -n 30000 at -P 1
#      and 150000 at -P 16. Per run, the serving process's CPU time (user + system; the usbd worker, the process
#      that serves the store, and redis-server) from a cpuacct cgroup of its own (ns, all its threads, gone ones
#      too), or utime+stime of /proc/PID/stat (10 ms ticks) without the cpuacct controller. Prints CPU
#      microseconds per request, medians over the rounds, and usbd/redis. Beside them (FLOOR=1, the default) the
#      floor: bench/bench_floor_server, a server of the same kind (epoll, a recv and a send per ready client) that
#      keeps no values and answers each request with the shortest reply that carries what a store must send (+OK;
#      for a GET of a key it was SET, a bulk of the last value's length, else a nil); what it spends is what the
#      kernel takes per request, and no server of that kind can spend less. Printed as floor_us/req and floor/redis.
#   callgrind: each server under valgrind --tool=callgrind, its counters zeroed before the stream and dumped after
#      it: instructions executed in user space per request, -n CG_REQUESTS (10000) per run; deterministic up to the
#      random keys, and the kernel's work is not counted. usbd's side is its spot tenant run standalone by
#      tests/helpers/spot_server (the worker's loop in miniature, 128 chunks = 256 MiB): valgrind 3.19 cannot
#      start the worker image (posix_spawn and close_range fail with ENOSYS under it).
# Usage: bench/bench_spot_cpu.sh [cpu|callgrind] [BUILD_DIR [ROUNDS]]   (defaults: cpu, build, 3), as root, after
# building usbd. Environment: SIZES ("64 4096"), PIPES ("1 16"), TESTS ("set get"), CG_REQUESTS (10000).
# cpu takes about 1-2 minutes at 3 rounds, callgrind about 5-10.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-cpu}
B=${2:-build}
ROUNDS=${3:-3}
SIZES=${SIZES:-64 4096}
PIPES=${PIPES:-1 16}
TESTS=${TESTS:-set get}
CG_REQUESTS=${CG_REQUESTS:-10000}
FLOOR=${FLOOR:-1}
[[ $MODE == cpu ]] || FLOOR=0
CG=/sys/fs/cgroup/memory
ACCT=/sys/fs/cgroup/cpuacct
D=usbd-bench-cpu-$$
KEYS=100000
MIB=$((1 << 20))

[[ $MODE == cpu || $MODE == callgrind ]] || { echo "mode: cpu or callgrind" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -f $CG/cgroup.event_control ]] || { echo "needs the cgroup v1 memory controller at $CG" >&2; exit 1; }
for f in "$B/usbd" "$B/helpers/spot_server" "$B/bench/bench_floor_server"; do [[ -x $f ]] || { echo "build $f first" >&2; exit 1; }; done
for c in redis-server redis-benchmark redis-cli; do command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }; done
if [[ $MODE == callgrind ]]; then
	for c in valgrind callgrind_control; do command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }; done
fi

OUT=$(mktemp -d /tmp/usbd-bench-cpu.XXXXXX)
upid= rpid= fpid=
stop_pid() { [[ -n $1 ]] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
	set +e
	stop_pid "$upid"
	stop_pid "$rpid"
	stop_pid "$fpid"
	for d in "$CG/$D/usbd-balloon" "$CG/$D/app" "$CG/$D" "$ACCT/$D/usbd" "$ACCT/$D/redis" "$ACCT/$D/floor" \
		"$ACCT/$D"; do
		[[ -d $d ]] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in $(seq 30); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$CG/$D" "$CG/$D/app"
echo $((4 << 30)) >"$CG/$D/memory.limit_in_bytes"
use_acct=0
if [[ $MODE == cpu && -f $ACCT/cpuacct.usage ]]; then
	mkdir "$ACCT/$D" "$ACCT/$D/usbd" "$ACCT/$D/redis" "$ACCT/$D/floor"
	use_acct=1
fi

free_port() {
	local p=$1
	while (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
# below the ephemeral range (32768 up): no client connection can hold the port between the check and the bind
UPORT=$(free_port $((20000 + $$ % 12000)))
RPORT=$(free_port $((UPORT + 1)))
FPORT=$(free_port $((RPORT + 1)))

info() { redis-cli -p "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }
wait_for() { # SECONDS WHAT CMD...
	local end=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		((SECONDS < end)) || { echo "timed out waiting for $what" >&2; tail -n 20 "$OUT"/*.log >&2; exit 1; }
		sleep 0.2
	done
}
holds() { (($(info "$UPORT" spot_capacity || echo 0) >= $1)); }
answers() { [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]]; }

VG=()
if [[ $MODE == callgrind ]]; then
	VG=(valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$OUT/cg.%p"
		--log-file="$OUT/vg.%p.log")
fi
start_usbd() {
	if [[ $MODE == callgrind ]]; then
		"${VG[@]}" "$B/helpers/spot_server" --listen "127.0.0.1:$UPORT" --chunks 128 </dev/null \
			>"$OUT/spot.out" 2>>"$OUT/usbd.log" &
		upid=$!
		wait_for 120 "spot_server to answer" answers "$UPORT"
		usrv=$upid
		return
	fi
	"$B/usbd" --domain "$D" "$D/app" --grab-lower 256 --spot-listen "127.0.0.1:$UPORT" \
		--api-sock "$OUT/api.sock" --apps-sock off --harvest-journal "$OUT/journal" --status-interval 0 \
		2>>"$OUT/usbd.log" &
	upid=$!
	wait_for 120 "usbd to hold 256 MiB" holds $((256 * MIB))
	usrv=$(cat "$CG/$D/usbd-balloon/cgroup.procs")
	[[ $(wc -w <<<"$usrv") == 1 ]] || { echo "want one worker process, found: $usrv" >&2; exit 1; }
	((use_acct == 0)) || echo "$usrv" >"$ACCT/$D/usbd/cgroup.procs"
}
start_redis() {
	"${VG[@]}" redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --maxmemory 256mb \
		--maxmemory-policy allkeys-lru --daemonize no --dir "$OUT" >>"$OUT/redis.log" 2>&1 &
	rpid=$!
	wait_for 120 "redis-server to answer" answers "$RPORT"
	rsrv=$rpid
	((use_acct == 0)) || echo "$rsrv" >"$ACCT/$D/redis/cgroup.procs"
}
start_floor() {
	"$B/bench/bench_floor_server" "$FPORT" 2>>"$OUT/floor.log" &
	fpid=$!
	wait_for 30 "the floor server to answer" answers "$FPORT"
	((use_acct == 0)) || echo "$fpid" >"$ACCT/$D/floor/cgroup.procs"
}

# CPU time of a server so far, ns.
cpu_ns() { # SERVER
	local pid=$usrv
	[[ $1 == redis ]] && pid=$rsrv
	[[ $1 == floor ]] && pid=$fpid
	if ((use_acct)); then
		cat "$ACCT/$D/$1/cpuacct.usage"
	else
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' \
			"/proc/$pid/stat"
	fi
}
# Instructions executed so far (since the last zeroing) by a server under callgrind.
cg_zero() { callgrind_control -z "$1" >/dev/null 2>&1; }
cg_instr() { # PID
	local f
	callgrind_control -d "$1" >/dev/null 2>&1
	f=$(ls -t "$OUT"/cg."$1"* | head -n 1)
	awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$f"
}

# run SERVER PIPE SIZE TEST N: one redis-benchmark run -> cost per request (CPU ns, or instructions)
run() {
	local port=$UPORT pid=$usrv before after
	[[ $1 == redis ]] && port=$RPORT pid=$rsrv
	[[ $1 == floor ]] && port=$FPORT pid=$fpid
	[[ $5 == set ]] && redis-cli -p "$port" FLUSHALL >/dev/null
	if [[ $MODE == cpu ]]; then before=$(cpu_ns "$1"); else cg_zero "$pid"; fi
	redis-benchmark -p "$port" -c 50 -P "$2" -d "$3" -n "$5" -r "$KEYS" -t "$4" --csv >"$OUT/rb.out" 2>"$OUT/rb.err" ||
		true
	if [[ $MODE == cpu ]]; then after=$(cpu_ns "$1"); else after=$(cg_instr "$pid"); before=0; fi
	[[ ! -s $OUT/rb.err ]] && grep -q "^\"${4^^}\"," "$OUT/rb.out" ||
		{ echo "redis-benchmark failed on $1:" >&2; cat "$OUT/rb.out" "$OUT/rb.err" >&2; exit 1; }
	awk -v a="$after" -v b="$before" -v n="$5" 'BEGIN { printf "%.6f\n", (a - b) / n }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "uptime: $(uptime)"
start_usbd
start_redis
((FLOOR == 0)) || start_floor
if [[ $MODE == cpu ]]; then
	echo "== CPU per request (user + system of the serving process), redis-benchmark -c 50 -r $KEYS," \
		"median of $ROUNDS rounds, $([[ $use_acct == 1 ]] && echo cpuacct || echo /proc/PID/stat)"
	if ((FLOOR)); then
		printf '%-4s %-4s %-5s %7s | %12s %12s %12s | %10s %11s\n' test pipe size n usbd_us/req redis_us/req \
			floor_us/req usbd/redis floor/redis
	else
		printf '%-4s %-4s %-5s %7s | %12s %12s | %10s\n' test pipe size n usbd_us/req redis_us/req usbd/redis
	fi
else
	ROUNDS=1
	echo "== instructions per request under callgrind (user space only), redis-benchmark -c 50 -r $KEYS," \
		"-n $CG_REQUESTS"
	printf '%-4s %-4s %-5s %7s | %12s %12s | %10s\n' test pipe size n usbd_ir/req redis_ir/req usbd/redis
fi
for pipe in $PIPES; do
	for size in $SIZES; do
		n=$CG_REQUESTS
		[[ $MODE == cpu ]] && n=$(((pipe == 1) ? 30000 : 150000))
		rm -f "$OUT"/res-*
		for r in $(seq "$ROUNDS"); do
			if ((r % 2)); then order="usbd redis"; else order="redis usbd"; fi
			# the floor last in odd rounds, first in even ones
			((FLOOR == 0)) || { if ((r % 2)); then order="$order floor"; else order="floor $order"; fi; }
			for s in $order; do
				for t in $TESTS; do run "$s" "$pipe" "$size" "$t" "$n" >>"$OUT/res-$s-$t"; done
			done
		done
		for t in $TESTS; do
			u=$(median <"$OUT/res-usbd-$t") rr=$(median <"$OUT/res-redis-$t")
			if ((FLOOR)); then
				f=$(median <"$OUT/res-floor-$t")
				awk -v t="${t^^}" -v p="$pipe" -v s="$size" -v n="$n" -v u="$u" -v r="$rr" -v f="$f" 'BEGIN {
					printf "%-4s %-4s %-5s %7d | %12.2f %12.2f %12.2f | %9.2fx %10.2fx\n", t, p, s, n,
						u / 1e3, r / 1e3, f / 1e3, u / r, f / r }'
			elif [[ $MODE == cpu ]]; then
				awk -v t="${t^^}" -v p="$pipe" -v s="$size" -v n="$n" -v u="$u" -v r="$rr" 'BEGIN {
					printf "%-4s %-4s %-5s %7d | %12.2f %12.2f | %9.2fx\n", t, p, s, n, u / 1e3, r / 1e3, u / r }'
			else
				awk -v t="${t^^}" -v p="$pipe" -v s="$size" -v n="$n" -v u="$u" -v r="$rr" 'BEGIN {
					printf "%-4s %-4s %-5s %7d | %12.0f %12.0f | %9.2fx\n", t, p, s, n, u, r, u / r }'
			fi
		done
	done
done
echo "uptime: $(uptime)"
echo "(whole bench: ${SECONDS} s)"
