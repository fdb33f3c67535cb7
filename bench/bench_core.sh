#!/usr/bin/env bash
# Core benchmarks, as root on the cgroup v1 machine, after scripts/build.sh:
#   1. reaction: app growth crossing the headroom -> release complete, usbd (events, the worker's reflex) vs the same
#      daemon without the reflex (--no-reflex: the controller decides every release) and polling once a second
#      (--no-events --tick-ms 1000, the original balloon's behaviour), ROUNDS each; for the first two, the hops of
#      each release (usbd -v's "hops:" lines joined to the crossing);
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

# The hops of each round's release from usbd's debug log ("hops:" lines, CLOCK_MONOTONIC), joined to the moment the
# app crossed the edge (bench_react's "crossed at T ns"): median and max of each hop, in ms from the crossing.
hops() {
  awk '
    function sortn(a, k,   i, j, x) { for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
    function hop(name, value) { if (!(name in seen)) { order[++no] = name; seen[name] = 1 } v[k, name] = value }
    /^round [0-9]+: released/ { match($0, /crossed at [0-9]+/); t[++nr] = substr($0, RSTART + 11, RLENGTH - 11) + 0; next }
    /hops: (reflex )?woke at/ { s = $0; sub(/.*woke at /, "", s); split(s, f, " "); at[++n] = f[1] + 0; line[n] = $0 }
    END {
      for (r = 1; r <= nr; r++) {
        for (i = 1; i <= n; i++) if (at[i] >= t[r] - 20e6 && at[i] <= t[r] + 1e9) break
        if (i > n) continue
        k++; base = (at[i] - t[r]) / 1e6; hop("notified", base)
        s = line[i]; sub(/.*ns; /, "", s); sub(/ ms$/, "", s)
        while (match(s, /[a-z ]+ \+-?[0-9.]+/)) {
          h = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
          split(h, p, "+"); name = p[1]; gsub(/^ +| +$/, "", name); gsub(/ /, "_", name); hop(name, base + p[2])
        }
      }
      if (!k) { print "  (no hops in the log)"; exit }
      printf "  hops, ms from the crossing, median / max of %d rounds:", k
      for (o = 1; o <= no; o++) {
        c = 0; for (j = 1; j <= k; j++) if ((j, order[o]) in v) tmp[++c] = v[j, order[o]]
        sortn(tmp, c); printf " %s %.2f / %.2f;", order[o], tmp[int((c + 1) / 2)], tmp[c]
      }
      print ""
    }' "$@"
}

echo "== reaction: usage crossing the headroom -> balloon release seen (ms), $ROUNDS rounds each"
echo "-- usbd (the worker's reflex)"
start -v
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" > "$OUT/ev.rounds"
stop
tail -n 1 "$OUT/ev.rounds" | tee "$OUT/ev"
hops "$OUT/ev.rounds" "$OUT/usbd.log"
grep -c "by the worker's reflex" "$OUT/usbd.log" | sed 's/^/  reflex releases: /'
echo "-- usbd --no-reflex (the controller alone)"
start -v --no-reflex
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" > "$OUT/nr.rounds"
stop
tail -n 1 "$OUT/nr.rounds" | tee "$OUT/nr"
hops "$OUT/nr.rounds" "$OUT/usbd.log"
echo "-- usbd --no-events --tick-ms 1000 (polling once a second)"
start --no-events --tick-ms 1000
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" | tail -n 1 | tee "$OUT/poll"
stop
awk 'FNR==1 {m[NR]=$4; p[NR]=$6} END {printf "reflex vs the controller alone: median %.2f vs %.2f ms (%.3fx), p99 %.2f vs %.2f ms (%.3fx)\n", m[1], m[2], m[1]/m[2], p[1], p[2], p[1]/p[2]; printf "events vs 1 s polling: median %.2f vs %.2f ms (%.3fx), p99 %.2f vs %.2f ms (%.3fx)\n", m[1], m[3], m[1]/m[3], p[1], p[3], p[1]/p[3]}' "$OUT/ev" "$OUT/nr" "$OUT/poll"

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
