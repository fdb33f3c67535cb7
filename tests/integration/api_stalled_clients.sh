#!/usr/bin/env bash
# 256 API clients (the connection cap) pipeline requests and never read the answers, so usbd's writes to them
# block and it stops reading them with their requests waiting unread; they reconnect whenever usbd hangs up. usbd
# must close each one once its deadline passes, so root's curl is still served, and the answers queued for
# stalled clients stay small (usbd's RSS bounded).
source "$(dirname "$0")/lib.sh"
require_root_v1
source "$(dirname "$0")/api_hostile.bash"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/api.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off --status-interval 0
get() { curl -sf --max-time 5 --unix-socket "$sock" http://localhost/usbd/status -o /dev/null; }
wait_for 20 "the API" get
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$USBD_PID/status"; }
for i in $(seq 20); do get || fail "warm-up request $i failed"; done
rss_start=$(rss_kib)

hostile_start pipeline "$sock"
rss_stalled=$(rss_kib)
echo "usbd RSS: $rss_start KiB before, $rss_stalled KiB with 256 clients stalled"
root_served "$sock"
hostile_stop
kill -0 "$USBD_PID" || fail "usbd died"
[[ $HOSTILE_COUNTS == *closed_by_server=[1-9]* ]] || fail "usbd never closed a stalled client"
if grep -q __asan_init "$USBD"; then
  echo "NOTE: $USBD is built with AddressSanitizer: RSS bound not checked" >&2
else
  (( rss_stalled - rss_start <= 8 * 1024 )) ||
    fail "RSS grew by $((rss_stalled - rss_start)) KiB for 256 stalled clients"
fi
pass "stalled pipelining clients are closed at their deadline; root is served; queued answers bounded"
