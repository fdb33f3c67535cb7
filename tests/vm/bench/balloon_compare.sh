#!/bin/sh
# Guest side of bench/bench_vm.sh: the kernel's virtio_balloon (driven by the host over QMP) against usbd in
# whole-host mode, in the same 1 GiB guest. First a reference burst of the app with no balloon. Then for each
# balloon, VMBENCH_ROUNDS times: take 512 MiB, then give it back, timed in the guest from the request to the moment
# the memory is gone or back (virtio: /proc/vmstat's balloon_inflate - balloon_deflate, since with deflate-on-oom
# MemTotal does not change; usbd: its worker cgroup's memory.current). Then, with each balloon holding 512 MiB,
# the app bursts to VMBENCH_BURST: its wall time, exit status and the kernel's OOM kills. The guest asks the host
# for a virtio balloon size by printing "VMBENCH REQUEST balloon MIB" (MIB = the guest's target RAM); results are
# printed as "VMBENCH RESULT ..." lines.
. /vmtests/lib.sh
. /vmtests/run.conf

TAKE=$((512 << 20))
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# Bytes the virtio balloon holds (4 KiB pages in, minus pages out).
virtio_bytes() {
	awk '$1 == "balloon_inflate" { i = $2 } $1 == "balloon_deflate" { d = $2 } END { print (i - d) * 4096 }' \
		/proc/vmstat
}
# The guest's RAM as QEMU counts it (-m): the virtio balloon's target is that minus what it should hold.
vm_mib=${VMBENCH_VM_MIB:-1024}

mkcg "$T_NAME-app"
app=$T_NAME-app

# burst NAME: the app's burst; prints its result line.
burst() {
	local kills t0 rc out
	kills=$(oom_kills)
	t0=$(now_ms)
	set +e
	out=$(run_in_cg "$app" "$HELPERS/workload" burst "$VMBENCH_BURST" 2>&1)
	rc=$?
	set -e
	echo "$out"
	echo "VMBENCH RESULT $1 burst $VMBENCH_BURST ms=$(($(now_ms) - t0)) exit=$rc oom_kills=$(($(oom_kills) - kills))" \
		"app_oom_kill=$(cg_key "$app" memory.events oom_kill)"
}

# --- the reference: the same burst with no balloon at all
burst none

# --- the kernel's virtio balloon, inflated by the host through QMP
virtio_request() { echo "VMBENCH REQUEST balloon $1"; }
virtio_taken() { [ "$(virtio_bytes)" -ge "$TAKE" ]; }
virtio_back() { [ "$(virtio_bytes)" -le 0 ]; }
for r in $(seq "$VMBENCH_ROUNDS"); do
	t0=$(now_ms)
	virtio_request $((vm_mib - 512))
	wait_for 300 "the virtio balloon to take 512 MiB" virtio_taken
	t1=$(now_ms)
	virtio_request "$vm_mib"
	wait_for 300 "the virtio balloon to give 512 MiB back" virtio_back
	t2=$(now_ms)
	echo "VMBENCH RESULT virtio round $r take_ms=$((t1 - t0)) give_ms=$((t2 - t1))"
done
virtio_request $((vm_mib - 512))
wait_for 300 "the virtio balloon to take 512 MiB" virtio_taken
echo "virtio holds 512 MiB: $(grep -E 'MemTotal|MemAvailable' /proc/meminfo | tr -s ' \n' ' ')"
burst virtio
echo "VMBENCH RESULT virtio after_burst_balloon_mib=$(($(virtio_bytes) >> 20))"
virtio_request "$vm_mib"
wait_for 300 "the virtio balloon to give its memory back" virtio_back

# --- usbd, whole host, moved through its API
sock=$T_DIR/usbd.sock
# A 128 MiB headroom (default: a quarter of the machine, 243 MiB here) so that 512 MiB fits beside it and the
# 64 MiB burst margin, as it does beside the virtio balloon, which keeps no headroom at all.
start_usbd "$app" --api-sock "$sock" --spot-listen off --status-interval 5 --headroom 128M
wait_for 60 "usbd's API socket" test -S "$sock"
ctl() { "$USBDCTL" --sock "$sock" "$@" > /dev/null; }
usbd_taken() { [ "$(cg_cur usbd-balloon)" -ge "$TAKE" ]; }
usbd_back() { [ "$(cg_cur usbd-balloon)" -le $((4 << 20)) ]; }
for r in $(seq "$VMBENCH_ROUNDS"); do
	t0=$(now_ms)
	ctl set amount=512
	wait_for 300 "usbd to take 512 MiB" usbd_taken
	t1=$(now_ms)
	ctl set amount=0
	wait_for 300 "usbd to give 512 MiB back" usbd_back
	t2=$(now_ms)
	echo "VMBENCH RESULT usbd round $r take_ms=$((t1 - t0)) give_ms=$((t2 - t1))"
done
ctl set amount=512
wait_for 300 "usbd to take 512 MiB" usbd_taken
echo "usbd holds 512 MiB: $(grep -E 'MemTotal|MemAvailable' /proc/meminfo | tr -s ' \n' ' ')"
burst usbd
echo "VMBENCH RESULT usbd after_burst_grab_mib=$(($(cg_cur usbd-balloon) >> 20)) worker_deaths=$(grep -c "worker died" \
	"$T_DIR/usbd.log" || true) deflations=$(grep -c deflating "$T_DIR/usbd.log" || true)"
grep deflating "$T_DIR/usbd.log" | head -n 5 || true
stop_usbd
pass "benchmark done"
