#!/bin/sh
# cgroup v2, domain mode: memory pressure, and nothing else, deflates the balloon. The app cgroup gets a
# memory.high far below what the app touches and no swap, so the kernel throttles it: its stalls show in the
# domain's memory.pressure and fire usbd's PSI triggers, while free memory stays well above the headroom (no
# app-growth deflation). The balloon must deflate for "medium" or "critical" pressure, and usbd must report it.
. /vmtests/lib.sh

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
echo $((32 << 20)) > "$CG/$T_NAME/app/memory.high"
echo 0 > "$CG/$T_NAME/app/memory.swap.max"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 96M --api-sock off --spot-listen off
balloon=$T_NAME/usbd-balloon

inflated() { [ "$(cg_cur "$balloon")" -ge $((96 << 20)) ]; }
wait_for 60 "the balloon to reach its 96 MiB lower bound" inflated
grep -q "deflating" "$T_DIR/usbd.log" && fail "usbd deflated before any pressure"

start_in_cg "$T_NAME/app" "$HELPERS/workload" hold 64M
pressure_deflation() { grep -Eq "deflating .* \((medium|critical)\)" "$T_DIR/usbd.log"; }
wait_for 60 "a deflation for PSI pressure" pressure_deflation
grep "deflating" "$T_DIR/usbd.log"
echo "domain memory.pressure: $(tr '\n' ' ' < "$CG/$T_NAME/memory.pressure")"
grep -Eq "deflating .* \((app_growth|oom)\)" "$T_DIR/usbd.log" &&
	fail "usbd deflated for a reason other than pressure (free memory stayed above the headroom, no OOM)"
below() { [ "$(cg_cur "$balloon")" -lt $((96 << 20)) ]; }
wait_for 10 "the balloon's memory to go back" below
echo "balloon now $(mib "$(cg_cur "$balloon")") MiB"
kill -0 "$USBD_PID" || fail "usbd died"
pass "PSI pressure in a v2 domain deflated the balloon"
