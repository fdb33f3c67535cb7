# Shared by api_stalled_clients.sh and api_foreign_clients.sh, sourced after lib.sh (named .bash so that ctest does
# not run it): hostile API clients (api_hostile.py) in the background, and root's curl served while they are on.
command -v curl > /dev/null || skip "needs curl"
# /usr/bin/python3: root's python3 may be a private shim that nobody cannot run.
HOSTILE_PY=/usr/bin/python3
[[ -x $HOSTILE_PY ]] || skip "needs $HOSTILE_PY"
# The script and its files live where any uid may write: some tests run it as nobody.
HOSTILE_DIR=$T_DIR/hostile
mkdir -m 0777 "$HOSTILE_DIR"
cp "$(dirname "${BASH_SOURCE[0]}")/api_hostile.py" "$HOSTILE_DIR/"

# hostile_start MODE SOCK [RUNNER...]: 256 clients of api_hostile.py in the background, run through RUNNER (a
# command that execs its arguments, e.g. setpriv, never a shell function: cleanup stops HOSTILE_PID); returns once
# each client has been hostile at least once.
hostile_start() {
  local mode=$1 sock=$2
  shift 2
  rm -f "$HOSTILE_DIR/ready" "$HOSTILE_DIR/stop"
  "$@" "$HOSTILE_PY" "$HOSTILE_DIR/api_hostile.py" "$mode" "$sock" 256 "$HOSTILE_DIR/ready" "$HOSTILE_DIR/stop" \
    > "$HOSTILE_DIR/out" &
  HOSTILE_PID=$!
  T_PIDS+=("$HOSTILE_PID")
  wait_for 120 "256 hostile clients ($mode)" hostile_ready
}

hostile_ready() {
  [[ -e $HOSTILE_DIR/ready ]] && return 0
  kill -0 "$HOSTILE_PID" 2>/dev/null || fail "the hostile clients exited: $(cat "$HOSTILE_DIR/out")"
  return 1
}

# hostile_stop: stops the clients and prints their counts (connects, hostile, closed_by_server, refused_answers).
hostile_stop() {
  touch "$HOSTILE_DIR/stop"
  wait "$HOSTILE_PID" || fail "the hostile clients failed"
  HOSTILE_COUNTS=$(cat "$HOSTILE_DIR/out")
  echo "hostile clients: $HOSTILE_COUNTS"
}

# root_served SOCK: root's curl gets GET /usbd/status answered; prints how long it took. The time bound only
# catches a lock-out; it is no assertion on speed.
root_served() {
  local took
  took=$(curl -sf --max-time 90 --unix-socket "$1" -w '%{time_total}' -o "$T_DIR/answer" \
    http://localhost/usbd/status) || fail "root's curl on $1 was not served while the hostile clients were on"
  grep -q '"grab_bytes"' "$T_DIR/answer" || fail "root's curl got: $(cat "$T_DIR/answer")"
  echo "root's curl served in $took s"
}
