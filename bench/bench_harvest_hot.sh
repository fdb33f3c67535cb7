#!/usr/bin/env bash
# bench_harvest_hot: the app's hot-loop throughput while usbd harvests, against the same run without harvesting
# (goal: <= 2 % slowdown). As root, cgroup v1, after scripts/build.sh.
#   sudo bench/bench_harvest_hot.sh [BUILD_DIR]     (ROUNDS=4, AFTER_S=30, TARGET_MIB=512, APP_MIB=1024, HOT_MIB=200)
# Each round runs two apps AT ONCE, each in a fresh domain (3 GiB) with an app cgroup: tests/helpers/harvest_app
# --busy holds APP_MIB and touches its first HOT_MIB over and over (one write per page, no pause: hot_ops counts
# the pages touched). Once both hold everything, two real daemons start together: `usbd --domain D D/app
# --swap-target TARGET_MIB M` for one (harvest) and the same with `--swap-target 0` for the other (none: same
# daemon, same balloon, no harvesting). Which of the two is harvested alternates by round (A/B). Running the pair
# at the same time is what makes the ratio usable here: on this shared 2-core machine an idle app's throughput
# swings by +-50 % from one second to the next, and by 2x between runs a minute apart; both apps of a pair see the
# same swings. The price: CPU the harvest costs (usbd's thread does the reclaim) is taken from both apps, not
# from the harvested one only, so the line "harvesting usbd used N ms of CPU" is printed beside the ratios.
# PIN=1 (default): both apps share the last CPU and everything else (daemons, samplers, this script) runs on
# CPU 0, so that the pair also shares its CPU's noise. Then a stall of the harvested app (a major fault) hands
# the CPU to the other app: stalls count about twice in the ratio (pessimistic), CPU costs in the app once.
# Windows, in ms after the daemons' start, taken from the harvested app's samples, applied to both:
#   wait:   usbd start .. first swapped page (the stability window: nothing is harvested yet; a noise check)
#   during: first swapped page .. swap >= target - 8 MiB
#   after:  target reached .. AFTER_S seconds later
# Printed per round and window: hot pages touched per second (millions) for both runs, the ratio harvest / none,
# and the hot set's major faults in the window. Then the mean ratio over the rounds per window.
set -euo pipefail
export USBD_BUILD=${1:-${USBD_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}}
source "$(dirname "$0")/../tests/integration/lib.sh"
source "$(dirname "$0")/../tests/integration/harvest_lib.bash"
require_root_v1

ROUNDS=${ROUNDS:-4} AFTER_S=${AFTER_S:-30} TARGET_MIB=${TARGET_MIB:-512} APP_MIB=${APP_MIB:-1024}
HOT_MIB=${HOT_MIB:-200} PIN=${PIN:-1}
APP_CPU=()
NCPU=$(nproc --all)
if ((PIN)); then
  ((NCPU > 1)) || fail "PIN=1 needs two CPUs (PIN=0 runs unpinned)"
  APP_CPU=(taskset -c $((NCPU - 1)))
  taskset -p -c 0 $$ > /dev/null
fi
GOAL=$(((TARGET_MIB - 8) << 20))

# sampler STATUS CG OUT: every 0.2 s appends "t_ms hot_ops hot_majflt swap_bytes" (the app's last status line,
# the cgroup's swap as read then).
sampler() {
  while :; do
    awk 'FNR == NR { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }; next }
         $1 == "total_swap" { sw = $2 }
         END { if (f["t_ms"] != "") print f["t_ms"], f["hot_ops"], f["hot_majflt"], sw }' \
      "$1" "$CGV1/$2/memory.stat" >> "$3" 2>/dev/null || true
    sleep 0.2
  done
}

# windows SAMPLES T_USBD: from a harvest run, prints the offsets "t0 t1 t2" (ms after T_USBD) of the first
# swapped page, of the target and of the end of the after window.
windows() {
  awk -v tu="$2" -v goal="$GOAL" -v after=$((AFTER_S * 1000)) '
    $4 > 0 && t0 == "" { t0 = $1 - tu }
    $4 >= goal && t1 == "" { t1 = $1 - tu }
    END { if (t1 == "") exit 1; print t0, t1, t1 + after }' "$1"
}

# rate SAMPLES FROM TO: "ops_per_s majflt" over the samples inside [FROM, TO] (absolute ms).
rate() {
  awk -v a="$2" -v b="$3" '
    $1 >= a && ta == "" { ta = $1; oa = $2; fa = $3 }
    $1 <= b { tb = $1; ob = $2; fb = $3 }
    END { if (ta == "" || tb <= ta) { print "nan nan"; exit } printf "%.0f %d\n", (ob - oa) * 1000 / (tb - ta), fb - fa }' "$1"
}

# start_app NAME: a fresh domain NAME (3 GiB) with the app in NAME/app; sets APP_PID.
start_app() {
  mkcg "$1" $((3 << 30))
  mkcg "$1/app"
  run_in_cg "$1/app" "${APP_CPU[@]}" "$HARVEST_APP" --busy --hot "${HOT_MIB}M" --status "$T_DIR/$1.status" "${APP_MIB}M" &
  APP_PID=$!
  T_PIDS+=("$APP_PID")
}

# start_usbd_in NAME TARGET: usbd for domain NAME, its app NAME/app; sets UPID.
start_usbd_in() {
  "$USBD" --domain "$1" "$1/app" --swap-target "$2" --harvest-journal "$T_DIR/$1.journal" --api-sock off \
    --spot-listen off --apps-sock "$T_DIR/$1.sock" --status-interval 1 > "$T_DIR/$1.usbd.log" 2>&1 &
  UPID=$!
  T_PIDS+=("$UPID")
}

# cpu_ms PID: user + system CPU time of a process so far, in ms (all its threads).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

# remove_domain NAME
remove_domain() {
  cg_kill_all "$1/app"
  for _ in $(seq 30); do rmdir "$CGV1/$1/app" 2>/dev/null && break; sleep 0.1; done
  find "$CGV1/$1" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
  rmdir "$CGV1/$1" 2>/dev/null || true
}

# run_pair ROUND: both apps at once, one harvested (a in odd rounds, b in even ones). Prints one line per window:
#   ROUND WINDOW FROM-TO RATE_HARVEST RATE_NONE RATIO FAULTS_HARVEST FAULTS_NONE
# and leaves the harvest usbd's CPU time over the during window in $T_DIR/cpu-ROUND ("cpu_ms window_ms").
run_pair() {
  local r=$1 h n hp np hu nu hs ns tu c0 c1 t0 t1 t2 w a b rh fh rn fn
  if ((r % 2)); then h=$T_NAME-a-$r n=$T_NAME-b-$r; else h=$T_NAME-b-$r n=$T_NAME-a-$r; fi
  start_app "$h"; hp=$APP_PID
  start_app "$n"; np=$APP_PID
  for d in "$h" "$n"; do
    wait_for 180 "the app to hold $APP_MIB MiB" \
      bash -c "[[ -f $T_DIR/$d.status ]] && grep -q 'size=$((APP_MIB << 20)) growing=0' $T_DIR/$d.status"
  done
  sampler "$T_DIR/$h.status" "$h/app" "$T_DIR/harvest-$r.samples" &
  hs=$!
  sampler "$T_DIR/$n.status" "$n/app" "$T_DIR/none-$r.samples" &
  ns=$!
  T_PIDS+=("$hs" "$ns")
  sleep 1
  tu=$(app_field "$T_DIR/$h.status" t_ms)
  start_usbd_in "$h" "${TARGET_MIB}M"; hu=$UPID
  start_usbd_in "$n" 0; nu=$UPID
  c0=$(cpu_ms "$hu")
  wait_for 600 "swap to reach $((GOAL >> 20)) MiB" bash -c "(( \$(awk '\$1 == \"total_swap\" { print \$2 }' \
    $CGV1/$h/app/memory.stat) >= $GOAL ))"
  c1=$(cpu_ms "$hu")
  sleep $((AFTER_S + 1))
  kill "$hs" "$ns"; wait "$hs" "$ns" 2>/dev/null || true
  read -r t0 t1 t2 < <(windows "$T_DIR/harvest-$r.samples" "$tu") || fail "no target in the samples of round $r"
  echo "$((c1 - c0)) $((t1 - t0))" > "$T_DIR/cpu-$r"
  for w in wait during after; do
    case $w in wait) a=0 b=$t0 ;; during) a=$t0 b=$t1 ;; after) a=$t1 b=$t2 ;; esac
    read -r rh fh < <(rate "$T_DIR/harvest-$r.samples" $((tu + a)) $((tu + b)))
    read -r rn fn < <(rate "$T_DIR/none-$r.samples" $((tu + a)) $((tu + b)))
    echo "$r $w $a-$b $rh $rn $(awk -v h="$rh" -v n="$rn" 'BEGIN { if (n > 0) printf "%.3f", h / n; else print "nan" }')" \
      "$fh $fn"
  done
  kill -0 "$hu" && kill -0 "$nu" || { tail -n 5 "$T_DIR/$h.usbd.log" "$T_DIR/$n.usbd.log" >&2; fail "a usbd died"; }
  kill "$hu" "$nu"; wait "$hu" "$nu" 2>/dev/null || true
  kill "$hp" "$np"; wait "$hp" "$np" 2>/dev/null || true
  for d in "$h" "$n"; do [[ ! -f $T_DIR/$d.journal ]] || fail "$d: a harvest journal was left behind"; done
  [[ -z ${KEEP_SAMPLES:-} ]] || cp "$T_DIR"/*-"$r".samples "$KEEP_SAMPLES"/
  echo "$r $tu" > "$T_DIR/tusbd-$r"
  remove_domain "$h"; remove_domain "$n"
}

make_swap $((TARGET_MIB * 3))
echo "app $APP_MIB MiB, hot $HOT_MIB MiB (harvest_app --busy), swap target $TARGET_MIB MiB, $ROUNDS rounds," \
  "$( ((PIN)) && echo "both apps on CPU $((NCPU - 1)), the rest on CPU 0" || echo "not pinned");" \
  "throughput in millions of hot pages touched per second"
printf '%-5s %-7s %14s %9s %9s %8s %10s %10s\n' round window "offsets_ms" harvest none ratio flt_harv flt_none
declare -A ratios
for r in $(seq "$ROUNDS"); do
  run_pair "$r" > "$T_DIR/round-$r"
  while read -r rr w off rh rn ratio fh fn; do
    ratios[$w]="${ratios[$w]:-} $ratio"
    printf '%-5s %-7s %14s %9.1f %9.1f %8s %10s %10s\n' "$rr" "$w" "$off" "$(awk -v x="$rh" 'BEGIN { print x / 1e6 }')" \
      "$(awk -v x="$rn" 'BEGIN { print x / 1e6 }')" "$ratio" "$fh" "$fn"
  done < "$T_DIR/round-$r"
  read -r cms wms < "$T_DIR/cpu-$r"
  echo "      harvesting usbd used $cms ms of CPU over the $wms ms of harvesting" \
    "($(awk -v c="$cms" -v w="$wms" 'BEGIN { printf "%.1f", c * 100 / w }') % of one core)"
done
for w in wait during after; do
  awk -v w="$w" -v l="${ratios[$w]}" 'BEGIN { n = split(l, x, " "); s = 0; lo = 1e9; hi = 0
    for (i = 1; i <= n; i++) { s += x[i]; if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i] }
    printf "mean harvest/none ratio, %-7s %.3f (min %.3f, max %.3f; slowdown %.1f %%)\n", w ":", s / n, lo, hi,
      (1 - s / n) * 100 }'
done
