#!/usr/bin/env bash
# Slow clients of one uid must not take every API connection slot. (1) The socket opened to group nogroup (0660):
# 256 clients running as nobody, which may reach the socket but not use the API, trickle a header byte a second
# and reconnect whenever turned away; usbd refuses them at accept (403), so root's curl is served meanwhile; then
# nobody's own curl still gets the documented 403. (2) A server whose allowed uid is nobody (api_fake --uid): 256
# such clients of nobody's own get at most their per-uid share of the 256 slots, and root's curl is served.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v setpriv > /dev/null || skip "needs setpriv"
FAKE=$HELPERS/api_fake
[[ -x $FAKE ]] || fail "$FAKE is missing (build the api_fake target)"
# nobody must reach the sockets in $T_DIR.
chmod 0755 "$T_DIR"
source "$(dirname "$0")/api_hostile.bash"
# A command, not a function: hostile_start's $! must be the client's own pid, for cleanup to stop it.
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/api.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off --status-interval 0
wait_for 20 "the API" curl -sf --max-time 5 --unix-socket "$sock" http://localhost/usbd/status -o /dev/null
# What giving the socket a group does (api_config.has_gid): the group may connect, mode 0660.
chgrp nogroup "$sock"
chmod 0660 "$sock"
hostile_start trickle "$sock" "${as_nobody[@]}"
root_served "$sock"
hostile_stop
[[ $HOSTILE_COUNTS == *refused_answers=[1-9]* ]] || fail "no trickling client was turned away"
# Refused at accept, before its request is read, nobody's curl still reads the documented 403. (Not during the
# flood: past 32 refused peers at once the oldest is closed, and a client that has not sent its request by then
# gets EPIPE instead; refused either way.)
out=$("${as_nobody[@]}" curl -sS --max-time 90 -w '\n%{http_code}' --unix-socket "$sock" http://localhost/usbd/status \
  2>&1) || fail "nobody's curl failed: $out"
[[ ${out##*$'\n'} == 403 ]] || fail "nobody got '$out', expected 403"
grep -q "permission denied: uid $(id -u nobody) may not use this socket" <<<"$out" || fail "403 body: $out"
kill -0 "$USBD_PID" || fail "usbd died"
echo "group socket: nobody refused at once, root served"

# The allowed uid is nobody: its clients are served, but 256 of them leave root a slot.
fsock=$T_DIR/fake.sock
"$FAKE" "$fsock" 4096 --uid "$(id -u nobody)" 2> "$T_DIR/fake.log" &
T_PIDS+=("$!")
wait_for 20 "api_fake" curl -sf --max-time 5 --unix-socket "$fsock" http://localhost/usbd/status -o /dev/null
hostile_start trickle "$fsock" "${as_nobody[@]}"
root_served "$fsock"
hostile_stop
[[ $HOSTILE_COUNTS == *refused_answers=[1-9]* ]] || fail "nobody's clients beyond its share were not turned away"
pass "clients of one uid cannot take every API slot: root is served, foreign peers refused at once"
