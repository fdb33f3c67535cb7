#!/usr/bin/env bash
# bench_lib.sh: libusbd's page-out policy against the kernel's reclaim, random, address-order FIFO and Belady's
# offline bound, on five workloads. As root, cgroup v1; makes a cgroup and a swap file and removes both at exit.
# Usage: bench/bench_lib.sh [BUILD_DIR]   (BENCH_LIB_QUICK=1: short workloads; HOG_MIB, THRESHOLD_MIB, SIZE_MIB,
# RUN_TIMEOUT and SKEW_ACCESSES (80/20's length) override the sizes below; WORKLOADS picks workloads, POLICIES
# policies (lib kernel random fifo by default; lib-cold: the tracker's cold memory only, no in-use memory; lib-late:
# lib registered after the fill, see below); lib, when listed, runs first in each workload, since the kernel run's limit comes from it;
# BENCH_LIB_KEEP=DIR keeps the traces, schedules and raw lines there)
#
# Domain 1 GiB; in its app cgroup a non-registered hog holds 512 MiB (never swapped: usbd keeps it out of swap),
# the threshold is 128 MiB, so the registered app (512 MiB) may keep about 384 MiB resident: the budget. The app
# policies answer SIGBALLOON (usbd ticks every 20 ms) by paging out the deficit plus 32 MiB (usbd counts what they
# paged out as free once it is idle swap cache, so the deficit is not asked twice); their limit is soft (between answers the app
# holds more, up to the domain limit, where the kernel reclaims too). Every run starts with the same unmeasured
# warm-up pass (bench_lib_policy --warmup).
# Fair comparisons: the kernel run ignores SIGBALLOON and gets a hard domain limit that lets it map, on average,
# what the lib run of the same workload mapped (RssAnon): the domain's usage just before the run (hog, caches)
# + the lib run's mean RssAnon + 2 MiB (page tables), corrected and rerun (up to twice) while the kernel run's own
# mean RssAnon differs from that by more than 2 % (swap-cache pages are charged but not mapped); without a lib
# run, domain - threshold. KERNEL_CAP=peak matches the lib run's peak RssAnon instead (the kernel then holds it
# throughout). Belady's bound is printed three ways: with the capacity following what the lib run's region held
# over time (mincore every 100 ms: mapped pages and pages still in the swap cache, which read back without a
# swap-in; in blocks; between samples the larger of the two): the bound for any policy that
# never holds more than lib held at any moment, the one the goal "swap-ins <= 1.2x Belady" is judged against; at the
# lib run's mean RssAnon (same average memory, not a bound); and at its peak (a bound, but one that lets MIN keep
# memory an app answering SIGBALLOONs must give back). Belady starts from the best resident set
# (deterministic; bench_lib_belady). A run saw pressure if it answered a SIGBALLOON (app policies) or its
# domain's memory.failcnt rose (kernel); one that did not is rerun up to twice, then flagged.
# lib-late registers after the fill, as the classic exercise does: until then its memory sits in the app cgroup,
# which may not swap once any app registered, and the fill beside the hog does not fit the domain. So the domain's
# limit is raised by the region's size for the run, and the app, once registered and its region tracked (which
# re-charges it, docs/LIBUSBD.md), writes the run's limit back (bench_lib_policy --late-limit): the kernel reclaims
# the excess from it, as it does during lib's own fill. The
# bounds (Belady, oracle) are computed on each lib run's own memory over time.
# Swap-ins and swap-outs are pages (/proc/vmstat deltas over the workload phase, machine-wide: run it on a quiet
# machine); Belady's bound is in pages too (misses x pages per block).
set -euo pipefail
BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
BENCH=$BUILD/bench
CGV1=/sys/fs/cgroup/memory
DOM=usbd-bench-$$-lib
APP=$DOM/app
DIR=$(mktemp -d /var/tmp/usbd-bench-lib.XXXXXX)
SWAP=$DIR/swapfile
SOCK=$DIR/apps.sock
DOMAIN=$((1 << 30)) HOG_MIB=${HOG_MIB:-512} THRESHOLD_MIB=${THRESHOLD_MIB:-128} SIZE_MIB=${SIZE_MIB:-512}
KERNEL_CAP=${KERNEL_CAP:-mean}
[[ $KERNEL_CAP == mean || $KERNEL_CAP == peak ]] || { echo "bench_lib.sh: KERNEL_CAP is mean or peak" >&2; exit 2; }
RUN_TIMEOUT=${RUN_TIMEOUT:-120}  # seconds; a policy that thrashes longer is reported as a timeout
BUDGET_MIB=$((DOMAIN / 1048576 - HOG_MIB - THRESHOLD_MIB))
PIDS=()
SWAPON=0
CLUSTER=''

[[ $(id -u) -eq 0 ]] || { echo "bench_lib.sh: needs root" >&2; exit 1; }
[[ -f $CGV1/cgroup.event_control ]] || { echo "bench_lib.sh: needs cgroup v1 at $CGV1" >&2; exit 1; }

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for d in $(find "$CGV1/$DOM" -depth -type d 2>/dev/null); do
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    for _ in $(seq 30); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
  ((SWAPON)) && swapoff "$SWAP"
  [[ -n $CLUSTER ]] && echo "$CLUSTER" > /proc/sys/vm/page-cluster
  [[ -n ${BENCH_LIB_KEEP:-} ]] && mkdir -p "$BENCH_LIB_KEEP" && cp "$DIR"/trace.* "$DIR"/raw "$BENCH_LIB_KEEP"/
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Swap readahead off for the run (restored at exit): a swap-in is then a page the app touched, not up to 7
# neighbours read with it, so pswpin and Belady's count (missed blocks x pages per block) measure the same thing.
CLUSTER=$(cat /proc/sys/vm/page-cluster)
echo 0 > /proc/sys/vm/page-cluster
mkdir "$CGV1/$DOM" "$CGV1/$APP"
echo $DOMAIN > "$CGV1/$DOM/memory.limit_in_bytes"
fallocate -l 1536M "$SWAP"
chmod 600 "$SWAP"
mkswap "$SWAP" >/dev/null
swapon "$SWAP"
SWAPON=1

# Its own harvest journal and state file: usbd locks the journal, and the default one would refuse another usbd.
"$BUILD/usbd" --domain "$DOM" --threshold ${THRESHOLD_MIB}M --apps-sock "$SOCK" --api-sock off --spot-listen off \
  --harvest-journal "$DIR/harvest.journal" --state-file "$DIR/targets.json" --tick-ms 20 --status-interval 0 "$APP" 2>"$DIR/usbd.log" &
PIDS+=($!)
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
[[ -S $SOCK ]] || { cat "$DIR/usbd.log" >&2; exit 1; }
bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGV1/$APP" "$BUILD/helpers/workload" hold ${HOG_MIB}M \
  >/dev/null &
PIDS+=($!)
sleep 3

if [[ ${BENCH_LIB_QUICK:-0} == 1 ]]; then
  HOT=(--passes 40) CYC=(--passes 2) SKEW=(--accesses 40000) PHASE=(--passes 40)
else
  HOT=(--passes 600) CYC=(--passes 4) SKEW=(--accesses ${SKEW_ACCESSES:-200000}) PHASE=(--passes 600)
fi
declare -A ARGS=([hot]="--workload hot ${HOT[*]}" [cyclic]="--workload cyclic ${CYC[*]}"
  [skew]="--workload skew ${SKEW[*]}" [phase]="--workload phase ${PHASE[*]}" [thp]="--workload hot ${HOT[*]} --huge")

field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

# One run: prints its line, or "policy P timeout".
run() { # workload policy limit_bytes
  local line late=() fill=$3
  [[ $2 == lib-late ]] && late=(--late-limit "$3") && fill=$(( $3 + (SIZE_MIB << 20) ))
  echo "$fill" > "$CGV1/$DOM/memory.limit_in_bytes"
  # shellcheck disable=SC2086
  line=$(bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGV1/$APP" timeout $RUN_TIMEOUT \
    "$BENCH/bench_lib_policy" --policy $2 ${ARGS[$1]} --size $SIZE_MIB --apps-sock "$SOCK" \
    --dom "$CGV1/$DOM" --trace "$DIR/trace.$1.$2" "${late[@]}" 2>>"$DIR/errors") || {
    local rc=$?
    line="policy $2 timeout"
    ((rc == 124)) || line="policy $2 failed (rc $rc): $(tail -n 1 "$DIR/errors" 2>/dev/null)"
  }
  echo $DOMAIN > "$CGV1/$DOM/memory.limit_in_bytes"
  echo "$line"
}
pressured() { # policy line
  if [[ $1 == kernel ]]; then (( $(field failcnt "$2") > 0 )); else (( $(field calls "$2") > 0 )); fi
}

printf '%-7s %-7s %9s %9s %8s %6s %7s %8s %9s %6s %6s %7s  %s\n' workload policy swap-in swap-out signals calls \
  scan_s majflt faults rss_mib peak_mib dom_mib pressure
for w in ${WORKLOADS:-hot cyclic skew phase thp}; do
  pols=${POLICIES:-lib kernel random fifo}
  if [[ " $pols " == *" lib "* ]]; then
    rest='' && for p in $pols; do [[ $p == lib ]] || rest+=" $p"; done && pols="lib$rest"
  fi
  lib_rss='' lib_mean='' lib_peak='' cap_blocks=''
  block_kib=64
  [[ $w == thp ]] && block_kib=2048
  for p in $pols; do
    limit=$DOMAIN
    if [[ $p == kernel ]]; then
      limit=$((DOMAIN - (THRESHOLD_MIB << 20)))
      base=$(cat "$CGV1/$DOM/memory.usage_in_bytes")
      [[ -n $lib_rss ]] && limit=$(( base + lib_rss + (2 << 20) ))
      (( limit > DOMAIN )) && limit=$DOMAIN
    fi
    for try in 1 2 3; do
      line=$(run $w $p $limit)
      [[ $line == *timeout || $line == *failed* ]] && break
      if ! pressured $p "$line"; then
        echo "$line no_pressure_try $try" >>"$DIR/raw"
        continue
      fi
      [[ $p == kernel && -n $lib_mean ]] || break
      diff=$(( cap_blocks - $(field mean_blocks "$line") ))
      (( diff * 50 <= cap_blocks && -diff * 50 <= cap_blocks )) && break
      ((try < 3)) || break
      echo "$line rss_off_by_blocks $diff try $try" >>"$DIR/raw"
      limit=$(( limit + diff * block_kib * 1024 ))
      (( limit > DOMAIN )) && limit=$DOMAIN
    done
    echo "$line" >>"$DIR/raw"
    [[ $line == *timeout ]] && { printf '%-7s %-7s  timeout after %s s\n' $w $p $RUN_TIMEOUT; continue; }
    [[ $line == *failed* ]] && { printf '%-7s %-7s  %s\n' $w $p "$line"; continue; }
    flag="yes (try $try)"
    pressured $p "$line" || flag="NO PRESSURE in 3 tries: not comparable"
    if [[ $p == lib ]]; then
      lib_mean=$(field mean_blocks "$line") lib_peak=$(field peak_blocks "$line") cap_blocks=$lib_mean
      [[ $KERNEL_CAP == peak ]] && cap_blocks=$lib_peak
      lib_rss=$(( cap_blocks * block_kib * 1024 ))
    fi
    printf '%-7s %-7s %9s %9s %8s %6s %7.1f %8s %9s %6s %6s %7s  %s\n' $w $p "$(field pswpin "$line")" \
      "$(field pswpout "$line")" "$(field signals "$line")" "$(field calls "$line")" \
      "$(echo "$(field scan_ms "$line") / 1000" | bc -l)" "$(field majflt "$line")" "$(field faults "$line")" \
      $(( $(field mean_blocks "$line") * block_kib / 1024 )) $(( $(field peak_blocks "$line") * block_kib / 1024 )) \
      "$(( limit >> 20 ))" "$flag"
  done
  # Any finished run's trace will do: the accesses are the same (Belady's start state is its own best one).
  trace=$(ls "$DIR"/trace.$w.* 2>/dev/null | head -n 1)
  [[ -n $trace ]] || { printf '%-7s %-7s  no finished run to take a trace from\n' $w belady; continue; }
  for lp in lib lib-late; do
    [[ -s $DIR/trace.$w.$lp.sched ]] || continue
    opt=$("$BENCH/bench_lib_belady" "$DIR/trace.$w.$lp" --schedule "$DIR/trace.$w.$lp.sched")
    printf '%-7s %-7s %9s   (capacity: what the %s run held over time, sampled every 100 ms)\n' $w \
      belady $(( $(field misses "$opt") * block_kib / 4 )) $lp
    if [[ -s $DIR/trace.$w.$lp.weights ]]; then
      opt=$("$BENCH/bench_lib_belady" "$DIR/trace.$w.$lp" --schedule "$DIR/trace.$w.$lp.sched" \
        --weights "$DIR/trace.$w.$lp.weights")
      printf '%-7s %-7s %9s   (online oracle: knows each block'"'"'s probability, not the order; %s'"'"'s capacity)\n' \
        $w oracle $(( $(field misses "$opt") * block_kib / 4 )) $lp
    fi
  done
  if [[ -n $lib_mean ]]; then
    for cap in "$lib_mean mean" "$lib_peak peak"; do
      set -- $cap
      opt=$("$BENCH/bench_lib_belady" "$trace" "$1")
      printf '%-7s %-7s %9s   (capacity: the lib run'"'"'s %s resident, %s blocks = %s MiB)\n' $w belady \
        $(( $(field misses "$opt") * block_kib / 4 )) "$2" "$1" $(( $1 * block_kib / 1024 ))
    done
  else
    opt=$("$BENCH/bench_lib_belady" "$trace" $((BUDGET_MIB * 1024 / block_kib)))
    printf '%-7s %-7s %9s   (capacity: the budget, %s MiB; no lib run)\n' $w belady \
      $(( $(field misses "$opt") * block_kib / 4 )) $BUDGET_MIB
  fi
done
echo "raw lines:"
cat "$DIR/raw"
