#!/usr/bin/env bash
# Reclaimable vs pinned balloon, as root on the cgroup v1 machine, after building usbd and the helpers:
#   1. the app's 1.2 GiB burst wall time in a 2 GiB domain (memsw = limit: no swap) beside a 1.5 GiB balloon
#      holding 1.3 GiB of spot data (reclaim_keys fill), reclaimable vs pinned, controller running in both, vs no
#      balloon at all; the three take turns, ROUNDS rounds; medians and minimums. Also the balloon's resident size
#      after the burst and how many keys survived.
#   2. spot throughput: redis-benchmark SET and GET (50 clients, 100000 random keys, 64-byte values, pipelines of 1
#      and 16) against usbd with a 512 MiB balloon, reclaimable vs pinned, alternating, ROUNDS rounds; medians.
#      The difference is the cost of checked reads (copy + check) and of re-freeing written pages.
# Usage: bench/bench_reclaim.sh [BUILD_DIR [ROUNDS]]   (defaults: build, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
ROUNDS=${2:-3}
CG=/sys/fs/cgroup/memory
D=usbd-bench-reclaim-$$
PORT=$((30000 + $$ % 20000))
OUT=$(mktemp -d /tmp/usbd-bench-reclaim.XXXXXX)

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
for f in "$B/usbd" "$B/helpers/workload" "$B/helpers/reclaim_keys"; do
	[[ -x $f ]] || { echo "build $f first" >&2; exit 1; }
done
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark" >&2; exit 1; }

pid=
stop() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=; }
cleanup() {
	set +e
	stop
	for d in "$CG/$D/app" "$CG/$D/usbd-balloon" "$CG/$D"; do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in $(seq 30); do [[ -d $d ]] || break; rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	rm -rf "$OUT"
}
trap cleanup EXIT
mkdir "$CG/$D" "$CG/$D/app"
echo $((2 << 30)) > "$CG/$D/memory.limit_in_bytes"
echo $((2 << 30)) > "$CG/$D/memory.memsw.limit_in_bytes"
in_app() { bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$D/app" "$@"; }

# start MODE LOWER: usbd with a balloon of LOWER in MODE, waits until it holds it and spot memory answers.
start() {
	"$B/usbd" --domain "$D" "$D/app" --balloon-mode "$1" --grab-lower "$2" --headroom 128M --api-sock off --apps-sock off \
		--spot-listen "127.0.0.1:$PORT" --status-interval 0 2>"$OUT/usbd.log" &
	pid=$!
	local want=$(($(numfmt --from=iec "$2") - (16 << 20))) end=$((SECONDS + 300))
	until [[ -f $CG/$D/usbd-balloon/memory.usage_in_bytes ]] &&
		(($(cat "$CG/$D/usbd-balloon/memory.usage_in_bytes") >= want)) &&
		redis-cli -p "$PORT" ping >/dev/null 2>&1; do
		((SECONDS < end)) || { echo "usbd did not reach $2" >&2; tail "$OUT/usbd.log" >&2; exit 1; }
		sleep 0.2
	done
}
worker_rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$(head -n 1 "$CG/$D/usbd-balloon/cgroup.procs")/status"; }

burst() { in_app "$B/helpers/workload" burst 1200M | sed -n 's/.*done in \([0-9.]*\) ms/\1/p'; }

echo "== the app's 1.2 GiB burst beside a 1.5 GiB balloon holding 1.3 GiB of spot data, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for mode in reclaimable pinned none; do
		if [[ $mode == none ]]; then
			echo "$mode $(burst)" >> "$OUT/burst"
			continue
		fi
		start "$mode" 1536M
		"$B/helpers/reclaim_keys" fill "$PORT" rk 21000 65536 >/dev/null
		before=$(worker_rss_mib)
		ms=$(burst)
		after=$(worker_rss_mib)
		kept=$("$B/helpers/reclaim_keys" check "$PORT" rk 21000 65536 0 | sed -n 's/.* \([0-9]*\) exact,.*/\1/p')
		echo "$mode $ms $before $after $kept" >> "$OUT/burst"
		stop
	done
done
awk '{ n[$1]++; t[$1, n[$1]] = $2; if ($3 != "") { rb[$1] += $3; ra[$1] += $4; k[$1] += $5 } }
     END {
	for (m in n) {
		c = n[m]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (t[m, j] < t[m, i]) { x = t[m, i]; t[m, i] = t[m, j]; t[m, j] = x }
		printf "%-12s burst median %8.1f ms  min %8.1f ms", m, t[m, int((c + 1) / 2)], t[m, 1]
		if (m != "none") printf "  worker resident %d -> %d MiB, keys intact %d of 21000", rb[m] / c, ra[m] / c, k[m] / c
		printf "\n"
	}
     }' "$OUT/burst" | sort

echo "== spot throughput, 512 MiB balloon, redis-benchmark 50 clients, 100000 keys, 64-byte values, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for mode in reclaimable pinned; do
		start "$mode" 512M
		for p in 1 16; do
			n=$((p == 1 ? 50000 : 300000))
			redis-benchmark -p "$PORT" -t set,get -n "$n" -r 100000 -d 64 -P "$p" -c 50 --csv 2>/dev/null |
				awk -F'"' -v m="$mode" -v p="$p" 'NR > 1 { print m, $2, p, $4 }' >> "$OUT/tput"
		done
		stop
	done
done
awk '{ key = $1 " " $2 " -P" $3; n[key]++; v[key, n[key]] = $4 }
     END {
	for (k in n) {
		c = n[k]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[k, j] < v[k, i]) { x = v[k, i]; v[k, i] = v[k, j]; v[k, j] = x }
		printf "%-22s median %10.0f rps\n", k, v[k, int((c + 1) / 2)]
	}
     }' "$OUT/tput" | sort -k2,3 -k1,1
