#!/usr/bin/env bash
# The control API on AF_VSOCK (--api-vsock), as far as a machine without a vsock peer can show it: the listener
# opens (or start-up fails with a clear message when this kernel has no vsock), a taken port is refused at
# start-up with a clear message and nothing left behind, a peer that is not the host is never served, and bad
# option values are usage errors. Serving the host itself needs a VM guest and its host (docs/API.md).
source "$(dirname "$0")/lib.sh"
require_root_v1
USBDCTL=$BUILD/usbdctl

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
port=$((400000 + RANDOM))
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$T_DIR/usbd.sock" --spot-listen off --api-vsock "$port"
log=$T_DIR/usbd.log
up() { grep -q "control API on vsock port $port, for peer CID 2" "$log"; }
gone() { ! kill -0 "$USBD_PID" 2>/dev/null; }
wait_for 10 "usbd to open its vsock listener or to refuse it" bash -c "grep -q 'vsock' '$log' || ! kill -0 $USBD_PID"
if ! up; then
  wait_for 10 "usbd to exit" gone
  grep -q "cannot listen on vsock port $port for the API: " "$log" || fail "no clear message: $(cat "$log")"
  [[ ! -d $CGV1/$T_NAME/usbd-balloon ]] || fail "usbd left its cgroup behind"
  skip "no vsock here; start-up refused it cleanly: $(grep 'cannot listen on vsock' "$log")"
fi
wait_for 10 "the API socket" test -S "$T_DIR/usbd.sock"

# A second usbd on the same port: refused before it changes anything.
set +e
timeout 10 "$USBD" "${USBD_PRIVATE[@]}" --api-sock "$T_DIR/second.sock" --apps-sock off --spot-listen off --api-vsock "$port" \
  --domain "$T_NAME" "$T_NAME/app" >"$T_DIR/second.log" 2>&1
status=$?
set -e
(( status != 0 && status != 124 )) || fail "a second usbd on vsock port $port exited with $status"
grep -q "cannot listen on vsock port $port for the API: another server answers there" "$T_DIR/second.log" ||
  fail "second usbd: $(cat "$T_DIR/second.log")"
[[ ! -e $T_DIR/second.sock ]] || fail "the refused usbd left its API socket behind"
kill -0 "$USBD_PID" || fail "the first usbd died"
echo "ok: a taken vsock port is refused at start-up"

# Only the host (CID 2) is served. From this machine the only other way in is local loopback (CID 1): without
# vsock_loopback the connection fails (exit 3); with it, usbd refuses the peer with 403 (exit 1).
set +e
"$USBDCTL" --vsock "1:$port" status >"$T_DIR/out" 2>"$T_DIR/err"
status=$?
set -e
case $status in
  3) grep -q "cannot talk to usbd on vsock:1:$port" "$T_DIR/err" || fail "usbdctl: $(cat "$T_DIR/err")" ;;
  1) grep -q "permission denied: vsock CID 1 may not use this port (only CID 2)" "$T_DIR/err" ||
       fail "usbdctl: $(cat "$T_DIR/err")" ;;
  *) fail "usbdctl --vsock 1:$port status exited $status: $(cat "$T_DIR/out" "$T_DIR/err")" ;;
esac
echo "ok: a local vsock peer is not served (usbdctl exit $status)"

# The Unix socket serves the same API at the same time.
"$USBDCTL" --sock "$T_DIR/usbd.sock" status >/dev/null || fail "the Unix socket stopped serving"

# Bad values: usage errors, nothing started.
for bad in 0 4294967295 x; do
  set +e
  timeout 10 "$USBD" "${USBD_PRIVATE[@]}" --api-sock off --spot-listen off --api-vsock "$bad" "$T_NAME/app" >"$T_DIR/bad.log" 2>&1
  status=$?
  set -e
  (( status != 0 && status != 124 )) || fail "--api-vsock $bad exited with $status"
  grep -q -- "--api-vsock: '$bad' is not a vsock port" "$T_DIR/bad.log" || fail "--api-vsock $bad: $(cat "$T_DIR/bad.log")"
done
pass "vsock listener: opens, refuses a taken port and non-host peers, validates its options"
