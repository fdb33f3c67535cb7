#!/usr/bin/env bash
# Nobody can keep apps from registering by holding the apps socket's connections (root, cgroup v1):
#   1. 100 connections held by a uid outside the domain are refused at once; an app still registers;
#   2. 100 connections held (never registering) by another uid inside the domain: an app still registers;
#   3. a connection inside the domain that never registers is closed after a few seconds (made by a third uid,
#      which has no connection yet: it is admitted, and only the timeout can close it).
source "$(dirname "$0")/lib.sh"
require_root_v1

DOM=$T_NAME
APP=$DOM/app
SOCK=$T_DIR/apps.sock
mkcg "$DOM" $((1 << 30))
mkcg "$APP"
chmod 755 "$T_DIR" # the socket is 0666, its directory must be traversable by the unprivileged peers
start_usbd --domain "$DOM" --threshold 128M --apps-sock "$SOCK" --api-sock off --spot-listen off "$APP"
wait_for 10 "the registry's socket" test -S "$SOCK"

# A client as uid nobody: "hold N" opens N connections and keeps them; "idle" opens one and says when it closes.
cat >"$T_DIR/peer.py" <<'PY'
import socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
if mode == "hold":
    held = []
    for _ in range(int(sys.argv[3])):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        held.append(s)
    print("holding", flush=True)
    time.sleep(3600)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    print("connected", flush=True)
    s.settimeout(240)
    print("closed" if s.recv(1) == b"" else "data", flush=True)
PY
chmod 644 "$T_DIR/peer.py"
# as UID CG ARGS: runs the client as UID in cgroup CG (in the background, $! is its pid).
as_uid() {
  local uid=$1 cg=$2; shift 2
  spawn_in_cg "$cg" setpriv --reuid="$uid" --regid="$uid" --clear-groups /usr/bin/python3 "$T_DIR/peer.py" "$SOCK" "$@"
}

# registers NAME: a real app in the app cgroup registers (lib_scan_app says "ready" only once registered).
registers() {
  spawn_in_cg "$APP" "$HELPERS/lib_scan_app" --size 16M --apps-sock "$SOCK" --status "$T_DIR/$1.status" \
    >"$T_DIR/$1.log" 2>&1
  T_PIDS+=("$!")
  wait_for 60 "app $1 to register or fail" grep -q '^ready\|register' "$T_DIR/$1.log"
  grep -q '^ready' "$T_DIR/$1.log" || fail "app $1 could not register: $(cat "$T_DIR/$1.log")"
}

mkcg "$T_NAME-outside"
as_uid 65534 "$T_NAME-outside" hold 100 >"$T_DIR/outside.log" 2>&1
T_PIDS+=("$!")
wait_for 60 "the outside peer's connections" grep -q holding "$T_DIR/outside.log"
registers a
pass "100 connections from a uid outside the domain: an app still registers"

as_uid 65534 "$APP" hold 100 >"$T_DIR/inside.log" 2>&1
T_PIDS+=("$!")
wait_for 60 "the inside peer's connections" grep -q holding "$T_DIR/inside.log"
registers b
pass "100 connections from another uid inside the domain: an app still registers"

as_uid 1 "$APP" idle >"$T_DIR/idle.log" 2>&1
T_PIDS+=("$!")
wait_for 120 "the idle connection to be closed" grep -q '^closed' "$T_DIR/idle.log"
kill -0 "$USBD_PID" || fail "usbd died"
pass "a connection that never registers is closed"
