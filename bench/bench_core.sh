#!/usr/bin/env bash
# Core benchmarks, as root on the cgroup v1 machine, after scripts/build.sh:
#   1. reaction: app growth crossing the headroom -> release complete, usbd (events, the worker's reflex) vs the same
#      daemon without the reflex (--no-reflex: the controller decides every release) and polling once a second
#      (--no-events --tick-ms 1000, the original balloon's behaviour), ROUNDS each; for the first two, the hops of
#      each release (usbd -v's "hops:" lines joined to the crossing); a round whose app never got under the headroom
#      because the balloon released first counts as 0 ms (bench_react's summary line ends with how many, "early N",
#      and how far short of the headroom the app was at most, then the longest pause of the app between two of its
#      checks in a round that crossed); the reflex's rounds over 1 ms are listed with that pause and the app's
#      longest 64 KiB touch, wall and on its CPU;
#   1b. inflation from the daemon's start: usbd --grab-lower 2G in a 4 GiB domain, from its exec until its balloon
#      cgroup holds 2 GiB, against a raw populate of 2 GiB (MAP_POPULATE, and MADV_HUGEPAGE + MADV_POPULATE_WRITE as
#      the balloon does) timed the same way from its exec, INFLATE_ROUNDS alternating (default 5); usbd's share of
#      it from its debug log (the worker's populate, the steps, the rest); medians and the fastest rounds' ratios;
#   2. the app's 1.2 GiB burst wall time beside an inflated 1 GiB balloon vs with no balloon, alternating;
#   3. the controller's CPU over 60 s idle and its RSS.
# Usage: bench/bench_core.sh [ROUNDS]   (default 20)
#   BENCH_BUILD=DIR  the build to measure (default build; another checkout's, to compare two versions)
#   BENCH_ONLY=reaction|inflate|burst|idle  that part alone
#   BURST_ROUNDS=N  rounds of each burst variant (default 5)
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
  [[ -f $OUT/pids ]] && while read -r p; do kill "$p" 2>/dev/null || true; done < "$OUT/pids"
  for d in "$CG/$D/app" "$CG/$D/raw" "$CG/$D/usbd-balloon" "$CG/$D"; do
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

BURST_ROUNDS=${BURST_ROUNDS:-5}
# The median and the fastest of a file of numbers, one a line.
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fastest() { sort -n "$1" | head -n 1; }
only() { [[ -z ${BENCH_ONLY:-} || $BENCH_ONLY == "$1" ]]; }

if only reaction; then
echo "== reaction: usage crossing the headroom -> balloon release seen (ms), $ROUNDS rounds each"
echo "-- usbd (the worker's reflex)"
start -v
in_app "$B/bench/bench_react" "$CG/$D" "$CG/$D/usbd-balloon" $headroom $((1 << 30)) "$ROUNDS" > "$OUT/ev.rounds"
stop
tail -n 1 "$OUT/ev.rounds" | tee "$OUT/ev"
awk '/released after/ && $5 > 1 { sub(/^/, "  over 1 ms: "); print }' "$OUT/ev.rounds"
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
awk 'function x(a, b) { return b > 0 ? sprintf("%.3fx", a / b) : "-" }
  FNR==1 {m[NR]=$4; p[NR]=$6} END {printf "reflex vs the controller alone: median %.2f vs %.2f ms (%s), p99 %.2f vs %.2f ms (%s)\n", m[1], m[2], x(m[1], m[2]), p[1], p[2], x(p[1], p[2]); printf "events vs 1 s polling: median %.2f vs %.2f ms (%s), p99 %.2f vs %.2f ms (%s)\n", m[1], m[3], x(m[1], m[3]), p[1], p[3], x(p[1], p[3])}' "$OUT/ev" "$OUT/nr" "$OUT/poll"

fi

# usbd's share of an inflation from its debug log: the worker's populate time (sum of "worker grew ... in X ms"), the
# steps, and the time from the worker's start to its first grow.
inflate_log() {
  awk '
    function ms(line,   t) { split(substr(line, 12, 12), t, ":"); return (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }
    NR == 1 { t0 = ms($0) }
    /balloon worker [0-9]+ started/ { if (!w) w = ms($0) }
    /balloon worker ready/ { if (!r) r = ms($0) }
    /worker grew/ { for (i = 1; i <= NF; i++) if ($i == "in") g = $(i + 1); if (!first) first = ms($0) - g; last = ms($0); pop += g; n++ }
    END { printf "  usbd log: first line -> worker started %.0f ms -> ready %.0f -> first grow began %.0f; %d steps, %.0f ms populating of %.0f ms from the first grow to the last done\n", w - t0, r - w, first - r, n, pop, last - first }' "$1"
}

if only inflate; then
echo "== inflate from start: usbd --grab-lower 2G until its balloon holds 2 GiB vs a raw populate of 2 GiB, from exec (ms)"
echo $((4 << 30)) > "$CG/$D/memory.limit_in_bytes"
mkdir -p "$CG/$D/raw"
finish() {
  kill "$1" 2>/dev/null || true
  while kill -0 "$1" 2>/dev/null; do sleep 0.05; done
  for _ in $(seq 100); do (( $(cat "$2/memory.usage_in_bytes" 2>/dev/null || echo 0) < 64 << 20 )) && break; sleep 0.05; done
}
# Each variant gets the pages the one before it freed, and on a guest whose freed 2 MiB blocks go back to the host
# (free page reporting) the kind of the last free decides whether they are warm. So before every timed variant, the
# same untimed warm-up: a THP populate of the same size, freed.
warm() {
  local r
  r=$("$B/bench/bench_inflate" until "$CG/$D/raw" $((2 << 30)) "$B/bench/bench_inflate" populate "$CG/$D/raw" $((2 << 30)) thp)
  set -- $r
  echo "$4" >> "$OUT/pids"
  finish "$4" "$CG/$D/raw"
}
for i in $(seq "${INFLATE_ROUNDS:-5}"); do
  for kind in raw raw_thp usbd; do
    warm
    case $kind in
      raw) r=$("$B/bench/bench_inflate" until "$CG/$D/raw" $((2 << 30)) "$B/bench/bench_inflate" populate "$CG/$D/raw" $((2 << 30))) ;;
      raw_thp) r=$("$B/bench/bench_inflate" until "$CG/$D/raw" $((2 << 30)) "$B/bench/bench_inflate" populate "$CG/$D/raw" $((2 << 30)) thp) ;;
      usbd) r=$("$B/bench/bench_inflate" until "$CG/$D/usbd-balloon" $((2 << 30)) "$B/usbd" --domain "$D" "$D/app" --grab-lower 2G --api-sock off --spot-listen off --status-interval 0 -v 2>"$OUT/usbd.log") ;;
    esac
    set -- $r
    echo "$4" >> "$OUT/pids"
    echo "$2" >> "$OUT/inflate.$kind"
    if [[ $kind == usbd ]]; then
      # its last step's report comes just after the balloon holds it all
      for _ in $(seq 40); do grep -q "worker grew.*holds 2G" "$OUT/usbd.log" && break; sleep 0.05; done
      finish "$4" "$CG/$D/usbd-balloon"; echo "  round $i: usbd $2 ms"; inflate_log "$OUT/usbd.log"
    else finish "$4" "$CG/$D/raw"; echo "  round $i: $kind $2 ms"; fi
  done
done
awk -v u="$(med "$OUT/inflate.usbd")" -v r="$(med "$OUT/inflate.raw")" -v t="$(med "$OUT/inflate.raw_thp")" 'BEGIN {
  printf "medians: usbd %.1f ms, raw MAP_POPULATE %.1f ms, raw THP populate %.1f ms; usbd rate vs raw %.3fx, vs raw THP %.3fx\n", u, r, t, r / u, t / u }'
# On a guest whose host takes freed huge pages back, a round draws warm or cold memory by luck, either variant alike:
# the fastest round of each is its speed on memory the guest holds, the hardware's and its own cost alone.
awk -v u="$(fastest "$OUT/inflate.usbd")" -v r="$(fastest "$OUT/inflate.raw")" \
  -v t="$(fastest "$OUT/inflate.raw_thp")" 'BEGIN { printf "fastest rounds: usbd %.1f ms, raw MAP_POPULATE %.1f ms, " \
  "raw THP populate %.1f ms; usbd rate vs raw %.3fx, vs raw THP %.3fx\n", u, r, t, r / u, t / u }'
rmdir "$CG/$D/raw" 2>/dev/null || true
echo $((2 << 30)) > "$CG/$D/memory.limit_in_bytes"
fi
if only burst; then
echo "== burst: the app touches 1.2 GiB as fast as it can (ms), $BURST_ROUNDS rounds each, alternating"
for i in $(seq "$BURST_ROUNDS"); do
  in_app "$B/helpers/workload" burst 1200M | awk '{print $5}' >> "$OUT/none"
  start
  until (( $(cat "$CG/$D/usbd-balloon/memory.usage_in_bytes" 2>/dev/null || echo 0) >= (1 << 30) )); do sleep 0.1; done
  sleep 0.5
  in_app "$B/helpers/workload" burst 1200M | awk '{print $5}' >> "$OUT/with"
  grep -q "worker died" "$OUT/usbd.log" && echo "  (round $i: the worker was OOM-killed)"
  stop
done
echo "rounds, in order: no balloon $(tr '\n' ' ' < "$OUT/none")| beside the balloon $(tr '\n' ' ' < "$OUT/with")"
echo "no balloon: median $(med "$OUT/none") ms; beside an inflated balloon: median $(med "$OUT/with") ms; ratio $(awk -v a="$(med "$OUT/with")" -v b="$(med "$OUT/none")" 'BEGIN {printf "%.3f", a/b}')x"
# As for inflation: where the host takes freed memory back, a round's memory is warm or cold by luck (1.2 GiB
# touched with no balloon at all took 0.45-1.3 s within a minute); the fastest rounds compare the two on warm memory.
echo "fastest rounds: no balloon $(fastest "$OUT/none") ms; beside an inflated balloon $(fastest "$OUT/with") ms; ratio $(awk -v a="$(fastest "$OUT/with")" -v b="$(fastest "$OUT/none")" 'BEGIN {printf "%.3f", a/b}')x"
fi

only idle || exit 0
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
