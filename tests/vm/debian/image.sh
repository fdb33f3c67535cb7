#!/usr/bin/env bash
# Builds (once) and prints the directory of a cached Debian 12 guest: rootfs.img (raw ext4, label usbd-root, made
# with `mkfs.ext4 -d` from a `debootstrap --variant=minbase` tree, so no loop device or mount is needed),
# vmlinuz and initrd.img (Debian's cloud kernel and its initramfs, copied out of the tree's /boot for qemu's
# -kernel/-initrd). The guest boots systemd as PID 1 with Debian's own cgroup v2 setup; usbd-vmtest.service runs
# /vmtests/run-cases from the test disk (label usbd-tests) when one is attached, then powers the guest off.
#   tests/vm/debian/image.sh        prints $USBD_VM_CACHE/debian-bookworm-KEY (default cache /var/cache/usbd-vm)
# KEY is a hash of this script: a changed package list or configuration is a new image; older ones stay until
# removed by hand. Exit status: 0 ready, 1 the build failed, 77 the mirror cannot be reached (no network).
set -euo pipefail

VM_CACHE=${USBD_VM_CACHE:-/var/cache/usbd-vm}
SUITE=bookworm
# What usbd and the guest cases need at run time, and Debian's cloud kernel: it ships vsock_loopback, virtio and
# PSI enabled by default. dbus: systemd-logind (enabled by default in Debian) needs it, or the boot is degraded.
# redis-tools (redis-cli, redis-benchmark) for the spot tests, gnuplot-nox for the demo's picture (usbdctl record).
PACKAGES=(systemd-sysv udev dbus kmod linux-image-cloud-amd64 libjansson4 libncurses6 libncursesw6 curl jq
          redis-tools procps util-linux iproute2 gnuplot-nox)

log() { echo "image.sh: $*" >&2; }

# The Debian mirror apt uses on this host (deb822 URIs or one-line "deb URL bookworm"), else deb.debian.org.
mirror() {
  local m
  [[ -z ${USBD_VM_MIRROR:-} ]] || { echo "$USBD_VM_MIRROR"; return; }
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }
             /^deb / && $3 == "'"$SUITE"'" && $2 ~ /\/debian\/?$/ { print $2; exit }')
  echo "${m:-http://deb.debian.org/debian}"
}

# configure ROOT: the guest's own settings, written into the debootstrapped tree.
configure() {
  local root=$1 unit
  echo usbd-vm > "$root/etc/hostname"
  # A fixed machine id: the first-boot machinery (systemd-firstboot prompts on the console) never runs.
  echo 0123456789abcdef0123456789abcdef > "$root/etc/machine-id"
  cat > "$root/etc/fstab" <<'FSTAB'
LABEL=usbd-root  /         ext4  rw,noatime     0 0
LABEL=usbd-tests /vmtests  ext4  ro,nofail,x-systemd.device-timeout=30s  0 0
FSTAB
  mkdir -p "$root/vmtests"
  # Nothing that waits for a network or a person, nothing on a timer that could run in the middle of a case.
  for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
              serial-getty@ttyS0.service getty@tty1.service systemd-networkd-wait-online.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  # Started once the boot is done (Type=exec, ordered after multi-user.target), so that `systemctl
  # is-system-running --wait` inside a case does not wait for the cases themselves. Delegate=yes: the cases make
  # their cgroups below this unit's (run-cases moves itself into a leaf first); systemd owns everything else.
  cat > "$root/etc/systemd/system/usbd-vmtest.service" <<'UNIT'
[Unit]
Description=usbd guest test cases (tests/vm)
RequiresMountsFor=/vmtests
ConditionPathExists=/vmtests/run-cases
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=exec
ExecStart=/vmtests/run-cases
Delegate=yes
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity
RuntimeMaxSec=1800

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf ../usbd-vmtest.service "$root/etc/systemd/system/multi-user.target.wants/usbd-vmtest.service"
  # The journal in memory only: the root disk is a throw-away snapshot anyway.
  mkdir -p "$root/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/vm.conf"
  passwd -R "$root" -d root > /dev/null
}

# build DIR: debootstraps into DIR.tree and writes DIR.tmp/{rootfs.img,vmlinuz,initrd.img}; returns 77 when the
# mirror cannot be reached.
build() {
  local dir=$1 tree=$1.tree out=$1.tmp url size
  url=$(mirror)
  command -v debootstrap > /dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2 ||
    { log "cannot install debootstrap"; return 77; }
  curl -sfI --max-time 20 "$url/dists/$SUITE/Release" > /dev/null ||
    { log "the mirror $url cannot be reached"; return 77; }
  rm -rf "$tree" "$out"
  mkdir -p "$out"
  log "debootstrap $SUITE from $url into $tree (minutes, once)"
  local packages
  packages=$(IFS=,; echo "${PACKAGES[*]}")
  # The packages are kept in the cache: a changed configuration rebuilds without downloading them again.
  mkdir -p "$VM_CACHE/debs-$SUITE"
  debootstrap --variant=minbase --cache-dir="$VM_CACHE/debs-$SUITE" --include="$packages" "$SUITE" "$tree" "$url" > "$out/debootstrap.log" 2>&1 ||
    { log "debootstrap failed:"; tail -n 30 "$out/debootstrap.log" >&2; tail -n 30 "$tree/debootstrap/debootstrap.log" >&2 || true; return 1; }
  configure "$tree"
  rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*_Packages
  cp "$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -n 1)" "$out/vmlinuz"
  cp "$(ls "$tree"/boot/initrd.img-* | sort -V | tail -n 1)" "$out/initrd.img"
  # The tree's size plus room for what the cases write (logs, the journal lives in RAM).
  size=$(( $(du -sm "$tree" | cut -f1) + 512 ))
  truncate -s "${size}M" "$out/rootfs.img"
  mkfs.ext4 -q -F -L usbd-root -d "$tree" "$out/rootfs.img" ||
    { log "mkfs.ext4 -d failed"; return 1; }
  rm -rf "$tree"
}

main() {
  local key dir rc=0
  key=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
  dir=$VM_CACHE/debian-$SUITE-$key
  mkdir -p "$VM_CACHE"
  # One build at a time: a second caller waits for the first and then uses its image.
  exec 9> "$VM_CACHE/debian.lock"
  flock 9
  if [[ ! -e $dir/.done ]]; then
    local t0=$SECONDS
    build "$dir" || rc=$?
    if ((rc != 0)); then
      rm -rf "$dir.tree" "$dir.tmp"
      return "$rc"
    fi
    touch "$dir.tmp/.done"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    log "built $dir in $((SECONDS - t0)) s"
  fi
  echo "$dir"
}
main "$@"
