#!/usr/bin/env bash
# Spot memory vs Debian's redis-server, both on loopback, started and stopped here: redis-benchmark SET and GET,
# 50 clients, pipelines of 1 and 16, values of 64 bytes and 4 KiB, over a keyspace of 100000 keys. Both get
# 256 MiB (spot: 128 chunks; redis: maxmemory 256mb allkeys-lru, no persistence). Prints throughput and p99 of
# each and the ratio spot/redis. Runs alternately, best of ROUNDS for each.
# Usage: bench/bench_spot.sh [BUILD_DIR] [ROUNDS]   (default build, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
ROUNDS=${2:-3}
N=200000
SERVER=$B/helpers/spot_server
[[ -x $SERVER ]] || { echo "build $SERVER first" >&2; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || { echo "needs redis-server and redis-benchmark" >&2; exit 1; }
OUT=$(mktemp -d /tmp/usbd-bench-spot.XXXXXX)
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$OUT"
}
trap cleanup EXIT

free_port() {
	local p=$1
	while (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
wait_up() {
	for _ in $(seq 100); do [[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return; sleep 0.1; done
	echo "server on $1 did not start" >&2; exit 1
}
start_spot() {
	port=$(free_port 17390)
	"$SERVER" --listen "127.0.0.1:$port" --chunks 128 </dev/null 2>"$OUT/spot.log" & pid=$!
	wait_up "$port"
}
start_redis() {
	port=$(free_port 17490)
	redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --maxmemory 256mb \
		--maxmemory-policy allkeys-lru --daemonize no --dir "$OUT" >"$OUT/redis.log" 2>&1 & pid=$!
	wait_up "$port"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# run PORT PIPELINE SIZE -> "set_rps set_p99 get_rps get_p99"
run() {
	redis-benchmark -p "$1" -c 50 -P "$2" -d "$3" -n "$N" -r 100000 -t set,get --csv 2>/dev/null |
		awk -F'","' '/^"SET"|^"GET"/ { gsub(/"/, "", $0); split($0, f, ","); printf "%s %s ", f[2], f[7] }'
}

best() { # best-of: highest rps, lowest p99 among rounds (fields: rps p99 per test)
	awk '{ for (i = 1; i <= NF; i += 2) { if ($i > r[i]) r[i] = $i; if (!(i in p) || $(i+1) < p[i]) p[i] = $(i+1) } }
	     END { for (i = 1; i <= 3; i += 2) printf "%s %s ", r[i], p[i]; print "" }'
}

printf '%-6s %-6s %-5s | %12s %9s | %12s %9s | %7s %9s\n' test pipe size spot_rps spot_p99 redis_rps redis_p99 ratio p99_ratio
for pipe in 1 16; do
	for size in 64 4096; do
		: >"$OUT/spot" ; : >"$OUT/redis"
		for _ in $(seq "$ROUNDS"); do
			start_spot; run "$port" "$pipe" "$size" >>"$OUT/spot"; echo >>"$OUT/spot"; stop
			start_redis; run "$port" "$pipe" "$size" >>"$OUT/redis"; echo >>"$OUT/redis"; stop
		done
		read -r s_set s_set99 s_get s_get99 <<<"$(best <"$OUT/spot")"
		read -r r_set r_set99 r_get r_get99 <<<"$(best <"$OUT/redis")"
		for t in SET GET; do
			if [[ $t == SET ]]; then a=$s_set a9=$s_set99 b=$r_set b9=$r_set99; else a=$s_get a9=$s_get99 b=$r_get b9=$r_get99; fi
			printf '%-6s %-6s %-5s | %12s %9s | %12s %9s | %7s %9s\n' "$t" "$pipe" "$size" "$a" "$a9" "$b" "$b9" \
				"$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')" \
				"$(awk -v a="$a9" -v b="$b9" 'BEGIN { printf "%.2fx", a / b }')"
		done
	done
done
echo "(rps: requests/s, higher is better; p99 in ms, lower is better; $N requests, 50 clients, best of $ROUNDS)"
