# shellcheck shell=bash
# Host side of usbd's Debian 12 guest (sourced by tests/vm/run.sh after ../host.sh): the cached image from
# image.sh (systemd as PID 1, Debian's cgroup v2), a test disk made without a mount (`mkfs.ext4 -d`) holding this
# build and the cases, and a qemu boot with a throw-away root (snapshot=on) and a sparse swap disk.
# Functions return 0 on success; dvm_prepare returns 77 when qemu or the image cannot be had at all.

DVM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Sets DVM_IMAGE to the image's directory, building it the first time.
dvm_prepare() {
  vm_need_qemu || return $?
  DVM_IMAGE=$("$DVM_SRC/image.sh") || return $?
}

# dvm_testdisk BUILD OUT CONF CASE...: writes an ext4 image (label usbd-tests, mounted read-only at /vmtests in
# the guest) holding run-cases, runcases.sh, lib.sh, CONF as run.conf, the case scripts under cases/ (a CASE under
# tests/integration goes with the rest of that directory, its helpers, into integration/), scripts/demo.sh, and
# BUILD's usbd, usbdctl and helpers/* under usbd/, and BUILD installed by `cmake --install` (prefix /usr/local)
# under install/. The guest is Debian 12 like this host: the programs find their shared libraries there (image.sh
# installs them). With DVM_DEBS set, the .debs in that directory go under debs/.
dvm_testdisk() {
  local build=$1 out=$2 conf=$3 stage f rc=0
  shift 3
  stage=$(mktemp -d /tmp/usbd-dvm-stage.XXXXXX)
  mkdir -p "$stage"/{cases,integration,scripts,usbd/helpers}
  install -m 0755 "$DVM_SRC/run-cases" "$stage/run-cases"
  install -m 0644 "$VM_SRC/guest/runcases.sh" "$VM_SRC/guest/lib.sh" "$stage/"
  install -m 0644 "$conf" "$stage/run.conf"
  for f in "$@"; do
    if [[ $f == */tests/integration/* ]]; then
      [[ -e $stage/integration/lib.sh ]] || cp -p "$(dirname "$f")"/* "$stage/integration/"
    else
      install -m 0755 "$f" "$stage/cases/"
    fi
  done
  install -m 0755 "$DVM_SRC/../../../scripts/demo.sh" "$stage/scripts/"
  install -m 0755 "$build/usbd" "$build/usbdctl" "$stage/usbd/"
  # What `cmake --install` puts on a machine (the unit, usbd, usbdctl, ...), for the systemd_unit case.
  DESTDIR=$stage/install cmake --install "$build" --prefix /usr/local > /dev/null || rc=1
  if [[ -n ${DVM_DEBS:-} ]]; then
    mkdir -p "$stage/debs"
    cp "$DVM_DEBS"/*.deb "$stage/debs/" || rc=1
  fi
  for f in "$build"/helpers/*; do
    [[ ! -f $f || ! -x $f ]] || install -m 0755 "$f" "$stage/usbd/helpers/"
  done
  truncate -s "$(($(du -sm "$stage" | cut -f1) + 32))M" "$out"
  mkfs.ext4 -q -F -L usbd-tests -d "$stage" "$out" || rc=1
  rm -rf "$stage"
  return "$rc"
}

# dvm_boot TESTDISK LOG TIMEOUT [QEMU ARGS...]: boots the image (root changes go to a temporary file and are
# dropped) with VM_MEM of memory, the test disk and a sparse VM_SWAP_SIZE swap disk
# (/dev/disk/by-id/virtio-usbd-swap), writes the serial console to LOG, and returns qemu's status (124 when the
# guest outlived TIMEOUT seconds and was killed; 125 when it did not boot to its cases in DVM_BOOT_WAIT seconds). The
# kernel command line sets nothing about cgroups.
dvm_boot() {
  local tests=$1 log=$2 secs=$3 swap rc
  shift 3
  swap=$(mktemp /tmp/usbd-dvm-swap.XXXXXX)
  truncate -s "$VM_SWAP_SIZE" "$swap"
  set +e
  timeout -k 5 "$secs" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$VM_CPUS" -m "$VM_MEM" \
    -nographic -no-reboot -kernel "$DVM_IMAGE/vmlinuz" -initrd "$DVM_IMAGE/initrd.img" \
    -append "root=LABEL=usbd-root rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=error" \
    -drive "file=$DVM_IMAGE/rootfs.img,if=none,id=root,format=raw,snapshot=on" \
    -device virtio-blk-pci,drive=root,serial=usbd-root \
    -drive "file=$tests,if=none,id=tests,format=raw,readonly=on" \
    -device virtio-blk-pci,drive=tests,serial=usbd-tests \
    -drive "file=$swap,if=none,id=swap,format=raw" -device virtio-blk-pci,drive=swap,serial=usbd-swap \
    -device virtio-balloon-pci,id=balloon0,deflate-on-oom=on "$@" </dev/null >"$log" 2>&1 &
  local qemu=$! waited=0
  # On a loaded host the guest's udev can take longer than the fstab's device timeout to show the test disk: then
  # no case starts and the guest would sit until TIMEOUT. A guest that has not said VMTEST BOOTED after
  # DVM_BOOT_WAIT seconds is stopped, and 125 returned (the caller boots again).
  while kill -0 "$qemu" 2>/dev/null && ! grep -q 'VMTEST BOOTED' "$log" 2>/dev/null; do
    if ((waited >= ${DVM_BOOT_WAIT:-420})); then
      kill "$qemu"
      wait "$qemu"
      rm -f "$swap"
      set -e
      return 125
    fi
    sleep 1
    waited=$((waited + 1))
  done
  wait "$qemu"
  rc=$?
  set -e
  rm -f "$swap"
  return "$rc"
}
