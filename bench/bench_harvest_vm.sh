#!/usr/bin/env bash
# The harvester on cgroup v2 against the original balloon's method and a senpai-like memory.high probe, in the
# QEMU guest of tests/vm, as root after scripts/build.sh. The guest side is
# tests/vm/bench/harvest_compare.sh (what each method does is described there). Under software emulation absolute
# times mean little: compare the methods with each other, and the throughput ratios (each harvested app runs
# beside an identical app nothing harvests).
# Usage: bench/bench_harvest_vm.sh [--build DIR] [--rounds N] [--app MIB] [--target MIB] [--mem MIB] [--log FILE]
#        (defaults: build, 2 rounds, a 256 MiB app with 20 % hot, a 128 MiB target, a 1024 MiB guest)
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/host.sh
build=build rounds=2 app=256 target=128 keep_log=
VM_MEM=1024
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --app) app=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --mem) VM_MEM=$2; shift 2 ;;
    --log) keep_log=$2; shift 2 ;;
    *) sed -n '7,8p' "$0" >&2; exit 2 ;;
  esac
done
[[ -x $build/usbd && -x $build/helpers/harvest_app ]] || { echo "bench_harvest_vm: build usbd first" >&2; exit 2; }
vm_prepare

work=$(mktemp -d /tmp/usbd-bench-harvest-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'VMTEST_TIMEOUT=3000\nVMTEST_CASES=harvest_compare\nVMBENCH_ROUNDS=%s\nVMBENCH_APP_MIB=%s\nVMBENCH_TARGET_MIB=%s\n' \
  "$rounds" "$app" "$target" > "$work/run.conf"
vm_initramfs "$build" "$work/initrd.gz" "$work/run.conf" tests/vm/bench/harvest_compare.sh
echo "vm: booting $(basename "$VM_KERNEL") with ${VM_MEM} MiB, $VM_CPUS vCPUs (TCG); this takes a while" >&2
rc=0
vm_boot "$work/initrd.gz" "$work/console.log" 3300 || rc=$?
[[ -z $keep_log ]] || cp "$work/console.log" "$keep_log"
log=$(tr -d '\r' < "$work/console.log")
if ! grep -q '^VMTEST PASS harvest_compare' <<<"$log"; then
  echo "bench_harvest_vm: the guest side failed (qemu status $rc); its console log:" >&2
  echo "$log" >&2
  exit 1
fi
grep -E '^(VMTEST BOOTED|app [0-9]+ MiB|VMBENCH RESULT)' <<<"$log" | sed 's/^/guest: /'

echo
echo "QEMU TCG, ${VM_MEM} MiB guest, $(basename "$VM_KERNEL"), cgroup v2; app $app MiB (20 % hot), target $target MiB;" \
  "$rounds rounds; means over the rounds"
printf '%-10s %9s %9s %11s %9s %12s %12s %12s\n' method seconds "MiB/s" majflt "flt/MiB" wait_ratio during_ratio \
  after_ratio
for m in usbd original senpai; do
  grep -E "^VMBENCH RESULT harvest method=$m " <<<"$log" | awk -v m="$m" '
    { for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } n++ }
    END { if (!n) exit
      s = v["seconds"] / n; sw = v["swap_mib"] / n; f = v["majflt"] / n
      printf "%-10s %9.1f %9.1f %11.0f %9.2f %12.3f %12.3f %12.3f\n", m, s, (s > 0 ? sw / s : 0), f,
        (sw > 0 ? f / sw : 0), v["wait_ratio"] / n, v["during_ratio"] / n, v["after_ratio"] / n }'
done
