#!/usr/bin/env bash
# The kernel's virtio_balloon against usbd, in the same small QEMU guest (tests/vm), as root after
# scripts/build.sh: the time to take 512 MiB and to give it back (ROUNDS rounds each), and what happens to an app
# burst while each balloon holds 512 MiB (deflate-on-oom on for both). The virtio balloon is driven from the host
# through QEMU's QMP socket (`balloon`, `query-balloon` polled); usbd through its API (usbdctl). Under software
# emulation absolute times mean little: compare the ratios, measured in the same guest.
# Usage: bench/bench_vm.sh [--build DIR] [--rounds N] [--burst SIZE] [--mem MIB] [--log FILE]
#        (defaults: build, 3 rounds, a 512M burst, a 1024 MiB guest; --log keeps the guest's console log)
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/host.sh
build=build rounds=3 burst=512M keep_log=
VM_MEM=1024
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --mem) VM_MEM=$2; shift 2 ;;
    --log) keep_log=$2; shift 2 ;;
    *) sed -n '7,8p' "$0" >&2; exit 2 ;;
  esac
done
[[ -x $build/usbd ]] || { echo "bench_vm: build usbd first (no $build/usbd)" >&2; exit 2; }
vm_prepare

work=$(mktemp -d /tmp/usbd-bench-vm.XXXXXX)
qemu_pid=
cleanup() {
  [[ -z $qemu_pid ]] || kill "$qemu_pid" 2>/dev/null || true
  [[ -z $qemu_pid ]] || wait "$qemu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
printf 'VMTEST_TIMEOUT=1500\nVMTEST_CASES=balloon_compare\nVMBENCH_ROUNDS=%s\nVMBENCH_BURST=%s\nVMBENCH_VM_MIB=%s\n' \
  "$rounds" "$burst" "$VM_MEM" > "$work/run.conf"
vm_initramfs "$build" "$work/initrd.gz" "$work/run.conf" tests/vm/bench/balloon_compare.sh

# QMP on a loopback port nobody listens on, spoken from bash through /dev/tcp.
port=
for _ in $(seq 20); do
  p=$((20000 + RANDOM % 30000))
  { (exec 3<>"/dev/tcp/127.0.0.1/$p"); } 2>/dev/null || { port=$p; break; }
done
[[ -n $port ]] || { echo "bench_vm: no free loopback port for QMP" >&2; exit 1; }
vm_boot "$work/initrd.gz" "$work/console.log" 1800 -qmp "tcp:127.0.0.1:$port,server=on,wait=off" &
qemu_pid=$!

qmp_connect() {
  local line
  for _ in $(seq 100); do
    { exec {QMP}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null && break
    sleep 0.1
  done
  [[ -n ${QMP:-} ]] || { echo "bench_vm: cannot reach QMP on port $port" >&2; exit 1; }
  read -r -t 10 -u "$QMP" line   # the greeting
  qmp '{"execute": "qmp_capabilities"}' > /dev/null
}
# qmp JSON: sends a command and prints its "return" line (events in between are skipped).
qmp() {
  local line
  echo "$1" >&"$QMP"
  while read -r -t 10 -u "$QMP" line; do
    [[ $line == *'"return"'* ]] && { echo "$line"; return 0; }
    [[ $line == *'"error"'* ]] && { echo "bench_vm: QMP error: $line" >&2; return 1; }
  done
  echo "bench_vm: no QMP answer to $1" >&2
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# balloon MIB: sets the guest's target RAM and polls query-balloon until the guest reached it; prints the ms.
balloon() {
  local want=$(($1 << 20)) t0 actual
  t0=$(now_ms)
  qmp "{\"execute\": \"balloon\", \"arguments\": {\"value\": $want}}" > /dev/null
  for _ in $(seq 6000); do
    actual=$(qmp '{"execute": "query-balloon"}' | grep -o '"actual": *[0-9]*' | grep -o '[0-9]*$')
    ((actual == want)) && { echo "$(($(now_ms) - t0))"; return 0; }
    sleep 0.05
  done
  echo "bench_vm: the guest never reached $1 MiB (at $((actual >> 20)) MiB)" >&2
  return 1
}

qmp_connect
handled=0
host_ms=()
while kill -0 "$qemu_pid" 2>/dev/null; do
  mapfile -t reqs < <(tr -d '\r' < "$work/console.log" | grep -E '^VMBENCH REQUEST balloon [0-9]+$' || true)
  while ((handled < ${#reqs[@]})); do
    mib=${reqs[handled]##* }
    ms=$(balloon "$mib")
    host_ms+=("$mib:$ms")
    echo "host: balloon to $mib MiB reached in $ms ms (query-balloon)"
    handled=$((handled + 1))
  done
  sleep 0.1
done
wait "$qemu_pid" || true
qemu_pid=
[[ -z $keep_log ]] || cp "$work/console.log" "$keep_log"

log=$(tr -d '\r' < "$work/console.log")
if ! grep -q '^VMTEST PASS balloon_compare' <<<"$log"; then
  echo "bench_vm: the guest side failed; its console log:" >&2
  echo "$log" >&2
  exit 1
fi
grep -E '^(VMBENCH RESULT|burst|virtio holds|usbd holds|after the burst|.*usbd: info: deflating|.*Out of memory)' \
  <<<"$log" | sed 's/^/guest: /'

# Means of the rounds, and the ratios virtio / usbd (above 1: usbd is faster).
mean() { grep -E "^VMBENCH RESULT $1 round" <<<"$log" | grep -o "$2=[0-9]*" | cut -d= -f2 |
           awk '{ s += $1; n++ } END { if (n) printf "%d", s / n; else print 0 }'; }
vt=$(mean virtio take_ms) vg=$(mean virtio give_ms) ut=$(mean usbd take_ms) ug=$(mean usbd give_ms)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
vb=$(grep -E '^VMBENCH RESULT virtio burst' <<<"$log" | sed 's/^VMBENCH RESULT virtio burst //')
ub=$(grep -E '^VMBENCH RESULT usbd burst' <<<"$log" | sed 's/^VMBENCH RESULT usbd burst //')
nb=$(grep -E '^VMBENCH RESULT none burst' <<<"$log" | sed 's/^VMBENCH RESULT none burst //')
echo
echo "QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }') TCG, $VM_MEM MiB guest," \
  "$(basename "$VM_KERNEL"), $rounds rounds; guest-measured means (ms)"
printf '%-36s %12s %12s %14s\n' "" "virtio" "usbd" "virtio / usbd"
printf '%-36s %12s %12s %14s\n' "take 512 MiB" "$vt" "$ut" "$(ratio "$vt" "$ut")"
printf '%-36s %12s %12s %14s\n' "give 512 MiB back" "$vg" "$ug" "$(ratio "$vg" "$ug")"
printf '%-36s %s\n' "app burst, no balloon" "$nb"
printf '%-36s %s\n' "app burst beside 512 MiB (virtio)" "$vb"
printf '%-36s %s\n' "app burst beside 512 MiB (usbd)" "$ub"
echo "host-measured virtio (QMP balloon -> query-balloon actual), MiB:ms: ${host_ms[*]}"
