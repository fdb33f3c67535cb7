#!/usr/bin/env bash
# cgroup v2 and whole-host mode, for real, on a stock Debian 12 system (tests/vm): every case script under
# tests/vm/cases, and every integration test marked "# backends: v1 v2" (the same scripts ctest runs on cgroup v1
# here), runs in one boot of a Debian 12 guest (systemd as PID 1, Debian's own cgroup v2 setup, Debian's cloud
# kernel) holding this build's usbd, from a unit with a delegated cgroup; one verdict per script. A failing case
# fails this test and prints the guest's console log. The image is built once (debootstrap, minutes) into /var/cache/usbd-vm and
# reused. Skips only where qemu or the image cannot be had at all (no network for the first build, not root).
set -euo pipefail
src=${USBD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${USBD_BUILD:-$src/build}
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: ********** not root (the guest's image and qemu need it): cgroup v2, systemd and whole-host mode" \
    "are NOT tested **********" >&2
  exit 0
fi
rc=0
debs=()
# The guest's pkg_apt case installs this tree's Debian packages: built here first (a minute or two), in the plain
# pass only (the packages build their own binaries, the same in either pass); without them the case skips.
if grep -qa __asan_init "$build/usbd"; then
  echo "vm_v2: a sanitizer build: the Debian packages are built and tried in the plain pass"
else
  work=$(mktemp -d /tmp/usbd-vm-debs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  t0=$SECONDS
  drc=0
  "$src/tests/vm/debian/debs.sh" "$src" "$work" 600 || drc=$?
  case $drc in
    0) echo "vm_v2: built $(cd "$work" && echo *.deb) in $((SECONDS - t0)) s"; debs=(--debs "$work") ;;
    77) echo "vm_v2: no dpkg-buildpackage here: the guest's pkg_apt case skips" ;;
    *) echo "FAIL: the Debian packages do not build (tests/vm/debian/debs.sh)" >&2; exit 1 ;;
  esac
fi
"$src/tests/vm/run.sh" --guest debian --build "$build" --timeout 1200 --case-timeout 240 "${debs[@]}" || rc=$?
if ((rc == 77)); then
  echo "SKIP: ********** qemu or the Debian guest's image cannot be had here (see above): cgroup v2, systemd" \
    "and whole-host mode are NOT tested **********" >&2
  exit 0
fi
((rc == 0)) && echo "PASS: the cgroup v2 and whole-host cases passed inside the Debian 12 guest"
exit "$rc"
