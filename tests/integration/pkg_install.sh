#!/usr/bin/env bash
# pkg_install: `cmake --install` into a fresh prefix gives a usable installation: usbd.pc names that prefix (paths
# relative to ${prefix}), a program using <usbd.h> builds with pkg-config and runs against the installed libusbd,
# the systemd unit starts the installed usbd and stays within exposure 5.0, and both programs answer --version.
source "$(dirname "$0")/lib.sh"
command -v pkg-config >/dev/null || skip "needs pkg-config"

P=$T_DIR/prefix
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
version=$(cache CMAKE_PROJECT_VERSION)
[[ -n $version ]] || fail "no project version in $BUILD/CMakeCache.txt"
cmake --install "$BUILD" --prefix "$P" >"$T_DIR/install.log" || fail "cmake --install: $(tail -5 "$T_DIR/install.log")"

# usbd.pc: the prefix installed to, everything else relative to it.
pc=$P/lib/pkgconfig/usbd.pc
[[ -f $pc ]] || pc=$(find "$P" -name usbd.pc -print -quit)
[[ -f $pc ]] || fail "no usbd.pc under $P"
grep -qx "prefix=$P" "$pc" || fail "usbd.pc does not name the prefix $P: $(head -3 "$pc")"
grep -Eq '^libdir=\$\{prefix\}/' "$pc" || fail "usbd.pc's libdir is not under \${prefix}: $(grep libdir= "$pc")"
grep -qx 'includedir=${prefix}/include' "$pc" || fail "usbd.pc's includedir: $(grep includedir= "$pc")"
export PKG_CONFIG_PATH=${pc%/usbd.pc}
[[ $(pkg-config --modversion usbd) == "$version" ]] || fail "usbd.pc version $(pkg-config --modversion usbd), not $version"
libdir=$(pkg-config --variable=libdir usbd)
[[ -f $P/include/usbd.h && -e $libdir/libusbd.so.0 && -e $libdir/libusbd.a ]] || fail "header or libraries missing"

# A tiny libusbd program, built only from what pkg-config says, run against the installed shared library.
cat >"$T_DIR/tiny.c" <<'C'
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <usbd.h>
int main(int argc, char **argv)
{
	struct usbd *h = NULL;
	int r = usbd_open(argv[1], &h);
	if (USBD_SIGBALLOON != SIGRTMIN + USBD_SIGBALLOON_OFFSET || r != -ENOENT || h)
		return 1;
	printf("sigballoon=%d open=%d\n", USBD_SIGBALLOON, r);
	return 0;
}
C
cc=$(cache CMAKE_C_COMPILER)
flags=()
[[ $(cache USBD_SANITIZE) == ON ]] && flags+=(-fsanitize=address,undefined) # the library is instrumented too
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
"${cc:-cc}" "${flags[@]}" -o "$T_DIR/tiny" "$T_DIR/tiny.c" $(pkg-config --cflags --libs usbd) \
  >"$T_DIR/cc.log" 2>&1 || fail "building against usbd.pc: $(cat "$T_DIR/cc.log")"
libs=$(LD_LIBRARY_PATH=$libdir ldd "$T_DIR/tiny")
grep -q "$libdir/libusbd.so.0" <<<"$libs" || fail "tiny is not linked to $libdir: $libs"
out=$(LD_LIBRARY_PATH=$libdir "$T_DIR/tiny" "$T_DIR/no-daemon.sock") || fail "tiny failed: $out"
pass "built and ran against $P: $out"

# The unit runs the installed usbd (the configured prefix would be wrong here) and keeps its sandbox.
unit=$P/lib/systemd/system/usbd.service
grep -q "^ExecStart=$P/sbin/usbd " "$unit" || fail "the unit does not start $P/sbin/usbd: $(grep ExecStart= "$unit")"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze security --offline=yes --threshold=50 "$unit" >"$T_DIR/security.log" 2>&1 ||
    fail "usbd.service: $(tail -1 "$T_DIR/security.log")"
  pass "$(tail -1 "$T_DIR/security.log")"
fi

[[ $("$P/bin/usbdctl" --version) == "usbdctl $version" ]] || fail "usbdctl --version: $("$P/bin/usbdctl" --version 2>&1)"
[[ $("$P/sbin/usbd" --version) == "usbd $version" ]] || fail "usbd --version: $("$P/sbin/usbd" --version 2>&1)"
for m in man1/usbdctl.1 man3/usbd.3 man5/usbd.json.5 man8/usbd.8; do
  [[ -f $P/share/man/$m ]] || fail "man page $m not installed"
done
jq -e 'type == "object"' "$P/etc/usbd/usbd.json" >/dev/null 2>&1 || fail "etc/usbd/usbd.json is not a JSON object"
pass "installed into a prefix: usbd.pc, unit, man pages, config, usbd and usbdctl $version"
