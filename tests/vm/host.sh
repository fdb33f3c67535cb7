# shellcheck shell=bash
# Host side of usbd's QEMU guest (sourced by tests/vm/run.sh and bench/bench_vm.sh): fetches Debian 12's cloud
# kernel and busybox-static through apt into a cache reused across runs, builds an initramfs holding usbd, its
# helpers, the guest scripts and every shared library they need, and boots it under qemu with a time bound.
# Functions return 0 on success; vm_prepare returns 77 when qemu or the guest's parts cannot be had at all.

VM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${USBD_VM_CACHE:-/var/cache/usbd-vm}
VM_MEM=${VM_MEM:-1G}
VM_CPUS=${VM_CPUS:-2}
VM_SWAP_SIZE=${VM_SWAP_SIZE:-512M}
# Modules in load order: virtio_ring before virtio, the PCI transport before the devices.
VM_MODULES=(virtio/virtio_ring virtio/virtio virtio/virtio_pci_modern_dev virtio/virtio_pci_legacy_dev
            virtio/virtio_pci block/virtio_blk virtio/virtio_balloon)

vm_log() { echo "vm: $*" >&2; }

# Installs qemu-system-x86 if qemu-system-x86_64 is missing. Returns 77 if it cannot.
vm_need_qemu() {
  command -v qemu-system-x86_64 >/dev/null && return 0
  vm_log "installing qemu-system-x86 (once)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >&2 ||
    { vm_log "cannot install qemu-system-x86"; return 77; }
  command -v qemu-system-x86_64 >/dev/null || return 77
}

# vm_unpack PACKAGE: makes $VM_CACHE/PACKAGE_VERSION hold the package's files (downloaded once, unpacked once)
# and prints that directory. Uses the candidate version apt knows; offline, the newest copy already unpacked.
vm_unpack() {
  local pkg=$1 ver dir deb
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }')
  if [[ -z $ver ]]; then
    dir=$(find "$VM_CACHE" -maxdepth 1 -name "${pkg}_*" -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -e $dir/.unpacked ]] || { vm_log "apt knows no $pkg and none is cached"; return 77; }
    echo "$dir"
    return 0
  fi
  dir=$VM_CACHE/${pkg}_${ver//:/%3a}
  if [[ ! -e $dir/.unpacked ]]; then
    mkdir -p "$VM_CACHE/debs"
    deb=$(find "$VM_CACHE/debs" -name "${pkg}_*${ver#*:}_*.deb" | head -n 1)
    if [[ -z $deb ]]; then
      vm_log "downloading $pkg $ver"
      # apt's sandbox user cannot write to a root-only cache: download as root, quietly.
      (cd "$VM_CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
        { vm_log "cannot download $pkg"; return 77; }
      deb=$(find "$VM_CACHE/debs" -name "${pkg}_*${ver#*:}_*.deb" | head -n 1)
    fi
    rm -rf "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp" && touch "$dir.tmp/.unpacked" && rm -rf "$dir" && mv "$dir.tmp" "$dir" ||
      { vm_log "cannot unpack $deb"; return 1; }
  fi
  echo "$dir"
}

# The newest linux-image-6.1.0-N-cloud-amd64 apt knows (the signed image, not -dbg or -unsigned).
vm_kernel_package() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' 2>/dev/null | awk '{ print $1 }' |
    sort -V | tail -n 1
}

# Sets VM_KERNEL, VM_MODDIR and VM_BUSYBOX, fetching what is missing.
vm_prepare() {
  local kpkg kdir bbdir r=0
  vm_need_qemu || return $?
  kpkg=$(vm_kernel_package)
  if [[ -z $kpkg ]]; then
    kdir=$(find "$VM_CACHE" -maxdepth 1 -name 'linux-image-6.1.0-*-cloud-amd64_*' -type d 2>/dev/null |
             sort -V | tail -n 1)
    [[ -n $kdir ]] || { vm_log "no Debian 12 cloud kernel in apt or in $VM_CACHE"; return 77; }
    kpkg=$(basename "${kdir%%_*}")
  fi
  kdir=$(vm_unpack "$kpkg") || return $?
  bbdir=$(vm_unpack busybox-static) || return $?
  VM_KERNEL=$(find "$kdir/boot" -name 'vmlinuz-*' | head -n 1)
  VM_MODDIR=$(find "$kdir/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)/kernel/drivers
  VM_BUSYBOX=$bbdir/bin/busybox
  [[ -f $VM_KERNEL && -d $VM_MODDIR && -x $VM_BUSYBOX ]] || { vm_log "incomplete packages in $VM_CACHE"; r=1; }
  return $r
}

# vm_copy_elf STAGE FILE DEST: copies an executable to STAGE/DEST and each shared library it needs (with the
# dynamic loader) to the same absolute path inside STAGE.
vm_copy_elf() {
  local stage=$1 file=$2 dest=$3 lib
  install -D -m 0755 "$file" "$stage/$dest"
  while read -r lib; do
    [[ -e $stage$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
  done < <(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' | sort -u)
}

# vm_initramfs BUILD OUT CONF CASE...: writes a gzip'ed newc cpio to OUT with busybox, the modules, BUILD's
# usbd, usbdctl and helpers/*, the host's curl if any, the guest init and library, the given case scripts, and
# CONF as /vmtests/run.conf (shell assignments the guest init reads: VMTEST_TIMEOUT, VMTEST_CASES).
vm_initramfs() {
  local build=$1 out=$2 conf=$3 stage f m
  shift 3
  stage=$(mktemp -d /tmp/usbd-vm-stage.XXXXXX)
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,lib/modules,vmtests/cases,usbd/helpers}
  install -m 0755 "$VM_BUSYBOX" "$stage/bin/busybox"
  for m in "${VM_MODULES[@]}"; do
    install -m 0644 "$VM_MODDIR/$m.ko" "$stage/lib/modules/$(basename "$m").ko" || { rm -rf "$stage"; return 1; }
  done
  printf '%s\n' "${VM_MODULES[@]##*/}" > "$stage/lib/modules/order"
  vm_copy_elf "$stage" "$build/usbd" usbd/usbd || { rm -rf "$stage"; return 1; }
  vm_copy_elf "$stage" "$build/usbdctl" usbd/usbdctl || { rm -rf "$stage"; return 1; }
  # curl speaks HTTP over the API's Unix socket where usbdctl has no command (busybox has no curl).
  if command -v curl >/dev/null; then
    vm_copy_elf "$stage" "$(command -v curl)" usr/bin/curl || { rm -rf "$stage"; return 1; }
  fi
  # A helper linked to a shared library of this project (libusbd.so) brings it along through ldd.
  for f in "$build"/helpers/*; do
    if [[ -f $f && -x $f ]]; then
      vm_copy_elf "$stage" "$f" "usbd/helpers/$(basename "$f")" || { rm -rf "$stage"; return 1; }
    fi
  done
  install -m 0755 "$VM_SRC/guest/init" "$stage/init"
  install -m 0644 "$VM_SRC/guest/lib.sh" "$stage/vmtests/lib.sh"
  install -m 0644 "$VM_SRC/guest/runcases.sh" "$stage/vmtests/runcases.sh"
  for f in "$@"; do install -m 0755 "$f" "$stage/vmtests/cases/$(basename "$f")"; done
  install -m 0644 "$conf" "$stage/vmtests/run.conf"
  (cd "$stage" && find . -mindepth 1 | sed 's|^\./||' | "$VM_BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
    gzip -1 > "$out"
  local rc=${PIPESTATUS[0]}
  rm -rf "$stage"
  return "$rc"
}

# vm_boot INITRD LOG TIMEOUT [QEMU ARGS...]: boots the guest with VM_MEM of memory, a sparse VM_SWAP_SIZE
# virtio-blk disk (/dev/vda, for swap) and a virtio balloon (deflate-on-oom), writes the serial console to LOG,
# and returns qemu's status (124 when the guest outlived TIMEOUT seconds and was killed).
vm_boot() {
  local initrd=$1 log=$2 secs=$3 disk
  shift 3
  disk=$(mktemp /tmp/usbd-vm-swap.XXXXXX)
  truncate -s "$VM_SWAP_SIZE" "$disk"
  set +e
  timeout -k 5 "$secs" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$VM_CPUS" -m "$VM_MEM" \
    -nographic -no-reboot -kernel "$VM_KERNEL" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 loglevel=4 transparent_hugepage=madvise" \
    -drive "file=$disk,if=none,id=swap,format=raw" -device virtio-blk-pci,drive=swap \
    -device virtio-balloon-pci,id=balloon0,deflate-on-oom=on "$@" </dev/null >"$log" 2>&1
  local rc=$?
  set -e
  rm -f "$disk"
  return "$rc"
}

# vm_verdicts LOG CASE...: prints the guest's verdict lines; returns 0 only if every case passed or skipped and the
# guest reached its final line.
vm_verdicts() {
  local log=$1 name ok=0 line
  shift
  for name in "$@"; do
    line=$(tr -d '\r' < "$log" | grep -E "^VMTEST (PASS|FAIL|SKIP) $name( |$)" | tail -n 1)
    if [[ -z $line ]]; then
      echo "VMTEST FAIL $name (no verdict: the guest stopped or timed out first)"
      ok=1
    else
      echo "$line"
      [[ $line == "VMTEST FAIL"* ]] && ok=1
    fi
  done
  tr -d '\r' < "$log" | grep -q '^VMTEST DONE' || { echo "VMTEST: the guest never reached its final line"; ok=1; }
  return "$ok"
}
