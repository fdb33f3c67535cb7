#!/bin/sh
# usbd as a Debian 12 host runs it: the unit this project ships, installed by `cmake --install` (the test disk's
# install/ is `DESTDIR=... cmake --install BUILD --prefix /usr/local`), started with `systemctl start usbd`, the app
# named as a systemd unit (`--app-unit demoapp.service`, a transient service made with systemd-run in the slice
# usbddemo.slice, beside a second one, demoside.service). Two starts:
#  1. whole-host mode: usbd resolves the unit's cgroup, usbdctl answers on the default socket, usbd's cgroups are in
#     its unit's delegated cgroup (usbd.service/usbd-control, usbd.service/usbd-balloon, none in the root), the
#     balloon inflates and usbd reads the app unit's usage;
#  2. `--domain usbddemo.slice` (few units: the whole host's dozens of units, each a systemctl call, would outlast
#     libusbd's 10 s registration reply under emulation): a libusbd app in demoapp's cgroup registers; the swap
#     scheme keeps demoside out of swap through systemd (MemorySwapMax=0 at runtime), leaves the registered
#     cgroup's ancestors (the slice, demoapp) alone.
# After each `systemctl stop usbd`: usbd exited 0, its unit's cgroup is gone; at the end every memory property of
# every unit, the app unit's cgroup files and processes, and every cgroup's memory knobs are as before the first
# start. Skips in the busybox guest (no systemd).
. /vmtests/lib.sh

[ "$(cat /proc/1/comm)" = systemd ] || skip "PID 1 is $(cat /proc/1/comm), not systemd (busybox guest)"
[ -d /vmtests/install ] || fail "the test disk has no install/ (cmake --install of the build)"
SLICE_CG=$CG/usbddemo.slice
UNIT_CG=$CG/system.slice/usbd.service
APP_CG=$SLICE_CG/demoapp.service
DROPIN=/run/systemd/system/usbd.service.d

case_cleanup() {
	set +e
	systemctl stop usbd.service demoapp.service demoside.service 2>/dev/null
	systemctl reset-failed usbd.service demoapp.service demoside.service 2>/dev/null
	rm -rf "$DROPIN" /run/systemd/system/usbddemo.slice
	# The installed files go too: a later case (the Debian package's) must find no unit in /usr/local.
	(cd /vmtests/install && find . ! -type d) | while read -r f; do rm -f "/${f#./}"; done
	systemctl daemon-reload
}
trap 'rc=$?; case_cleanup; (exit $rc); cleanup' EXIT

# What `systemctl stop usbd` must leave as it found: the app unit's properties (MemoryCurrent aside, it moves),
# its cgroup's knobs, processes and sub-cgroups, every cgroup outside usbd's own unit with its memory.swap.max,
# memory.high and memory.max, and MemorySwapMax=, MemoryHigh=, MemoryMax= of every unit that has a cgroup.
snapshot() {
	local d
	systemctl show demoapp.service | grep -E '^(Memory|ManagedOOM|Delegate|ControlGroup|ActiveState|MainPID|DropIn)' |
		grep -vE '^Memory(Current|Available)='
	for f in memory.max memory.high memory.low memory.min memory.swap.max memory.swap.high memory.oom.group \
		cgroup.subtree_control cgroup.type cgroup.procs; do
		echo "$f: $(tr '\n' ' ' < "$APP_CG/$f")"
	done
	for d in $(find "$CG" -mindepth 1 -type d | grep -v "^$UNIT_CG" | sort); do
		echo "${d#$CG/}: swap.max $(cat "$d/memory.swap.max" 2>/dev/null) high $(cat "$d/memory.high" 2>/dev/null)" \
			"max $(cat "$d/memory.max" 2>/dev/null)"
		case $d in
		*.service|*.scope|*.slice)
			echo "  $(systemctl show -p MemorySwapMax -p MemoryHigh -p MemoryMax "$(basename "$d")" | tr '\n' ' ')";;
		esac
	done
}

# start_unit ARGS APP: usbd.service with USBD_ARGS and USBD_APP from a runtime drop-in; sets MAIN and USBD_PID.
start_unit() {
	mkdir -p "$DROPIN"
	printf '[Service]\nEnvironment="USBD_ARGS=%s"\nEnvironment=USBD_APP=%s\n' "$1" "$2" > "$DROPIN/vmtest.conf"
	# A sanitizer build: LeakSanitizer cannot stop the world inside the hardened unit (it needs ptrace, which the
	# unit takes away) and ends usbd with "fatal error"; leaks are checked by every other test of the ASan pass.
	if grep -qa __asan_init "$USBD_BUILD/usbd"; then
		echo 'Environment=ASAN_OPTIONS=detect_leaks=0' >> "$DROPIN/vmtest.conf"
	fi
	systemctl daemon-reload
	timeout 120 systemctl start usbd.service ||
		{ journalctl -u usbd.service --no-pager | tail -n 30; fail "systemctl start usbd ($1)"; }
	MAIN=$(systemctl show -P MainPID usbd.service)
	USBD_PID=$MAIN
	echo "usbd.service started (main pid $MAIN): $1 $2"
	journalctl -u usbd.service --no-pager > "$T_DIR/usbd.log"
	grep -q "app unit demoapp.service: cgroup usbddemo.slice/demoapp.service" "$T_DIR/usbd.log" ||
		fail "usbd did not resolve the app unit's cgroup"
}

stop_unit() {
	USBD_PID=
	echo "stopping usbd.service"
	timeout 60 systemctl stop usbd.service || fail "systemctl stop usbd"
	journalctl -u usbd.service --no-pager > "$T_DIR/usbd.log"
	[ "$(systemctl show -P ActiveState usbd.service)" = inactive ] ||
		fail "usbd.service is $(systemctl show -P ActiveState usbd.service) after stop"
	[ "$(systemctl show -P ExecMainStatus usbd.service)" = 0 ] ||
		fail "usbd exited $(systemctl show -P ExecMainStatus usbd.service)"
	[ ! -d "$UNIT_CG" ] || fail "usbd.service's cgroup is still there: $(find "$UNIT_CG")"
}

cp -a /vmtests/install/. / || fail "cannot copy the installed tree into /"
# The domain of the second start: a slice with a limit below the machine's memory.
printf '[Slice]\nMemoryMax=1G\n' > /run/systemd/system/usbddemo.slice
systemctl daemon-reload
unitfile=$(systemctl show -P FragmentPath usbd.service)
[ "$unitfile" = /usr/local/lib/systemd/system/usbd.service ] || fail "usbd.service comes from '$unitfile'"
[ "$(systemctl show -P Delegate usbd.service)" = yes ] || fail "the shipped unit does not delegate its cgroup"

systemd-run --quiet --unit=demoapp --slice=usbddemo.slice -p MemoryMax=768M -p MemoryHigh=700M \
	"$HELPERS/workload" hold 96M || fail "systemd-run demoapp"
systemd-run --quiet --unit=demoside --slice=usbddemo.slice /bin/sleep infinity || fail "systemd-run demoside"
wait_for 60 "demoapp to hold its memory" sh -c "[ \$(cat $APP_CG/memory.current) -ge $((90 << 20)) ]"
snapshot > "$T_DIR/before"
echo "before: $(grep -c . "$T_DIR/before") lines of properties and cgroup files"

# 1. Whole-host mode.
start_unit "--status-interval 0 --grab-lower 128M --spot-listen off" --app-unit=demoapp.service
/usr/local/bin/usbdctl status > "$T_DIR/status" || fail "usbdctl status: $(cat "$T_DIR/status")"
cat "$T_DIR/status"
grep -q "usbddemo.slice/demoapp.service" "$T_DIR/status" || fail "usbdctl status does not name the app unit's cgroup"
grep -q "^0::/system.slice/usbd.service/usbd-control$" "/proc/$MAIN/cgroup" ||
	fail "the controller is in $(cat "/proc/$MAIN/cgroup"), not usbd.service/usbd-control"
[ -d "$UNIT_CG/usbd-balloon" ] || fail "no worker cgroup in usbd's delegated cgroup"
[ ! -d "$CG/usbd-balloon" ] || fail "usbd made usbd-balloon in the root cgroup, systemd's"
wait_for 120 "the balloon to reach 128 MiB in usbd.service/usbd-balloon" \
	sh -c "[ \$(cat $UNIT_CG/usbd-balloon/memory.current) -ge $((124 << 20)) ]"
/usr/local/bin/usbdctl --json status > "$T_DIR/status.json" || fail "usbdctl --json status"
app_usage=$(sed -n 's/.*"app_usage_bytes": *\([0-9]*\).*/\1/p' "$T_DIR/status.json")
[ "${app_usage:-0}" -ge $((90 << 20)) ] || fail "usbd does not read the app unit's usage: $(cat "$T_DIR/status.json")"
stop_unit
echo "whole-host mode: balloon 128 MiB in usbd.service/usbd-balloon, stopped"

# 2. The slice as the domain, and a libusbd app in the app unit.
start_unit "--status-interval 0 --spot-listen off --threshold 64M --domain usbddemo.slice" --app-unit=demoapp.service
[ -d "$SLICE_CG/usbd-balloon" ] || fail "no worker cgroup in the domain usbddemo.slice"
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$APP_CG" "$HELPERS/lib_scan_app" --size 32M \
	--apps-sock /run/usbd/apps.sock --status "$T_DIR/app.status" > "$T_DIR/app.log" 2>&1 &
LIBAPP=$!
T_PIDS="$T_PIDS $LIBAPP"
registered() {
	grep -q '^ready' "$T_DIR/app.log" && return 0
	kill -0 "$LIBAPP" 2>/dev/null || { journalctl -u usbd.service --no-pager > "$T_DIR/usbd.log";
		fail "the libusbd app exited: $(cat "$T_DIR/app.log")"; }
	return 1
}
wait_for 120 "the libusbd app to register" registered
journalctl -u usbd.service --no-pager > "$T_DIR/usbd.log"
[ "$(cat "$APP_CG/usbd-registered/cgroup.procs")" = "$LIBAPP" ] ||
	fail "the app is not in demoapp.service/usbd-registered: $(cat "$T_DIR/app.log")"
grep -qx "$(systemctl show -P MainPID demoapp.service)" "$APP_CG/usbd-unregistered/cgroup.procs" ||
	fail "demoapp's main process is not in demoapp.service/usbd-unregistered"
[ "$(cat "$APP_CG/usbd-registered/memory.swap.max")" = max ] || fail "the registered cgroup may not swap"
[ "$(cat "$APP_CG/usbd-unregistered/memory.swap.max")" = 0 ] || fail "demoapp's other processes may swap"
[ "$(systemctl show -P MemorySwapMax demoside.service)" = 0 ] ||
	fail "demoside.service's MemorySwapMax= is $(systemctl show -P MemorySwapMax demoside.service), not 0"
[ "$(cat "$SLICE_CG/demoside.service/memory.swap.max")" = 0 ] || fail "demoside's memory.swap.max is not 0"
# A runtime property is a drop-in systemd writes (/run/systemd/transient/UNIT.d/ for a transient unit).
systemctl show -P DropInPaths demoside.service | grep -q 'demoside.service.d/50-MemorySwapMax.conf' ||
	fail "MemorySwapMax= of demoside was not set through systemd: $(systemctl show -P DropInPaths demoside.service)"
[ "$(cat "$SLICE_CG/memory.swap.max")" = max ] && [ "$(cat "$APP_CG/memory.swap.max")" = max ] ||
	fail "the registered cgroup's ancestors (usbddemo.slice, demoapp.service) were kept out of swap"
echo "registered: demoapp's processes in usbd-unregistered, demoside MemorySwapMax=0 through systemd"
stop_unit
[ ! -d "$APP_CG/usbd-registered" ] && [ ! -d "$APP_CG/usbd-unregistered" ] || fail "usbd left cgroups in demoapp's"
[ ! -d "$SLICE_CG/usbd-balloon" ] || fail "usbd left usbddemo.slice/usbd-balloon"
grep -qx "$LIBAPP" "$APP_CG/cgroup.procs" || fail "the libusbd app is not back in demoapp.service"
kill -USR1 "$LIBAPP"
wait "$LIBAPP" || true

snapshot > "$T_DIR/after"
diff -u "$T_DIR/before" "$T_DIR/after" || fail "systemctl stop usbd left the system changed (diff above)"
pass "systemctl start usbd (installed unit, Delegate=yes), --app-unit demoapp.service resolved, usbdctl status;" \
	"whole host: balloon 128 MiB in usbd.service/usbd-balloon; domain usbddemo.slice: a libusbd app registered," \
	"demoside's MemorySwapMax=0 through systemd; after stop every unit's memory properties, the app unit's cgroup" \
	"and the tree are as before"
