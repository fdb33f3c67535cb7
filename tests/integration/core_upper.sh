#!/usr/bin/env bash
# Core: lowering the upper bound below the grab deflates at once, to the new bound (through the control API).
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v curl >/dev/null || skip "needs curl"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 512M --api-sock "$sock" --spot-listen off
balloon=$CGV1/$T_NAME/usbd-balloon
grab() { cat "$balloon/memory.usage_in_bytes" 2>/dev/null || echo 0; }
at_least() { (( $(grab) >= $1 )); }
at_most() { (( $(grab) <= $1 )); }
wait_for 30 "the balloon to reach 512 MiB" at_least $((512 << 20))

code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X PATCH http://localhost/usbd/targets \
  -H 'Content-Type: application/json' -d '{"grab_lower_mib": 0, "grab_upper_mib": 128}')
[[ $code == 204 ]] || fail "PATCH /usbd/targets answered $code: $(cat "$T_DIR/body")"
wait_for 5 "the balloon to deflate to the 128 MiB upper bound" at_most $(((128 + 4) << 20))
grep -q "deflating.*(upper)" "$T_DIR/usbd.log" || fail "the deflation was not attributed to the upper bound"
status=$(curl -s --unix-socket "$sock" http://localhost/usbd/status)
grep -q '"reason": *"upper"' <<<"$status" || fail "status does not report the upper-bound deflation: $status"
sleep 1
at_most $(((128 + 4) << 20)) || fail "the balloon grew past its upper bound again: $(mib "$(grab)") MiB"
pass "lowering the upper bound deflated the balloon to it and it stayed there"
