#!/usr/bin/env bash
# Runs usbd's guest cases inside a QEMU guest (cgroup v2, whole-host mode) and returns their verdict.
#   tests/vm/run.sh [--guest debian|busybox] [--build DIR] [--mem SIZE] [--timeout SECS] [--case-timeout SECS]
#                   [--log FILE] [--debs DIR] [CASE...]
# The guest: debian (default), a cached Debian 12 image booting systemd with Debian's own cgroup v2 setup
# (debian/image.sh), or busybox, an initramfs with a bare cgroup2 mount (1 GiB, quicker to make). CASE is a script
# name under tests/vm/cases (without .sh) or, in the Debian guest, an integration test under tests/integration;
# default: all the cases, in name order, then (Debian guest) every integration test marked "# backends: v1 v2"
# (the same scripts that run on cgroup v1 on the host; in the guest they shrink their sizes). The guest's console
# log is printed when any case fails. --debs DIR: the .debs in DIR go onto the test disk (/vmtests/debs) for the
# Debian guest's pkg_apt case, which skips without them. Exit status: 0 all passed (or skipped), 1 a case failed,
# 77 qemu or the guest's parts cannot be had on this machine (the caller decides whether that skips).
set -euo pipefail
source "$(dirname "$0")/host.sh"
source "$(dirname "$0")/debian/host.sh"

build=${USBD_BUILD:-$(cd "$VM_SRC/../.." && pwd)/build}
timeout_s=270
case_timeout=90
keep_log=
guest=debian
mem=
cases=()
while (($#)); do
  case $1 in
    --guest) guest=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --case-timeout) case_timeout=$2; shift 2 ;;
    --log) keep_log=$2; shift 2 ;;
    --debs) DVM_DEBS=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) cases+=("$1"); shift ;;
  esac
done
case $guest in
  # 2.5 GiB: scripts/demo.sh makes a 2 GiB domain, which usbd refuses on a smaller machine. 1 GiB of swap: the
  # harvest and libusbd tests swap up to 512 MiB.
  debian) VM_MEM=${mem:-2560M} VM_SWAP_SIZE=1G ;;
  busybox) VM_MEM=${mem:-$VM_MEM} ;;
  *) echo "run.sh: unknown guest $guest (debian or busybox)" >&2; exit 2 ;;
esac
integration=$(cd "$VM_SRC/../integration" && pwd)
if ((${#cases[@]} == 0)); then
  for f in "$VM_SRC"/cases/*.sh; do cases+=("$(basename "$f" .sh)"); done
  if [[ $guest == debian ]]; then
    for f in $(grep -lx '# backends: v1 v2' "$integration"/*.sh); do cases+=("$(basename "$f" .sh)"); done
  fi
fi
files=()
for c in "${cases[@]}"; do
  if [[ -f $VM_SRC/cases/$c.sh ]]; then
    files+=("$VM_SRC/cases/$c.sh")
  elif [[ $guest == debian && -f $integration/$c.sh ]]; then
    files+=("$integration/$c.sh")
  else
    echo "run.sh: no case $VM_SRC/cases/$c.sh (nor, in the Debian guest, $integration/$c.sh)" >&2
    exit 2
  fi
done
[[ -x $build/usbd && -x $build/usbdctl ]] || { echo "run.sh: build usbd first (no $build/usbd)" >&2; exit 2; }

rc=0
if [[ $guest == debian ]]; then dvm_prepare || rc=$?; else vm_prepare || rc=$?; fi
((rc == 0)) || exit "$rc"

work=$(mktemp -d /tmp/usbd-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'VMTEST_TIMEOUT=%s\nVMTEST_CASES="%s"\n' "$case_timeout" "${cases[*]}" > "$work/run.conf"
# A sanitizer build's options (as scripts/test.sh sets them) hold inside the guest too.
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
  [[ -z ${!v:-} || ${!v} == *"'"* ]] || printf "export %s='%s'\n" "$v" "${!v}" >> "$work/run.conf"
done
start=$SECONDS
qrc=0
if [[ $guest == debian ]]; then
  dvm_testdisk "$build" "$work/tests.img" "$work/run.conf" "${files[@]}"
  echo "vm: booting Debian 12 ($(basename "$DVM_IMAGE")) with $VM_MEM, $VM_CPUS vCPUs (TCG) for: ${cases[*]}"
  dvm_boot "$work/tests.img" "$work/console.log" "$timeout_s" || qrc=$?
  if ((qrc == 125)); then
    echo "vm: the guest did not reach its cases in ${DVM_BOOT_WAIT:-420} s (console tail below); booting once more"
    tail -n 15 "$work/console.log" | tr -d '\r'
    qrc=0
    dvm_boot "$work/tests.img" "$work/console.log" "$timeout_s" || qrc=$?
  fi
else
  vm_initramfs "$build" "$work/initrd.gz" "$work/run.conf" "${files[@]}"
  echo "vm: booting $(basename "$VM_KERNEL") with $VM_MEM, $VM_CPUS vCPUs (TCG) for: ${cases[*]}"
  vm_boot "$work/initrd.gz" "$work/console.log" "$timeout_s" || qrc=$?
fi
[[ -z $keep_log ]] || cp "$work/console.log" "$keep_log"
echo "vm: guest ran $((SECONDS - start)) s (qemu status $qrc)"
((qrc != 124)) || echo "vm: the guest outlived ${timeout_s}s and was stopped"
if vm_verdicts "$work/console.log" "${cases[@]}"; then
  exit 0
fi
echo "----- guest console log -----"
tr -d '\r' < "$work/console.log"
echo "----- end of guest console log -----"
exit 1
