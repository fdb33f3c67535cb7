#!/usr/bin/env bash
# Builds the Debian packages (usbd, libusbd0, libusbd-dev) of the source tree SRC into OUT, for the guest's pkg_apt
# case: `dpkg-buildpackage -us -uc -b` in a copy of the tree (no .git, no build directories), without debug-symbol
# packages, niced, with make -j(cores). Takes a minute or two; bounded by SECS (default 900).
#   tests/vm/debian/debs.sh SRC OUT [SECS]
# Exit status: 0 built, 1 the build failed (its log's tail on stderr), 77 dpkg-buildpackage or dh is missing.
set -euo pipefail
src=$1 out=$2 secs=${3:-900}
for tool in dpkg-buildpackage dh; do
  command -v $tool > /dev/null || { echo "debs.sh: no $tool (apt-get install debhelper)" >&2; exit 77; }
done
work=$(mktemp -d /tmp/usbd-debs.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/usbd" "$out"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude='./obj-*' --exclude=./debian/.debhelper \
  --exclude=./debian/tmp -cf - . | tar -C "$work/usbd" -xf -
if ! (cd "$work/usbd" && DEB_BUILD_OPTIONS="noddebs parallel=$(nproc)" timeout -k 10 "$secs" nice -n 5 dpkg-buildpackage -us -uc -b) \
     > "$work/build.log" 2>&1; then
  echo "debs.sh: dpkg-buildpackage failed:" >&2
  tail -n 30 "$work/build.log" >&2
  exit 1
fi
cp "$work"/*.deb "$out/"
