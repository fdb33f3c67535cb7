#!/bin/sh
# The Debian packages as an operator meets them on a stock Debian 12 (systemd, cgroup v2), offline: the usbd .deb
# built on the host (tests/integration/vm_v2.sh, plain pass) installs with `apt install ./usbd_*.deb`, its
# dependencies resolved from what the image holds; the unit is enabled and started by the install and runs from
# /etc/usbd/usbd.json (dropped there first, as configuration management does: dpkg keeps it); a target set with
# `usbdctl set` survives `systemctl restart usbd`, and `usbdctl status` says it came from the state file; the
# metrics scrape over TCP (--metrics-listen from the config file) and the spot counters move with redis-cli; and
# `apt purge usbd` leaves no unit, process, cgroup, socket, listening port, configuration or state behind.
. /vmtests/lib.sh

[ "$(cat /proc/1/comm)" = systemd ] || skip "PID 1 is $(cat /proc/1/comm), not systemd (busybox guest)"
deb=$(find /vmtests/debs -name 'usbd_*.deb' 2>/dev/null | head -n 1)
[ -n "$deb" ] || skip "no usbd .deb on the test disk (tests/integration/vm_v2.sh builds them in the plain pass)"
for t in apt curl jq redis-cli ss; do command -v $t > /dev/null || skip "no $t in the guest"; done
dpkg-query -W -f '${Status}' usbd 2>/dev/null | grep -q ' installed' && fail "usbd is installed already"

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
mport=9753
sport=6390
metrics() { curl -sf "http://127.0.0.1:$mport/metrics"; }
# metric NAME: its value in /metrics (empty when missing).
metric() { metrics | awk -v m="$1" '$1 == m { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_at_least() { v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
status() { usbdctl --json status; }
source_of() { status | jq -r ".sources.$1"; }
active() { [ "$(systemctl is-active usbd)" = active ]; }

# Whatever happens, the guest is left without the package for the next case.
pkg_cleanup() {
	set +e
	if dpkg-query -W usbd > /dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q usbd > /dev/null 2>&1
	fi
	rm -rf /etc/usbd /var/lib/usbd /run/usbd
	systemctl reset-failed usbd.service 2> /dev/null
}
# shellcheck disable=SC2154 # rc is the trap's own
trap 'rc=$?; pkg_cleanup; (exit $rc); cleanup' EXIT

mkdir -p /etc/usbd
cat > /etc/usbd/usbd.json <<JSON
{
  "usbd": { "domain": "$T_NAME", "app": "$T_NAME/app", "grab_lower": 16, "grab_upper": 128,
            "metrics_listen": "127.0.0.1:$mport", "spot_listen": "127.0.0.1:$sport" }
}
JSON
cp /etc/usbd/usbd.json "$T_DIR/usbd.json"
cp "$deb" "$T_DIR/"
chmod 0755 "$T_DIR"
(cd "$T_DIR" && DEBIAN_FRONTEND=noninteractive apt install -y -q -o Dpkg::Options::=--force-confold \
	./"$(basename "$deb")") > "$T_DIR/apt.log" 2>&1 || fail "apt install: $(tail -n 20 "$T_DIR/apt.log")"
cmp -s /etc/usbd/usbd.json "$T_DIR/usbd.json" || fail "the install replaced /etc/usbd/usbd.json"
[ "$(systemctl is-enabled usbd)" = enabled ] || fail "usbd.service is not enabled: $(systemctl is-enabled usbd)"
wait_for 90 "usbd.service active after the install (Type=notify: READY=1)" active
systemctl show -P ExecStart usbd | grep -q -- '--config-file /etc/usbd/usbd.json' ||
	fail "the unit does not start usbd with the config file: $(systemctl show -P ExecStart usbd)"
[ "$(status | jq -r .app_cgroup)" != null ] || fail "usbdctl status: $(status 2>&1)"
status | jq -r '.app_cgroup, .domain' | grep -q "vm-pkg_apt/app" || fail "not the config file's app: $(status)"
[ "$(source_of grab_lower)" = config-file ] || fail "grab_lower from $(source_of grab_lower), not config-file"
echo "installed: $(systemctl show -P ActiveState,SubState,MainPID usbd | tr '\n' ' ')"

# A target set at run time is kept in the state file across a restart, and status says where it came from.
usbdctl set grab-lower=48 || fail "usbdctl set grab-lower=48"
[ "$(status | jq .grab_lower_bytes)" = $((48 << 20)) ] || fail "grab-lower=48 did not take: $(status)"
[ "$(source_of grab_lower)" = api ] || fail "grab_lower from $(source_of grab_lower), not api"
pid=$(systemctl show -P MainPID usbd)
systemctl restart usbd || fail "systemctl restart usbd: $(journalctl -u usbd -n 20 --no-pager)"
wait_for 90 "usbd.service active after the restart" active
[ "$(systemctl show -P MainPID usbd)" != "$pid" ] || fail "the restart kept the same process"
[ "$(status | jq .grab_lower_bytes)" = $((48 << 20)) ] || fail "grab-lower was lost by the restart: $(status)"
[ "$(source_of grab_lower)" = state-file ] || fail "grab_lower from $(source_of grab_lower), not state-file"
usbdctl status | grep -q '^grab lower bound .*(from state-file)' || fail "usbdctl status does not say state-file: $(usbdctl status)"
echo "kept across the restart: grab lower bound 48 MiB from the state file ($(cat /var/lib/usbd/targets.json))"

# The metrics over TCP, and the spot counters moving exactly with three hits and two misses.
wait_for 60 "the balloon to reach the grab lower bound" metric_at_least usbd_grab_bytes $((48 << 20))
metrics > "$T_DIR/metrics" || fail "GET /metrics over TCP"
for m in usbd_grab_lower_bytes usbd_spot_commands_total usbd_spot_keyspace_hits_total usbd_spot_keys; do
	grep -q "^# HELP $m " "$T_DIR/metrics" || fail "no $m in /metrics: $(cat "$T_DIR/metrics")"
done
metric_is usbd_grab_lower_bytes $((48 << 20)) || fail "usbd_grab_lower_bytes is $(metric usbd_grab_lower_bytes)"
r() { redis-cli -p "$sport" "$@"; }
for k in k1 k2; do [ "$(r set $k v)" = OK ] || fail "SET $k in the spot store: $(r set $k v 2>&1)"; done
r get k1 > /dev/null && r get k2 > /dev/null && r get k1 > /dev/null && r get nope > /dev/null && r get nope2 > /dev/null
# The figures come every second, each a snapshot between two commands: wait for what the last command moved.
wait_for 30 "2 spot misses in /metrics" metric_is usbd_spot_keyspace_misses_total 2
metric_is usbd_spot_keyspace_hits_total 3 || fail "hits: $(metric usbd_spot_keyspace_hits_total), not 3"
metric_is usbd_spot_keys 2 || fail "spot keys: $(metric usbd_spot_keys), not 2"
echo "metrics over TCP: grab $(metric usbd_grab_bytes), spot hits 3, misses 2, keys 2"

# Purge: nothing of usbd is left.
balloon_cg=$CG/$T_NAME/usbd-balloon
[ -d "$balloon_cg" ] || fail "no balloon cgroup $balloon_cg while usbd ran"
DEBIAN_FRONTEND=noninteractive apt purge -y -q usbd > "$T_DIR/purge.log" 2>&1 ||
	fail "apt purge usbd: $(tail -n 20 "$T_DIR/purge.log")"
left=""
dpkg-query -W -f '${Status}' usbd 2>/dev/null | grep -q 'installed\|config-files' && left="$left package;"
for f in /lib/systemd/system/usbd.service /etc/systemd/system/multi-user.target.wants/usbd.service \
	/etc/systemd/system/usbd.service /etc/usbd /var/lib/usbd /run/usbd /usr/sbin/usbd /usr/bin/usbdctl \
	/sys/fs/cgroup/system.slice/usbd.service "$balloon_cg"; do
	[ ! -e "$f" ] || left="$left $f;"
done
[ "$(systemctl show -P LoadState usbd.service)" = not-found ] || left="$left unit $(systemctl show -P LoadState usbd);"
pgrep -x usbd > /dev/null && left="$left process $(pgrep -x usbd);"
ss -ltnH | grep -Eq ":($mport|$sport) " && left="$left listening $(ss -ltnH | grep -E ":($mport|$sport) ");"
[ -z "$(find /var/lib/systemd/deb-systemd-helper-enabled -name 'usbd*' 2>/dev/null)" ] ||
	left="$left deb-systemd-helper state;"
[ -z "$left" ] || fail "apt purge usbd left:$left"
pass "apt install ./usbd_*.deb offline, started from /etc/usbd/usbd.json, grab-lower kept across a restart" \
	"(state-file), metrics over TCP with exact spot counters, apt purge left nothing"
