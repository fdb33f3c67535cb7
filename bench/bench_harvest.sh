#!/usr/bin/env bash
# bench_harvest: the harvester against the original balloon's method, on the same app and swap target.
#   sudo bench/bench_harvest.sh [BUILD_DIR]
# Each method gets a fresh cgroup and app (1 GiB, first 200 MiB kept hot) and must put 512 MiB of it in swap
# (a private 1.5 GiB swap file). Reported: seconds from the first swapped page to the target (harvest rate in
# MiB/s), and the hot set's major faults per harvested MiB (what the app paid).
#   usbd:     tests/helpers/harvest_drive (stable window, slow start, back-off, v1 limit slices, always restored)
#   original: once per second, limit = usage - 64 MiB, then unlimited
set -euo pipefail
export USBD_BUILD=${1:-${USBD_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}}
source "$(dirname "$0")/../tests/integration/lib.sh"
source "$(dirname "$0")/../tests/integration/harvest_lib.bash"
require_root_v1

TARGET=$((512 << 20)) GOAL=$(((512 - 8) << 20))

original_method() {  # CG: the original balloon's loop
  local u
  while (( $(cg_swap "$1") < GOAL )); do
    u=$(cg_get "$1" memory.usage_in_bytes)
    echo $((u - (64 << 20))) > "$CGV1/$1/memory.limit_in_bytes" 2>/dev/null || true
    echo -1 > "$CGV1/$1/memory.limit_in_bytes"
    sleep 1
  done
}

# run METHOD: prints "METHOD seconds rate_mib_s hot_faults faults_per_mib"
run() {
  local cg=$T_NAME-$1 t0 t1 s hot pid
  mkcg "$cg"
  run_in_cg "$cg" "$HARVEST_APP" --hot 200M --status "$T_DIR/app-$1" 1G &
  T_PIDS+=($!)
  wait_for 60 "the app" bash -c "[[ -f $T_DIR/app-$1 ]] && grep -q 'size=1073741824 growing=0' $T_DIR/app-$1"
  if [[ $1 == usbd ]]; then
    "$HARVEST_DRIVE" --target 512M --journal "$T_DIR/journal" "$cg" >/dev/null 2>&1 &
  else
    original_method "$cg" &
  fi
  pid=$!
  T_PIDS+=("$pid")
  while (( $(cg_swap "$cg") == 0 )); do sleep 0.05; done
  t0=$(date +%s.%N)
  while (( $(cg_swap "$cg") < GOAL )); do sleep 0.05; done
  t1=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  sleep 1
  s=$(cg_swap "$cg")
  hot=$(app_field "$T_DIR/app-$1" hot_majflt)
  awk -v m="$1" -v t0="$t0" -v t1="$t1" -v s="$s" -v h="$hot" 'BEGIN {
    mib = s / 1048576; printf "%-9s %8.1f %10.1f %12d %10.2f %9d\n", m, t1 - t0, mib / (t1 - t0), h, h / mib, mib }'
  cg_kill_all "$cg"
}

make_swap 1536
printf "%-9s %8s %10s %12s %10s %9s\n" method seconds "MiB/s" hot_majflt "flt/MiB" swap_MiB
run usbd
run original
