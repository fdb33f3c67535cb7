#!/usr/bin/env bash
# Core: lowering the upper bound below the grab deflates at once, to the new bound (through the control API).
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
command -v curl >/dev/null || skip "needs curl"

DOM_MIB=$(t_size 1024 512) GRAB_MIB=$(t_size 512 256)
mkcg "$T_NAME" $((DOM_MIB << 20))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower "${GRAB_MIB}M" --api-sock "$sock" --spot-listen off
balloon=$T_NAME/usbd-balloon
at_least() { (( $(cg_usage "$balloon") >= $1 )); }
at_most() { (( $(cg_usage "$balloon") <= $1 )); }
wait_for 30 "the balloon to reach $GRAB_MIB MiB" at_least $((GRAB_MIB << 20))

code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X PATCH http://localhost/usbd/targets \
  -H 'Content-Type: application/json' -d '{"grab_lower_mib": 0, "grab_upper_mib": 128}')
[[ $code == 204 ]] || fail "PATCH /usbd/targets answered $code: $(cat "$T_DIR/body")"
wait_for "$(t_size 5 20)" "the balloon to deflate to the 128 MiB upper bound" at_most $(((128 + 4) << 20))
grep -q "deflating.*(upper)" "$T_DIR/usbd.log" || fail "the deflation was not attributed to the upper bound"
status=$(curl -s --unix-socket "$sock" http://localhost/usbd/status)
grep -q '"reason": *"upper"' <<<"$status" || fail "status does not report the upper-bound deflation: $status"
sleep 1
at_most $(((128 + 4) << 20)) || fail "the balloon grew past its upper bound again: $(mib "$(cg_usage "$balloon")") MiB"
pass "lowering the upper bound deflated the balloon to it and it stayed there (cgroup v$CG_VER)"
