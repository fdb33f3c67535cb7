#!/bin/sh
# The control API over AF_VSOCK, as a Firecracker host reaches a guest's usbd: usbd listens with --api-vsock, and a
# client on vsock loopback (Debian's vsock_loopback module: the guest is its own peer, CID 1) drives the balloon
# with Firecracker's PATCH /balloon through usbdctl --vsock; a peer CID usbd was not told to serve is refused.
. /vmtests/lib.sh
modprobe vsock_loopback 2>/dev/null || skip "no vsock_loopback module in this guest's kernel"

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
port=$((5000 + $$ % 1000))
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock off --api-vsock "$port" --api-vsock-peer 1 \
	--grab-lower 32M --spot-listen off
balloon=$T_NAME/usbd-balloon
ctl() { "$USBDCTL" --vsock "1:$port" "$@"; }
near() { local g; g=$(cg_cur "$balloon"); [ "$g" -ge $(($1 - (4 << 20))) ] && [ "$g" -le $(($1 + (4 << 20))) ]; }
answers() { ctl status > /dev/null 2>&1; }
wait_for 30 "the API on vsock port $port" answers
wait_for 60 "the balloon to reach 32 MiB" near $((32 << 20))
ctl set amount=96 || fail "usbdctl --vsock 1:$port set amount=96 (PATCH /balloon)"
wait_for 60 "the balloon to reach 96 MiB after PATCH /balloon over vsock" near $((96 << 20))
ctl balloon | grep -q 96 || fail "GET /balloon over vsock does not show 96 MiB: $(ctl balloon)"
stop_usbd

# Served only to the peer it was told: here the host (CID 2), so the loopback peer (CID 1) gets 403.
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock off --api-vsock "$port" --spot-listen off
refused() { ctl status > "$T_DIR/out" 2>&1; [ $? = 1 ] && grep -q "CID 1 may not use" "$T_DIR/out"; }
wait_for 30 "a refusal of CID 1" refused
pass "usbdctl over vsock loopback moved the balloon with PATCH /balloon; another peer CID is refused"
