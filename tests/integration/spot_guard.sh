#!/usr/bin/env bash
# The spot store's front door under abuse (the tenant run standalone by tests/helpers/spot_server):
# 1. out of file descriptors (its RLIMIT_NOFILE lowered with prlimit to 64 while running, 150 clients): it does not
#    spin on EMFILE (CPU ticks over the episode stay small), logs a few lines, not one per attempt, and clients it
#    cannot take get '-ERR max number of clients reached'; started with 'ulimit -n 256' its maxclients fits that.
# 2. password guessing: one connection is closed after 3 wrong passwords, a source address is backed off after 10
#    (its AUTHs refused without comparing, even with the right password), and failures are logged at a bounded rate.
source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null && command -v prlimit >/dev/null || skip "needs redis-tools and prlimit"
SERVER=$HELPERS/spot_server
[[ -x $SERVER ]] || fail "missing $SERVER"
port=$((20000 + ($$ + 7000) % 10000))

# start LOG ARGS...: a spot_server on $port; sets SPID.
start() {
  local log=$1; shift
  "$SERVER" --listen "127.0.0.1:$port" --chunks 2 "$@" </dev/null >/dev/null 2>"$T_DIR/$log" &
  SPID=$!
  T_PIDS+=("$SPID")
  wait_for 10 "spot_server to answer" bash -c "redis-cli -p $port PING 2>&1 | grep -q -e PONG -e NOAUTH"
}
# stop: ends the server and waits until nothing listens on the port, so that the next one can bind it. SPID may
# not be this shell's child (the one started in a subshell under ulimit): `wait` then returns at once, before the
# server has closed its socket (a run failed so: "cannot listen on 127.0.0.1:22978: Address already in use").
port_free() { [[ -z $(ss -ltnH "sport = :$port") ]]; }
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; wait_for 10 "the server to close port $port" port_free; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- 1. out of file descriptors ---
start fds.log
prlimit --pid "$SPID" --nofile=64:64
t0=$(ticks "$SPID")
python3 - "$port" 150 > "$T_DIR/fds" <<'PY'
import select, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
time.sleep(3)              # all held open: a spinning server burns CPU all along
for s in socks:
    try:
        s.sendall(b"PING\r\n")
    except OSError:
        pass
answers, waiting, deadline = {}, set(socks), time.time() + 20
while waiting and time.time() < deadline:
    for s in select.select(list(waiting), [], [], 1)[0]:
        try:
            a = s.recv(128).decode().strip() or "closed"
        except OSError:
            a = "closed"
        answers[a] = answers.get(a, 0) + 1
        waiting.discard(s)
if waiting:
    answers["timeout"] = len(waiting)
for a, k in sorted(answers.items()):
    print(k, a)
PY
t1=$(ticks "$SPID")
lines=$(grep -c "accept" "$T_DIR/fds.log" || true)
full=$(awk '$2 == "-ERR" {print $1}' "$T_DIR/fds")
echo "150 clients at RLIMIT_NOFILE 64: $((t1 - t0)) CPU ticks, $lines log lines about accept; answers: $(tr '\n' ' ' < "$T_DIR/fds")"
(( t1 - t0 < 100 )) || fail "the server used $((t1 - t0)) ticks of CPU while out of fds (a busy loop)"
(( lines <= 5 )) || fail "$lines log lines about accept (a flood)"
(( ${full:-0} >= 50 )) || fail "clients it could not take were not told: $(cat "$T_DIR/fds")"
! grep -q timeout "$T_DIR/fds" || fail "some clients timed out: $(cat "$T_DIR/fds")"
[[ $(redis-cli -p "$port" PING) == PONG ]] || fail "the server stopped answering"
stop
# Started under a low limit, maxclients fits it (minus fds kept for the server itself).
(ulimit -n 256; start low.log)
SPID=$(pgrep -f "^$SERVER --listen 127.0.0.1:$port " | head -1)
T_PIDS+=("$SPID")
maxcl=$(redis-cli -p "$port" INFO clients | tr -d '\r' | awk -F: '$1 == "maxclients" {print $2}')
echo "started with ulimit -n 256: maxclients $maxcl"
(( maxcl == 224 )) || fail "maxclients $maxcl under ulimit -n 256, want 224"
stop

# --- 2. password guessing ---
start auth.log --password s3cret
python3 - "$port" > "$T_DIR/auth" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"AUTH nope\r\n" * 20000)
data = b""
s.settimeout(10)
while True:
    got = s.recv(65536)
    if not got:
        break
    data += got
print("one connection:", data.count(b"WRONGPASS"), "WRONGPASS then closed")
refused = wrong = 0
for i in range(30):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"AUTH nope%d\r\n" % i)
    line = c.recv(256)
    wrong += b"WRONGPASS" in line
    refused += b"too many failed AUTH" in line
    c.close()
print("new connections:", wrong, "wrong", refused, "refused")
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"AUTH s3cret\r\n")
print("right password while backed off:", c.recv(256).decode().strip())
PY
cat "$T_DIR/auth"
lines=$(grep -c "AUTH" "$T_DIR/auth.log" || true)
echo "$lines log lines about AUTH"
grep -q "one connection: 3 WRONGPASS then closed" "$T_DIR/auth" || fail "one connection could try more than 3 passwords"
read -r wrong refused < <(awk '/^new connections:/ {print $3, $5}' "$T_DIR/auth")
# 10 free failures (3 above), the 11th starts a back-off of 1 s, doubling: the loop takes milliseconds.
(( wrong >= 8 && wrong <= 10 && refused >= 20 )) || fail "the source address was not backed off after 10 failures"
grep -q "right password while backed off: -ERR too many failed AUTH" "$T_DIR/auth" || fail "a backed-off source could still log in"
(( lines >= 1 && lines <= 5 )) || fail "$lines log lines about AUTH failures (want a few, at a bounded rate)"
stop
pass "no busy loop out of fds, clients told 'max number of clients', AUTH throttled per connection and per address"
