#!/usr/bin/env bash
# Core: usbd speaks systemd's notify protocol to whatever $NOTIFY_SOCKET names (here a socket this test reads, as
# systemd would): READY=1 once it runs, STATUS= lines, WATCHDOG=1 within every half WatchdogSec, and STOPPING=1 on
# SIGTERM. (The same unit under a real systemd runs in the Debian guest.)
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v python3 >/dev/null || skip "needs python3"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
notify=$T_DIR/notify
# A datagram reader standing in for systemd: one line per message, with the time it came (monotonic seconds).
python3 - "$notify" >"$T_DIR/messages" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        break
    print("%.3f %s" % (time.monotonic(), m.replace("\n", " ")), flush=True)
    if m.startswith("STOPPING=1"):
        break
PY
T_PIDS+=("$!")
reader=$!
wait_for 10 "the notify socket" test -S "$notify"
NOTIFY_SOCKET=$notify WATCHDOG_USEC=2000000 start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 64M \
  --api-sock off --spot-listen off
wait_for 20 "READY=1" grep -q ' READY=1' "$T_DIR/messages"
wait_for 20 "a STATUS= line" grep -q ' STATUS=grab ' "$T_DIR/messages"
pings() { grep -c ' WATCHDOG=1' "$T_DIR/messages"; }
three_pings() { (( $(pings) >= 3 )); }
wait_for 20 "three watchdog pings" three_pings
# Pings come every half interval (1 s); on a loaded machine a tick can be late, never so late as 2 s in a row.
gaps=$(awk '/ WATCHDOG=1/ { if (last) print $1 - last; last = $1 }' "$T_DIR/messages" | sort -n | tail -1)
echo "watchdog pings: $(grep -c ' WATCHDOG=1' "$T_DIR/messages"), largest gap ${gaps} s"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd exited non-zero on SIGTERM"
wait "$reader" 2>/dev/null || true
grep -q ' STOPPING=1' "$T_DIR/messages" || fail "no STOPPING=1 on SIGTERM: $(cat "$T_DIR/messages")"
pass "READY=1, STATUS=, WATCHDOG=1 every half interval, STOPPING=1 (as $(grep -m1 ' STATUS=' "$T_DIR/messages" | cut -d' ' -f2-))"
