#!/bin/sh
# scripts/demo.sh as a user runs it, on the Debian guest's cgroup v2 (it picks v1 or v2 by itself): it must exit 0,
# leave none of its cgroups behind, and draw the timeline into build/usbd-demo.png. The test disk is read-only, so
# it runs from a writable copy of the layout it expects: scripts/demo.sh, this build under build/, and
# scripts/deps.sh and scripts/build.sh that do nothing (the image has the packages; the build is the test disk's:
# the guest has neither a network nor a compiler).
. /vmtests/lib.sh
[ -f /vmtests/scripts/demo.sh ] || skip "scripts/demo.sh is not on the test disk (busybox guest)"
command -v bash > /dev/null || skip "needs bash"
command -v gnuplot > /dev/null || fail "the image lacks gnuplot (usbdctl record --plot)"

repo=$T_DIR/repo
mkdir -p "$repo/scripts" "$repo/build/helpers"
cp /vmtests/scripts/demo.sh "$repo/scripts/"
for s in deps.sh build.sh; do printf '#!/bin/sh\nexit 0\n' > "$repo/scripts/$s"; chmod +x "$repo/scripts/$s"; done
cp "$USBD" "$USBDCTL" "$repo/build/"
cp "$HELPERS"/* "$repo/build/helpers/"
set +e
timeout 200 bash "$repo/scripts/demo.sh" > "$T_DIR/demo.out" 2>&1
rc=$?
set -e
tail -n 40 "$T_DIR/demo.out"
[ "$rc" = 0 ] || { cat "$repo/build/usbd-demo.log" 2>/dev/null | tail -n 30; fail "the demo exited with $rc"; }
grep -q "(cgroup v2)" "$T_DIR/demo.out" || fail "the demo did not pick cgroup v2"
left=$(find /sys/fs/cgroup -maxdepth 1 -name 'usbd-demo-*')
[ -z "$left" ] || fail "the demo left its cgroups behind: $left"
[ -s "$repo/build/usbd-demo.png" ] || fail "the demo wrote no build/usbd-demo.png"
head -c 4 "$repo/build/usbd-demo.png" | grep -q PNG || fail "build/usbd-demo.png is not a PNG"
pass "the demo ran on cgroup v2 and drew build/usbd-demo.png ($(wc -c < "$repo/build/usbd-demo.png") bytes)"
