#!/usr/bin/env bash
# bench_lib.sh: libusbd's page-out policy against the kernel's reclaim, random, address-order FIFO and Belady's
# offline bound, on five workloads (issue 6, "Measure"). As root, cgroup v1; makes a cgroup and a swap file and
# removes both at exit. Usage: bench/bench_lib.sh [BUILD_DIR]   (BENCH_LIB_QUICK=1: short workloads;
# HOG_MIB, THRESHOLD_MIB, SIZE_MIB and RUN_TIMEOUT override the sizes below; WORKLOADS picks workloads, POLICIES
# policies and their order, e.g. POLICIES="kernel lib": the first run of an invocation may see less pressure)
#
# Domain 1 GiB; in its app cgroup a non-registered hog holds 512 MiB (never swapped: usbd keeps it out of swap),
# the threshold is 128 MiB, so the registered app (512 MiB) may keep about 384 MiB resident: the budget. The app
# policies answer SIGBALLOON (usbd ticks every 20 ms) by paging out the deficit plus 32 MiB. The kernel run
# ignores SIGBALLOON and gets the same budget as a hard limit (domain limit lowered by the threshold).
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
RUN_TIMEOUT=${RUN_TIMEOUT:-120}  # seconds; a policy that thrashes longer is reported as a timeout
BUDGET_MIB=$((DOMAIN / 1048576 - HOG_MIB - THRESHOLD_MIB))
PIDS=()
SWAPON=0

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
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$CGV1/$DOM" "$CGV1/$APP"
echo $DOMAIN > "$CGV1/$DOM/memory.limit_in_bytes"
fallocate -l 1536M "$SWAP"
chmod 600 "$SWAP"
mkswap "$SWAP" >/dev/null
swapon "$SWAP"
SWAPON=1

"$BUILD/usbd" --domain "$DOM" --threshold ${THRESHOLD_MIB}M --apps-sock "$SOCK" --api-sock off --spot-listen off \
  --tick-ms 20 --status-interval 0 "$APP" 2>"$DIR/usbd.log" &
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
  HOT=(--passes 600) CYC=(--passes 4) SKEW=(--accesses 200000) PHASE=(--passes 600)
fi
declare -A ARGS=([hot]="--workload hot ${HOT[*]}" [cyclic]="--workload cyclic ${CYC[*]}"
  [skew]="--workload skew ${SKEW[*]}" [phase]="--workload phase ${PHASE[*]}" [thp]="--workload hot ${HOT[*]} --huge")

field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

printf '%-7s %-7s %9s %9s %8s %6s %7s %8s %9s\n' workload policy swap-in swap-out signals calls scan_s majflt faults
for w in ${WORKLOADS:-hot cyclic skew phase thp}; do
  for p in ${POLICIES:-lib kernel random fifo}; do
    if [[ $p == kernel ]]; then
      echo $((DOMAIN - (THRESHOLD_MIB << 20))) > "$CGV1/$DOM/memory.limit_in_bytes"
    fi
    # shellcheck disable=SC2086
    line=$(bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGV1/$APP" timeout $RUN_TIMEOUT \
      "$BENCH/bench_lib_policy" --policy $p ${ARGS[$w]} --size $SIZE_MIB --apps-sock "$SOCK" \
      --trace "$DIR/trace.$w.$p") || line="policy $p timeout"
    echo $DOMAIN > "$CGV1/$DOM/memory.limit_in_bytes"
    echo "$line" >>"$DIR/raw"
    [[ $line == *timeout ]] && { printf '%-7s %-7s  timeout after %s s\n' $w $p $RUN_TIMEOUT; continue; }
    printf '%-7s %-7s %9s %9s %8s %6s %7.1f %8s %9s\n' $w $p "$(field pswpin "$line")" "$(field pswpout "$line")" \
      "$(field signals "$line")" "$(field calls "$line")" "$(echo "$(field scan_ms "$line") / 1000" | bc -l)" \
      "$(field majflt "$line")" "$(field faults "$line")"
  done
  block_kib=64
  [[ $w == thp ]] && block_kib=2048
  # Any finished run's trace will do: the accesses are the same, only the starting resident set differs.
  trace=$(ls "$DIR"/trace.$w.* 2>/dev/null | head -n 1)
  [[ -n $trace ]] || { printf '%-7s %-7s  no finished run to take a trace from\n' $w belady; continue; }
  opt=$("$BENCH/bench_lib_belady" "$trace" $((BUDGET_MIB * 1024 / block_kib)))
  printf '%-7s %-7s %9s   (trace of the %s run)\n' $w belady $(( $(field misses "$opt") * block_kib / 4 )) "${trace##*.}"
done
echo "raw lines:"
cat "$DIR/raw"
