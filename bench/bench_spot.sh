#!/usr/bin/env bash
# Spot memory served by the real usbd worker vs Debian's redis-server 7, both on loopback on private ports,
# started and stopped here; usbd runs in its own v1 cgroup domain (usbd-bench-spot-PID, 4 GiB, removed at exit).
#   1. throughput: redis-benchmark SET and GET, 50 clients, pipelines of 1 and 16, values of 64 bytes and 4 KiB,
#      keyspace of 100000 keys, -n 30000 at -P 1 and 150000 at -P 16; both servers hold 256 MiB (usbd:
#      --grab-lower 256M; redis: maxmemory 256mb allkeys-lru, no persistence), both emptied (FLUSHALL) before each
#      run. The servers take turns, the first one alternating by round, ROUNDS rounds; medians of rps and p99, and
#      usbd/redis ratios.
#   2. memory per key: 1000000 keys key:0000000.. with 32-byte values written into fresh servers with
#      redis-cli --pipe. usbd: index (spot_index_bytes) + item slots used (spot_used), and the whole cost (chunks
#      in use + growth of the worker's RssAnon beyond its chunks); redis: used_memory and RSS growth.
#   3. release of 512 MiB from a full store: usbd holding 768 MiB filled with 4000-byte values, then
#      PATCH /balloon amount_mib 256 and the time until the worker cgroup's usage has dropped by 512 MiB, vs
#      redis filled to maxmemory 768mb, then CONFIG SET maxmemory 256mb and the time until its RSS has dropped by
#      512 MiB (and until used_memory is down to maxmemory), watched for RELEASE_TIMEOUT_MS, then MEMORY PURGE.
#      usbd refills by PATCHing 768 back; redis restarts each round. RELEASE_ROUNDS each; medians.
# Usage: bench/bench_spot.sh [BUILD_DIR [ROUNDS]]   (defaults: build, 5), as root, after building usbd and
# bench_spot_release. Environment: RELEASE_ROUNDS (5), RELEASE_TIMEOUT_MS (10000). About 6-8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
ROUNDS=${2:-5}
RELEASE_ROUNDS=${RELEASE_ROUNDS:-5}
RELEASE_TIMEOUT_MS=${RELEASE_TIMEOUT_MS:-10000}
CG=/sys/fs/cgroup/memory
D=usbd-bench-spot-$$
KEYS=100000
MEM_KEYS=1000000
MIB=$((1 << 20))

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -f $CG/cgroup.event_control ]] || { echo "needs the cgroup v1 memory controller at $CG" >&2; exit 1; }
for f in "$B/usbd" "$B/bench/bench_spot_release"; do [[ -x $f ]] || { echo "build $f first" >&2; exit 1; }; done
for c in redis-server redis-benchmark redis-cli curl; do command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }; done

OUT=$(mktemp -d /tmp/usbd-bench-spot.XXXXXX)
upid= rpid=
stop_pid() { [[ -n $1 ]] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
	set +e
	stop_pid "$upid"
	stop_pid "$rpid"
	for d in "$CG/$D/usbd-balloon" "$CG/$D/app" "$CG/$D"; do
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

free_port() {
	local p=$1
	while (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
# below the ephemeral range (32768 up): no client connection can hold the port between the check and the bind
UPORT=$(free_port $((20000 + $$ % 12000)))
RPORT=$(free_port $((UPORT + 1)))

info() { redis-cli -p "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }
wait_for() { # SECONDS WHAT CMD...
	local end=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		((SECONDS < end)) || { echo "timed out waiting for $what" >&2; tail -n 20 "$OUT"/*.log >&2; exit 1; }
		sleep 0.1
	done
}
holds() { (($(info "$UPORT" spot_capacity || echo 0) >= $1)); }
capacity_is() { [[ $(info "$UPORT" spot_capacity) == "$1" ]]; }
answers() { [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]]; }

start_usbd() { # GRAB_MIB [USBD_OPTION...]
	"$B/usbd" --domain "$D" "$D/app" --grab-lower "$1" --spot-listen "127.0.0.1:$UPORT" --api-sock "$OUT/api.sock" \
		--apps-sock off --harvest-journal "$OUT/journal" --status-interval 0 "${@:2}" 2>>"$OUT/usbd.log" &
	upid=$!
	wait_for 120 "usbd to hold $1 MiB" holds $(($1 * MIB))
}
start_redis() { # MAXMEMORY_MIB (0: none)
	redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --maxmemory "${1}mb" \
		--maxmemory-policy allkeys-lru --daemonize no --dir "$OUT" >>"$OUT/redis.log" 2>&1 &
	rpid=$!
	wait_for 20 "redis-server to answer" answers "$RPORT"
}
stop_usbd() { stop_pid "$upid"; upid=; }
stop_redis() { stop_pid "$rpid"; rpid=; }
worker_pid() { cat "$CG/$D/usbd-balloon/cgroup.procs"; }
rss_anon() { awk '$1 == "RssAnon:" { print $2 * 1024 }' "/proc/$1/status"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

# bench PORT PIPELINE SIZE: one redis-benchmark run on an emptied server -> "set_rps set_p99 get_rps get_p99"
bench() {
	local n=$((($2 == 1) ? 30000 : 150000)) line
	redis-cli -p "$1" FLUSHALL >/dev/null
	line=$(redis-benchmark -p "$1" -c 50 -P "$2" -d "$3" -n "$n" -r "$KEYS" -t set,get --csv 2>>"$OUT/rb.err" |
		awk -F, '{ gsub(/"/, "") } $1 == "SET" || $1 == "GET" { printf "%s %s ", $2, $7 }')
	[[ $(wc -w <<<"$line") == 4 && ! -s $OUT/rb.err ]] ||
		{ echo "redis-benchmark failed on port $1:" >&2; cat "$OUT/rb.err" >&2; exit 1; }
	echo "$line"
}

med_col() { cut -d' ' -f"$2" "$OUT/tp-$1" | median; } # SERVER COLUMN

echo "== 1. throughput: redis-benchmark SET/GET, 50 clients, keyspace $KEYS, 256 MiB each, median of $ROUNDS rounds"
echo "   (-n 30000 at -P 1, 150000 at -P 16; rps higher is better, p99 in ms lower is better)"
start_usbd 256
start_redis 256
printf '%-4s %-4s %-5s | %10s %8s | %10s %8s | %9s %9s\n' \
	test pipe size usbd_rps usbd_p99 redis_rps redis_p99 rps_ratio p99_ratio
for pipe in 1 16; do
	for size in 64 4096; do
		for r in $(seq "$ROUNDS"); do
			if ((r % 2)); then order="usbd redis"; else order="redis usbd"; fi
			for s in $order; do
				port=$UPORT
				[[ $s == redis ]] && port=$RPORT
				bench "$port" "$pipe" "$size" >>"$OUT/tp-$s"
			done
		done
		for col in 1 3; do
			[[ $col == 1 ]] && t=SET || t=GET
			ur=$(med_col usbd $col) up=$(med_col usbd $((col + 1)))
			rr=$(med_col redis $col) rp=$(med_col redis $((col + 1)))
			printf '%-4s %-4s %-5s | %10.0f %8.3f | %10.0f %8.3f | %9s %9s\n' $t "$pipe" "$size" \
				"$ur" "$up" "$rr" "$rp" "$(ratio "$ur" "$rr")" "$(ratio "$up" "$rp")"
		done
		rm -f "$OUT/tp-usbd" "$OUT/tp-redis"
	done
done
stop_usbd
stop_redis

echo "== 2. memory per key: $MEM_KEYS keys key:%07d, 32-byte values, fresh servers"
awk -v n="$MEM_KEYS" 'BEGIN { for (i = 0; i < n; i++) { k = sprintf("key:%07d", i); v = sprintf("value-%026d", i)
	printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' >"$OUT/fill.resp"
fill() { # PORT
	redis-cli -p "$1" --pipe <"$OUT/fill.resp" >"$OUT/pipe.out" 2>&1 || { cat "$OUT/pipe.out" >&2; exit 1; }
	grep -q "errors: 0, replies: $MEM_KEYS" "$OUT/pipe.out" || { cat "$OUT/pipe.out" >&2; exit 1; }
	[[ $(redis-cli -p "$1" DBSIZE) == "$MEM_KEYS" ]] ||
		{ echo "port $1 did not keep all $MEM_KEYS keys" >&2; exit 1; }
}
start_usbd 256
w=$(worker_pid)
u_used0=$(info "$UPORT" spot_used) u_idx0=$(info "$UPORT" spot_index_bytes)
u_free0=$(info "$UPORT" spot_chunks_free) u_rss0=$(rss_anon "$w")
fill "$UPORT"
u_used=$(($(info "$UPORT" spot_used) - u_used0)) u_idx=$(($(info "$UPORT" spot_index_bytes) - u_idx0))
u_chunks=$((u_free0 - $(info "$UPORT" spot_chunks_free))) u_heap=$(($(rss_anon "$w") - u_rss0))
stop_usbd
start_redis 0
r_used0=$(info "$RPORT" used_memory) r_rss0=$(info "$RPORT" used_memory_rss)
fill "$RPORT"
r_used=$(($(info "$RPORT" used_memory) - r_used0)) r_rss=$(($(info "$RPORT" used_memory_rss) - r_rss0))
stop_redis
row() { # SERVER MEASURE BYTES
	awk -v s="$1" -v m="$2" -v b="$3" -v n="$MEM_KEYS" \
		'BEGIN { printf "%-6s %-52s %8.1f %9.1f\n", s, m, b / 1048576, b / n }'
}
u_all=$((u_chunks * 2 * MIB + u_heap))
printf '%-6s %-52s %8s %9s\n' server measure MiB bytes/key
row usbd "index (spot_index_bytes)" "$u_idx"
row usbd "item slots used (spot_used)" "$u_used"
row usbd "index + item slots used" $((u_idx + u_used))
row usbd "chunks in use ($u_chunks x 2 MiB) + worker RssAnon growth" "$u_all"
row redis "used_memory growth" "$r_used"
row redis "RSS growth (used_memory_rss)" "$r_rss"
echo "usbd/redis: index + slots vs used_memory $(ratio $((u_idx + u_used)) "$r_used");" \
	"chunks + heap vs RSS $(ratio "$u_all" "$r_rss")"

echo "== 3. release 512 MiB from a full 768 MiB store, $RELEASE_ROUNDS rounds each (ms from the request)"
fill_big() { # PORT: 4000-byte values until well past full (evictions)
	redis-benchmark -p "$1" -c 50 -P 16 -d 4000 -n 400000 -r 100000000 -t set -q >/dev/null 2>>"$OUT/rb.err"
	[[ ! -s $OUT/rb.err ]] || { cat "$OUT/rb.err" >&2; exit 1; }
}
# -v: the controller logs how long the worker itself took ("worker released 512M in X ms").
start_usbd 768 -v
for r in $(seq "$RELEASE_ROUNDS"); do
	if ((r > 1)); then
		curl -sf --unix-socket "$OUT/api.sock" -X PATCH -d '{"amount_mib": 768}' http://localhost/balloon \
			>/dev/null
		wait_for 120 "usbd to hold 768 MiB again" holds $((768 * MIB))
	fi
	fill_big "$UPORT"
	keys=$(redis-cli -p "$UPORT" DBSIZE) used=$(info "$UPORT" spot_used) lost0=$(info "$UPORT" deflation_losses)
	log0=$(wc -l <"$OUT/usbd.log")
	line=$("$B/bench/bench_spot_release" usbd "$OUT/api.sock" "$CG/$D/usbd-balloon" 256 $((512 * MIB)) \
		"$RELEASE_TIMEOUT_MS")
	wait_for 10 "usbd to report 256 MiB" capacity_is $((256 * MIB))
	status=$(curl -sf --unix-socket "$OUT/api.sock" http://localhost/usbd/status)
	[[ $status == *'"last_deflation":{"reason":"upper","bytes":536870912'* ]] ||
		{ echo "the release was not the one asked for: $status" >&2; exit 1; }
	worker=$(grep -o 'worker released 512M in [0-9.]* ms' "$OUT/usbd.log" | tail -n 1 | awk '{ print $5 }')
	# One request should make one deflation; more means the controller released beyond the target.
	deflations=$(tail -n +$((log0 + 1)) "$OUT/usbd.log" | grep -c ': deflating ' || true)
	echo "usbd  round $r: store $((used / MIB)) MiB used, $keys keys; $line; worker_ms $worker;" \
		"deflations $deflations; keys lost $(($(info "$UPORT" deflation_losses) - lost0))," \
		"kept $(redis-cli -p "$UPORT" DBSIZE)" | tee -a "$OUT/rel-usbd"
done
stop_usbd
for r in $(seq "$RELEASE_ROUNDS"); do
	start_redis 768
	fill_big "$RPORT"
	keys=$(redis-cli -p "$RPORT" DBSIZE) used=$(info "$RPORT" used_memory) rss=$(info "$RPORT" used_memory_rss)
	line=$("$B/bench/bench_spot_release" redis "$RPORT" "$rpid" $((256 * MIB)) $((512 * MIB)) "$RELEASE_TIMEOUT_MS")
	used1=$(info "$RPORT" used_memory) rss1=$(info "$RPORT" used_memory_rss)
	[[ $(redis-cli -p "$RPORT" MEMORY PURGE) == OK ]] || { echo "MEMORY PURGE failed" >&2; exit 1; }
	echo "redis round $r: used_memory $((used / MIB)) MiB, RSS $((rss / MIB)) MiB, $keys keys; $line;" \
		"then used_memory $((used1 / MIB)) MiB, RSS $((rss1 / MIB)) MiB," \
		"$(redis-cli -p "$RPORT" DBSIZE) keys;" \
		"after MEMORY PURGE RSS $(($(info "$RPORT" used_memory_rss) / MIB)) MiB" | tee -a "$OUT/rel-redis"
	stop_redis
done
col() { grep -o "$2 [0-9.-]*" "$1" | awk '{ print $2 }'; }
summary() { # NAME FILE FIELD...
	local name=$1 file=$2 f v
	shift 2
	printf '%-6s' "$name"
	for f in "$@"; do
		if col "$file" "$f" | grep -q -- '-'; then
			v="not within $RELEASE_TIMEOUT_MS ms in $(col "$file" "$f" | grep -c -- '-') of $RELEASE_ROUNDS"
		else
			v=$(col "$file" "$f" | median)
		fi
		printf ' %s %s;' "$f" "$v"
	done
	echo
}
echo "medians:"
summary usbd "$OUT/rel-usbd" ack_ms drop_ms worker_ms drop_10ms_mib
extra=$(grep -c 'deflations [2-9]' "$OUT/rel-usbd" || true)
((extra == 0)) || echo "usbd   in $extra of $RELEASE_ROUNDS rounds the controller deflated more than once for a request"
summary redis "$OUT/rel-redis" ack_ms used_ms drop_ms drop_10ms_mib drop_1000ms_mib drop_end_mib
echo "(whole bench: ${SECONDS} s)"
