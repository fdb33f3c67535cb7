#!/usr/bin/env bash
# pkg_deb: `dpkg-buildpackage -us -uc -b` builds usbd, libusbd0 and libusbd-dev from a copy of the source tree
# (without running the test suite), each package holds what it should (the unit enabled on install, the config a
# conffile), and lintian reports no error and no warning.
source "$(dirname "$0")/lib.sh"
# The package builds its own binaries from the tree, the same in either pass: the plain pass runs it.
grep -qa __asan_init "$USBD" && skip "a sanitizer build: the package test runs in the plain pass"
for tool in dpkg-buildpackage dh lintian; do
  command -v $tool >/dev/null || skip "needs $tool (apt-get install debhelper lintian)"
done
SRC=${USBD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# A copy of the tree as a checkout would have it: no build directories, no earlier package build.
mkdir "$T_DIR/src" "$T_DIR/src/usbd"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' --exclude=./debian/.debhelper \
  --exclude=./debian/tmp -cf - . | tar -C "$T_DIR/src/usbd" -xf -
# noddebs: the debug-symbol packages are not what this test checks, and take time to build.
(cd "$T_DIR/src/usbd" && DEB_BUILD_OPTIONS=noddebs nice -n 5 dpkg-buildpackage -us -uc -b) >"$T_DIR/build.log" 2>&1 ||
  fail "dpkg-buildpackage: $(tail -20 "$T_DIR/build.log")"
grep -Eq "^\s+dh_auto_test" "$T_DIR/build.log" && fail "the package build ran the test suite"

deb() { ls "$T_DIR"/src/"$1"_*.deb; }
has() { dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | grep -qx "./$2" || fail "$1 lacks /$2"; }
for f in usr/sbin/usbd usr/bin/usbdctl lib/systemd/system/usbd.service etc/usbd/usbd.json \
         usr/share/man/man8/usbd.8.gz usr/share/man/man1/usbdctl.1.gz usr/share/man/man5/usbd.json.5.gz; do
  has usbd "$f"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
has libusbd0 "usr/lib/$multiarch/libusbd.so.0"
for f in usr/include/usbd.h "usr/lib/$multiarch/libusbd.so" "usr/lib/$multiarch/libusbd.a" \
         "usr/lib/$multiarch/pkgconfig/usbd.pc" usr/share/man/man3/usbd.3.gz; do
  has libusbd-dev "$f"
done

dpkg-deb -e "$(deb usbd)" "$T_DIR/control"
grep -qx /etc/usbd/usbd.json "$T_DIR/control/conffiles" || fail "/etc/usbd/usbd.json is not a conffile"
grep -q "deb-systemd-helper enable 'usbd.service'" "$T_DIR/control/postinst" || fail "usbd.service is not enabled on install"
dpkg-deb --fsys-tarfile "$(deb usbd)" | tar -xOf - ./lib/systemd/system/usbd.service | grep -q '^ExecStart=/usr/sbin/usbd ' ||
  fail "the packaged unit does not start /usr/sbin/usbd"
dpkg-deb -f "$(deb usbd)" Depends | grep -q libc6 || fail "usbd declares no shared-library dependencies"
dpkg-deb -f "$(deb libusbd-dev)" Depends | grep -q 'libusbd0 (= ' || fail "libusbd-dev does not depend on libusbd0"

lintian --allow-root --fail-on error,warning "$T_DIR"/src/*.deb >"$T_DIR/lintian.log" 2>&1 ||
  fail "lintian: $(cat "$T_DIR/lintian.log")"
pass "usbd, libusbd0 and libusbd-dev built; lintian: no error, no warning"
