#!/usr/bin/env bash
# cgroup v2 and whole-host mode, for real, inside a small QEMU guest (tests/vm): every case script under
# tests/vm/cases runs in a 1 GiB guest booted from Debian 12's cloud kernel and a busybox initramfs holding this
# build's usbd. A failing case fails this test and prints the guest's console log. Skips only where qemu or the
# guest's kernel cannot be had at all.
set -euo pipefail
src=${USBD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${USBD_BUILD:-$src/build}
if ! command -v qemu-system-x86_64 > /dev/null && [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: ********** no qemu-system-x86_64 and not root to install it: cgroup v2 and whole-host mode are" \
    "NOT tested **********" >&2
  exit 0
fi
rc=0
"$src/tests/vm/run.sh" --build "$build" --timeout 230 --case-timeout 90 || rc=$?
if ((rc == 77)); then
  echo "SKIP: ********** qemu or the guest's kernel cannot be had here (see above): cgroup v2 and whole-host" \
    "mode are NOT tested **********" >&2
  exit 0
fi
((rc == 0)) && echo "PASS: the cgroup v2 and whole-host cases passed inside the guest"
exit "$rc"
