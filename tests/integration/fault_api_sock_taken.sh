#!/usr/bin/env bash
# The API socket path already taken: by another live usbd, by another program, or by a file that is not a socket,
# a second usbd refuses to start with a clear error, exits non-zero and changes nothing (no worker cgroup, the
# path and its owner untouched, the first usbd still serving). A stale socket file (nobody listening) is replaced.
source "$(dirname "$0")/lib.sh"
require_root_v1

sock=$T_DIR/api.sock
mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
mkcg "$T_NAME-2" $((1 << 30))
mkcg "$T_NAME-2/app"

api() { curl -sf --max-time 10 --unix-socket "$1" http://localhost/usbd/status > /dev/null; }

# second_usbd_refuses WHAT: a usbd on the second domain must exit non-zero at once, naming the socket.
second_usbd_refuses() {
  local status
  set +e
  timeout 30 "$USBD" "${USBD_PRIVATE[@]}" --state-file off --domain "$T_NAME-2" "$T_NAME-2/app" --api-sock "$sock" --apps-sock off --spot-listen off \
    > "$T_DIR/second.log" 2>&1
  status=$?
  set -e
  cat "$T_DIR/second.log"
  (( status != 0 && status != 124 )) || fail "with $1 on the socket, the second usbd exited with status $status"
  grep -q "cannot open the API socket $sock" "$T_DIR/second.log" || fail "the second usbd did not say why"
  [[ ! -d $CGV1/$T_NAME-2/usbd-balloon ]] || fail "the second usbd left a worker cgroup behind"
}

# 1. Another live usbd serves the path.
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off
wait_for 20 "the first usbd's API" api "$sock"
second_usbd_refuses "a live usbd"
api "$sock" > /dev/null || fail "the first usbd stopped serving its API"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "the first usbd did not exit cleanly"
[[ ! -e $sock ]] || fail "the first usbd left its socket behind"

# 2. Another program listens on it (a stand-in server that answers each connection with a fixed line).
python3 - "$sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"other\n")
    except OSError:
        pass  # a client that only probes whether someone listens hangs up at once
    c.close()
PY
T_PIDS+=($!)
other_up() { [[ -S $sock ]] && [[ $(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(16).decode().strip())' "$sock" 2>/dev/null) == other ]]; }
wait_for 20 "the other program to listen" other_up
second_usbd_refuses "another program"
other_up || fail "the other program's socket was disturbed"
kill "${T_PIDS[-1]}"
wait "${T_PIDS[-1]}" 2>/dev/null || true

# 3. A file that is not a socket.
rm -f "$sock"
echo precious > "$sock"
second_usbd_refuses "a regular file"
[[ $(cat "$sock") == precious ]] || fail "the regular file was changed"
rm -f "$sock"

# 4. A stale socket (its server is gone): replaced.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
[[ -S $sock ]] || fail "could not make a stale socket"
start_usbd --domain "$T_NAME-2" "$T_NAME-2/app" --api-sock "$sock" --spot-listen off
wait_for 20 "usbd to serve its API on the stale path" api "$sock"
grep -q "removing stale socket $sock" "$T_DIR/usbd.log" || fail "usbd did not say it replaced the stale socket"
pass "a taken API socket is refused without side effects; a stale one is replaced"
