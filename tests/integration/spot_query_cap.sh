#!/usr/bin/env bash
# The query buffer cap (unparsed bytes per client) with reads straight into the parser's buffer, on the spot tenant
# run standalone (tests/helpers/spot_server --max-query 24576):
# 1. a client pipelining 40 SETs of 4 KiB values in one write (166 KB, far over the cap, but never more than a request
#    and a read unparsed) gets 40 +OK: a read may ask for all the room the buffer has, never for more than the cap
#    still lets in (a read past it would close the client for bytes that 16 KiB reads take);
# 2. a single request longer than the cap still closes its client, logged, and the server serves the next one.
# No cgroups: the same on v1 and v2.
source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || skip "needs redis-tools"
SERVER=$HELPERS/spot_server
[[ -x $SERVER ]] || fail "missing $SERVER"
port=$(free_port)
"$SERVER" --listen "127.0.0.1:$port" --chunks 4 --max-query 24576 </dev/null >/dev/null 2>"$T_DIR/server.log" &
T_PIDS+=("$!")
wait_for 10 "spot_server to answer" bash -c "redis-cli -p $port PING 2>&1 | grep -q PONG"

# send PORT N SIZE: one connection, N SETs of SIZE-byte values written at once; prints the replies counted by kind.
send() {
  python3 - "$@" <<'PY'
import socket, sys
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(20)
val = b"v" * size
req = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$%d\r\n%s\r\n" % (len(b"k%d" % i), i, size, val) for i in range(n))
try:
    s.sendall(req)
except OSError:
    pass
got = b""
while got.count(b"\r\n") < n:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    got += b
lines = got.split(b"\r\n")[:-1]
print("ok=%d other=%d closed=%d" % (lines.count(b"+OK"), len(lines) - lines.count(b"+OK"), got.count(b"\r\n") < n))
PY
}

out=$(send "$port" 40 4096)
echo "40 pipelined SETs of 4 KiB under a 24 KiB query cap: $out"
[[ $out == "ok=40 other=0 closed=0" ]] ||
  fail "the pipeline was not served whole: $out; log: $(tail -n 3 "$T_DIR/server.log")"
grep -q "query buffer cap" "$T_DIR/server.log" &&
  fail "a client was closed at the cap: $(grep "query buffer cap" "$T_DIR/server.log")"

out=$(send "$port" 1 30000)
echo "one SET of a 30000-byte value: $out"
[[ $out == "ok=0 other=0 closed=1" ]] || fail "a request over the cap was not refused by closing: $out"
grep -q "reached the query buffer cap" "$T_DIR/server.log" || fail "no log line for the client closed at the cap"
[[ $(redis-cli -p "$port" DBSIZE) == 40 ]] ||
  fail "the server did not go on serving: DBSIZE $(redis-cli -p "$port" DBSIZE)"
pass "a pipeline far over the query cap served whole with reads straight into the buffer; one request over it refused"
