#!/usr/bin/env bash
# Core benchmarks, as root on the cgroup v1 machine, after scripts/build.sh:
#   1. reaction: app growth crossing the headroom -> release complete, usbd (events) vs the same daemon
#      polling once a second (--no-events --tick-ms 1000, the original balloon's behaviour), ROUNDS each;
#   2. the app's 1.2 GiB burst wall time beside an inflated 1 GiB balloon vs with no balloon, alternating;
#   3. the controller's CPU over 60 s idle and its RSS.
# Usage: bench/bench_core.sh [ROUNDS]   (default 20)
#   BENCH_BUILD=DIR  the build to measure (default build; another checkout's, to compare two versions)
#   BENCH_ONLY=reaction  the reaction part alone
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
B=${BENCH_BUILD:-build}
CG=/sys/fs/cgroup/memory
D=usbd-bench-$$
OUT=$(mktemp -d /tmp/usbd-bench.XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for d in "$CG/$D/app" "$CG/$D/usbd-balloon" "$CG/$D"; do
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do [[ -d $d ]] || break; rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
  rm -rf "$OUT"
}
trap cleanup EXIT
mkdir "$CG/$D" "$CG/$D/app"
echo $((2 << 30)) > "$CG/$D/memory.limit_in_bytes"
in_app() { bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$D/app" "$@"; }
start() { "$B/usbd" --domain "$D" "$D/app" --grab-lower 1G --api-sock off --spot-listen off --status-interval 0 "$@" 2>"$OUT/usbd.log" & pid=$!; }
stop() { kill "$pid"; wait "$pid" || true; pid=; }
headroom=$((512 << 20))

echo "== reaction: usage crossing the headroom -> balloon release seen (ms), $ROUNDS rounds each"
start
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" | tail -n 1 | tee "$OUT/ev"
stop
start --no-events --tick-ms 1000
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" | tail -n 1 | tee "$OUT/poll"
stop
awk 'FNR==1 && NR==1 {e=$4; ep=$6} FNR==1 && NR==2 {p=$4; pp=$6} END {printf "events vs 1 s polling: median %.2f vs %.2f ms (%.3fx), p99 %.2f vs %.2f ms (%.3fx)\n", e, p, e/p, ep, pp, ep/pp}' "$OUT/ev" "$OUT/poll"

[[ ${BENCH_ONLY:-} == reaction ]] && exit 0

echo "== burst: the app touches 1.2 GiB as fast as it can (ms), 5 rounds each, alternating"
for i in 1 2 3 4 5; do
  in_app "$B/helpers/workload" burst 1200M | awk '{print $5}' >> "$OUT/none"
  start
  until (( $(cat "$CG/$D/usbd-balloon/memory.usage_in_bytes" 2>/dev/null || echo 0) >= (1 << 30) )); do sleep 0.1; done
  sleep 0.5
  in_app "$B/helpers/workload" burst 1200M | awk '{print $5}' >> "$OUT/with"
  grep -q "worker died" "$OUT/usbd.log" && echo "  (round $i: the worker was OOM-killed)"
  stop
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "no balloon: median $(med "$OUT/none") ms; beside an inflated balloon: median $(med "$OUT/with") ms; ratio $(awk -v a="$(med "$OUT/with")" -v b="$(med "$OUT/none")" 'BEGIN {printf "%.3f", a/b}')x"

echo "== idle controller: CPU over 60 s and RSS"
start
until (( $(cat "$CG/$D/usbd-balloon/memory.usage_in_bytes" 2>/dev/null || echo 0) >= (1 << 30) )); do sleep 0.1; done
sleep 2
tck=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 60
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
awk -v a="$t0" -v b="$t1" -v t="$tck" -v r="$rss" 'BEGIN {printf "controller CPU: %.3f%% of a core over 60 s; RSS %d KiB\n", (b-a)/t/60*100, r}'
stop
