#!/bin/sh
# The guest is a stock Debian 12 host as usbd meets it: systemd is PID 1 and has finished booting (systemctl
# answers, nothing failed), /sys/fs/cgroup is the unified cgroup v2 hierarchy systemd mounted, with the memory
# controller on in the root and in the delegated cgroup the cases run in, PSI is on, nothing on the kernel
# command line changes cgroups, and the kernel can load vsock_loopback. Skips in the busybox guest (no systemd).
. /vmtests/lib.sh

[ "$(cat /proc/1/comm)" = systemd ] || skip "PID 1 is $(cat /proc/1/comm), not systemd (busybox guest)"
state=$(timeout 120 systemctl is-system-running --wait) ||
	fail "systemctl is-system-running: '$state'; failed units: $(systemctl --failed --no-legend --plain | tr '\n' ' ')"
[ "$state" = running ] || fail "the system is $state, not running"
[ "$(stat -fc %T "$CG")" = cgroup2fs ] || fail "$CG is $(stat -fc %T "$CG"), not cgroup2"
grep -qw memory "$CG/cgroup.subtree_control" || fail "systemd did not enable the memory controller in the root"
mkcg "$T_NAME" $((64 << 20))
grep -qw memory "$CG/$T_NAME/cgroup.controllers" || fail "no memory controller in the delegated $T_NAME"
[ "$(cat "$CG/$T_NAME/memory.max")" = $((64 << 20)) ] || fail "memory.max did not take in $T_NAME"
[ -r /proc/pressure/memory ] && [ -r "$CG/$T_NAME/memory.pressure" ] || fail "no PSI (memory.pressure)"
grep -q cgroup /proc/cmdline && fail "the kernel command line sets cgroups: $(cat /proc/cmdline)"
modprobe vsock_loopback || fail "modprobe vsock_loopback"
[ -d /sys/module/vsock_loopback ] || fail "vsock_loopback did not load"
echo "systemd $(systemctl show -P Version) on $(uname -r);" \
	"unit cgroup $(systemctl show -P ControlGroup usbd-vmtest.service)"
pass "systemd PID 1, running; cgroup v2 with memory delegated to the test unit; PSI; vsock_loopback loads"
