#!/bin/bash
# api_server: the control API over a real Unix socket, driven with real curl, against tests/helpers/api_fake
# (the real server with an in-memory backend: domain 4096 MiB, lower <= upper enforced).
set -euo pipefail

FAKE=${USBD_BUILD:?}/helpers/api_fake
[ -x "$FAKE" ] || { echo "FAIL: $FAKE is missing (build the api_fake target)"; exit 1; }
PY=$(command -v python3) || { echo "FAIL: python3 is needed for the raw-socket clients"; exit 1; }

TMP=$(mktemp -d "/tmp/usbd-test-$$-api.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; [ -f "$TMP/log" ] && tail -5 "$TMP/log"; exit 1; }
pass() { echo "ok: $*"; }

# start_fake SOCK DOMAIN_MIB [options]: runs the server in the background and waits until it answers.
start_fake() {
	local sock=$1
	"$FAKE" "$@" 2>>"$TMP/log" &
	PIDS+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null --unix-socket "$sock" http://localhost/balloon && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || fail "api_fake on $sock exited"
		sleep 0.1
	done
	fail "api_fake on $sock never answered"
}

SOCK=$TMP/run/api.sock
# req METHOD PATH [BODY]: sets CODE and OUT (the response body) for the server on $SOCK.
req() {
	local args=(-sS -o "$TMP/out" -w '%{http_code}' --unix-socket "$SOCK" -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	CODE=$(curl "${args[@]}" "http://localhost$2")
	OUT=$(cat "$TMP/out")
}
# expect METHOD PATH BODY CODE [EXACT_RESPONSE_BODY]; BODY "-" sends none.
expect() {
	if [ "$3" = - ]; then req "$1" "$2"; else req "$1" "$2" "$3"; fi
	[ "$CODE" = "$4" ] || fail "$1 $2 '$3': got $CODE '$OUT', expected $4"
	[ $# -lt 5 ] || [ "$OUT" = "$5" ] || fail "$1 $2 '$3': got '$OUT', expected '$5'"
}
# expect_fault METHOD PATH BODY CODE MESSAGE: an error answer whose fault_message is exactly MESSAGE.
expect_fault() {
	expect "$1" "$2" "$3" "$4"
	[ "$(jq -r .fault_message <<<"$OUT")" = "$5" ] || fail "$1 $2 '$3': fault '$OUT', expected '$5'"
}
state() {
	curl -sS --unix-socket "$SOCK" http://localhost/balloon
	curl -sS --unix-socket "$SOCK" http://localhost/usbd/targets
}

start_fake "$SOCK" 4096

# The socket and its directory.
[ "$(stat -c '%a %U' "$SOCK")" = "600 root" ] || fail "socket mode/owner $(stat -c '%a %U' "$SOCK")"
[ "$(stat -c '%a' "$TMP/run")" = 755 ] || fail "socket directory mode $(stat -c '%a' "$TMP/run")"
pass "socket 0600 root in a new 0755 directory"

# Firecracker's documented balloon commands.
expect PUT /balloon '{"amount_mib": 256, "deflate_on_oom": true, "stats_polling_interval_s": 1}' 204 ""
expect GET /balloon - 200 '{"amount_mib":256,"deflate_on_oom":true,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":false}'
expect PATCH /balloon '{"amount_mib": 128}' 204 ""
expect GET /balloon - 200 '{"amount_mib":128,"deflate_on_oom":true,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":false}'
expect GET /balloon/statistics - 200
[ "$(jq -c '[.target_mib, .target_pages, .actual_mib, .total_memory]' <<<"$OUT")" = "[128,32768,128,4294967296]" ] ||
	fail "statistics $OUT"
[ "$(jq 'keys | length' <<<"$OUT")" = 20 ] || fail "statistics should have Firecracker's 20 fields: $OUT"
before=$(jq .minor_faults <<<"$OUT")
expect PATCH /balloon/statistics '{"stats_polling_interval_s": 5}' 204 ""
expect GET /balloon - 200 '{"amount_mib":128,"deflate_on_oom":true,"stats_polling_interval_s":5,"free_page_hinting":false,"free_page_reporting":false}'
expect GET /balloon/statistics - 200
[ "$(jq .minor_faults <<<"$OUT")" -gt "$before" ] || fail "PATCH /balloon/statistics did not refresh"
expect PUT /balloon '{"amount_mib": 64, "deflate_on_oom": false}' 204 ""
expect GET /balloon - 200 '{"amount_mib":64,"deflate_on_oom":false,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":false}'
expect_fault GET /balloon/statistics - 400 "Internal VMM error: Balloon: Received stats query when stats are disabled."
expect_fault PATCH /balloon/statistics '{"stats_polling_interval_s": 2}' 400 \
	"Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation."
expect PUT /balloon '{"amount_mib": 64, "deflate_on_oom": false, "stats_polling_interval_s": 2}' 204 ""
pass "PUT/PATCH/GET /balloon and GET/PATCH /balloon/statistics"

# usbd's own endpoints.
expect PATCH /usbd/targets '{"grab_upper_mib": 512, "swap_target_mib": 100, "headroom_mib": 1024}' 204 ""
expect GET /usbd/targets - 200 \
	'{"grab_lower_mib":64,"grab_upper_mib":512,"swap_target_mib":100,"headroom_mib":1024,"threshold_mib":0}'
expect GET /usbd/status - 200
[ "$(jq -c '[.grab_upper_bytes, .pressure, .version, .last_deflation.reason]' <<<"$OUT")" = \
	'[536870912,"none","0.1.0","app_growth"]' ] || fail "status $OUT"
pass "GET/PATCH /usbd/targets and GET /usbd/status"

# Every error: 400 (413 for an oversized body) with a fault_message, and nothing changed.
good=$(state)
FC="An error occurred when deserializing the json body of a request: "
while IFS='|' read -r method path body message; do
	expect_fault "$method" "$path" "$body" 400 "${message/#FC/$FC}"
done <<'CASES'
PUT|/balloon|{"amout_mib": 1, "deflate_on_oom": true}|FCunknown field `amout_mib`, expected one of `amount_mib`, `deflate_on_oom`, `stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` at line 1 column 12.
PUT|/balloon|{"amount_mib": "1", "deflate_on_oom": true}|FCinvalid type: string "1", expected u32 at line 1 column 18.
PUT|/balloon|{"amount_mib": -1, "deflate_on_oom": true}|FCinvalid value: integer `-1`, expected u32 at line 1 column 17.
PUT|/balloon|{"amount_mib": 1.5, "deflate_on_oom": true}|FCinvalid type: floating point `1.5`, expected u32 at line 1 column 18.
PUT|/balloon|{"amount_mib": 4294967296, "deflate_on_oom": true}|FCinvalid value: integer `4294967296`, expected u32 at line 1 column 25.
PUT|/balloon|{"amount_mib": 1, "deflate_on_oom": "yes"}|FCinvalid type: string "yes", expected a boolean at line 1 column 41.
PUT|/balloon|{"amount_mib": 1}|FCmissing field `deflate_on_oom` at line 1 column 17.
PUT|/balloon|{"amount_mib": 1, "deflate_on_oom": true, "stats_polling_interval_s": 65536}|FCinvalid value: integer `65536`, expected u16 at line 1 column 75.
PUT|/balloon|{"amount_mib": 1, "amount_mib": 2, "deflate_on_oom": true}|FCduplicate field `amount_mib` at line 1 column 30.
PUT|/balloon|{"amount_mib": 1, "deflate_on_oom": true}}|FCtrailing characters at line 1 column 42.
PUT|/balloon||Empty PUT request.
PUT|/balloon|{"amount_mib": 5000, "deflate_on_oom": true}|Balloon config error: Amount of pages requested is too large.
PATCH|/balloon||Empty PATCH request.
PATCH|/balloon|{"amount_mib": 1, "deflate_on_oom": true}|FCunknown field `deflate_on_oom`, expected `amount_mib` at line 1 column 34.
PATCH|/balloon|{"amount_mib": 5000}|Balloon update error: Balloon: Requested memory should be less than 5000MiB
PATCH|/balloon/statistics|{"stats_polling_interval_s": -3}|FCinvalid value: integer `-3`, expected u16 at line 1 column 31.
PATCH|/usbd/targets|{}|expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, headroom_mib, threshold_mib
PATCH|/usbd/targets|{"grab_lower_mib": 1000}|grab_lower_mib (1000) is larger than grab_upper_mib (512)
PATCH|/usbd/targets|{"grab_upper_mib": 9000}|grab_upper_mib: 9000 MiB is larger than the domain (4096 MiB)
PATCH|/usbd/targets|{"headroom_mib": 17592186044416}|FCinvalid value: integer `17592186044416`, expected u64 of at most 17592186044415 (MiB) at line 1 column 31.
GET|/balloon|{}|GET request cannot have a body.
GET|/nope||Invalid request method and/or path: GET nope.
GET|/balloon?x=1||query strings are not supported
DELETE|/balloon||Invalid request method and/or path: DELETE balloon.
POST|/usbd/targets|{}|Invalid HTTP Method: Unsupported HTTP method.
CASES
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
expect_fault PUT /balloon "@$TMP/big" 413 "request body is larger than the limit of 65536 bytes"
CODE=$(curl -sS -o "$TMP/out" -w '%{http_code}' --unix-socket "$SOCK" -X PUT -H 'Transfer-Encoding: chunked' \
	--data-binary "@$TMP/big" http://localhost/balloon)
[ "$CODE" = 413 ] && grep -q 'larger than the limit' "$TMP/out" ||
	fail "chunked oversized body: $CODE $(cat "$TMP/out")"
# Far over the limit: answered at once, before the body; a client waiting for "100 Continue" sends none of it.
head -c $((2 << 20)) /dev/zero | tr '\0' ' ' >"$TMP/huge"
CODE=$(curl -sS -o "$TMP/out" -w '%{http_code}' --unix-socket "$SOCK" -X PUT -H 'Expect: 100-continue' \
	--data-binary "@$TMP/huge" http://localhost/balloon)
[ "$CODE" = 413 ] && grep -q 'larger than the limit' "$TMP/out" ||
	fail "announced 2 MiB body with Expect: $CODE $(cat "$TMP/out")"
[ "$(state)" = "$good" ] || fail "state changed by refused requests: $(state) vs $good"
pass "every error answers with a fault_message and changes nothing"

# HTTP framing over raw sockets: keep-alive and pipelining, HTTP/1.0, 100-continue, chunked bodies, HEAD, and
# malformed requests answered with a status and a fault_message before the connection is closed.
cat >"$TMP/framing.py" <<'PY'
import json, socket, sys
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    return s
def read_answer(s, buf=b"", head_only=False):
    """Reads one answer; returns (status, headers, body, rest of the buffer)."""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            sys.exit("connection closed before an answer; got %r" % buf)
        buf += b
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = 0 if head_only else int(hdrs.get("content-length", "0"))
    while len(buf) < n:
        b = s.recv(65536)
        if not b:
            sys.exit("body cut short")
        buf += b
    return status, hdrs, buf[:n], buf[n:]
def closed(s, rest=b""):
    return rest == b"" and s.recv(1) == b""
def expect(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

# Keep-alive: three pipelined requests in one write, answered in order on one connection, then close on request.
s = conn()
s.sendall(b"GET /balloon HTTP/1.1\r\nHost: x\r\n\r\n"
          b"PATCH /usbd/targets HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\n\r\n{\"threshold_mib\": 128}"
          b"GET /usbd/targets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
st1, h1, b1, rest = read_answer(s)
st2, h2, b2, rest = read_answer(s, rest)
st3, h3, b3, rest = read_answer(s, rest)
expect((st1, st2, st3) == (200, 204, 200), "pipelined statuses %r" % ((st1, st2, st3),))
expect(json.loads(b3)["threshold_mib"] == 128, "pipelined PATCH not applied before the GET: %r" % b3)
expect("content-length" not in h2 and h3.get("connection") == "close" and "connection" not in h1, "headers")
expect(closed(s, rest), "not closed after Connection: close")
# HTTP/1.0 closes unless asked to keep the connection.
s = conn()
s.sendall(b"GET /balloon HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st, h, _, rest = read_answer(s)
expect(st == 200 and h.get("connection") == "keep-alive", "HTTP/1.0 keep-alive: %r %r" % (st, h))
s.sendall(b"GET /balloon HTTP/1.0\r\n\r\n")
st, h, _, rest = read_answer(s, rest)
expect(st == 200 and closed(s, rest), "HTTP/1.0 without keep-alive not closed")
# Expect: 100-continue within the limit: "100 Continue" first, then the answer; a chunked body is read whole.
s = conn()
s.sendall(b"PATCH /usbd/targets HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n")
st, _, _, rest = read_answer(s, head_only=True)
expect(st == 100 and rest == b"", "no 100 Continue: %r" % st)
s.sendall(b"{\"threshold_mib\": 0}")
st, _, _, rest = read_answer(s, rest)
expect(st == 204, "after 100 Continue: %r" % st)
s.sendall(b"PATCH /usbd/targets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3;x=y\r\n{\"t\r\n12\r\nhreshold_mib\": 64}\r\n0\r\nX-T: 1\r\n\r\n"
          b"HEAD /usbd/targets HTTP/1.1\r\nHost: x\r\n\r\n")
st, _, _, rest = read_answer(s, rest)
expect(st == 204, "chunked PATCH: %r" % st)
st, h, _, rest = read_answer(s, rest, head_only=True)
expect(st == 400 and int(h["content-length"]) > 0 and rest == b"", "HEAD answered with a body or wrongly: %r %r" % (st, rest))
s.sendall(b"GET /usbd/targets HTTP/1.1\r\nHost: x\r\n\r\n")
st, _, b, rest = read_answer(s, rest)
expect(st == 200 and json.loads(b)["threshold_mib"] == 64, "chunked PATCH not applied: %r" % b)
s.close()
# Malformed framing: the status, a fault_message, Connection: close, and the end of the connection.
for req, want in [
        (b"GET /balloon HTTP/1.1\r\n\r\n", 400),
        (b"GET /balloon HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        (b"PUT /balloon HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
        (b"PUT /balloon HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"PUT /balloon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"PUT /balloon HTTP/1.1\r\nHost: x\r\nExpect: 101-nothing\r\n\r\n", 417),
        (b"GET /balloon HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /balloon HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 40000 + b"\r\n\r\n", 431),
        (b"PATCH /balloon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)]:
    s = conn()
    s.sendall(req)
    st, h, b, rest = read_answer(s)
    expect(st == want and h.get("connection") == "close" and json.loads(b)["fault_message"] and closed(s, rest),
           "%r...: got %r %r %r, expected %d" % (req[:40], st, h, b, want))
PY
"$PY" "$TMP/framing.py" "$SOCK" || fail "HTTP framing"
expect PATCH /usbd/targets '{"threshold_mib": 0}' 204
pass "keep-alive, pipelining, HTTP/1.0, 100-continue, chunked bodies, HEAD; malformed framing answered and closed"

# Metrics.
CTYPE=$(curl -sS -o "$TMP/metrics" -w '%{content_type}' --unix-socket "$SOCK" http://localhost/metrics)
[ "$CTYPE" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "metrics content type '$CTYPE'"
promtool check metrics <"$TMP/metrics" || fail "promtool check metrics"
grep -qx 'usbd_grab_upper_bytes 536870912' "$TMP/metrics" || fail "metrics values"
grep -q '^usbd_domain_minor_faults_total ' "$TMP/metrics" || fail "statistics metrics missing while enabled"
pass "/metrics passes promtool check metrics"

# A live server is never replaced; a stale socket is; a file that is not a socket is left alone.
if "$FAKE" "$SOCK" 4096 2>"$TMP/second"; then fail "a second server started on a live socket"; fi
grep -q 'Address already in use' "$TMP/second" || fail "second server: $(cat "$TMP/second")"
expect GET /balloon - 200
STALE=$TMP/stale.sock
"$FAKE" "$STALE" 100 2>>"$TMP/log" &
p=$!
for _ in $(seq 100); do [ -S "$STALE" ] && break; sleep 0.1; done
kill -9 $p
wait $p 2>/dev/null || true
[ -S "$STALE" ] || fail "SIGKILL should have left a stale socket file"
start_fake "$STALE" 100
touch "$TMP/plain"
if "$FAKE" "$TMP/plain" 100 2>"$TMP/third"; then fail "a server replaced a regular file"; fi
grep -q 'File exists' "$TMP/third" && [ -f "$TMP/plain" ] || fail "regular file: $(cat "$TMP/third")"
pass "live socket refused, stale socket replaced, regular file kept"

# Peer credentials: nobody can reach a 0660 socket of group nogroup but is refused by the uid check (403), cannot
# reach a 0600 socket at all, and is served when the server's uid option names it.
chmod 0755 "$TMP"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups curl "$@"; }
GSOCK=$TMP/group.sock
start_fake "$GSOCK" 100 --gid "$(getent group nogroup | cut -d: -f3)"
[ "$(stat -c '%a %G' "$GSOCK")" = "660 nogroup" ] || fail "gid socket $(stat -c '%a %G' "$GSOCK")"
# nobody cannot write in $TMP: the body comes back on stdout, the status on the last line.
OUT=$(as_nobody -sS -w '\n%{http_code}' --unix-socket "$GSOCK" -X PUT \
	--data-binary '{"amount_mib": 1, "deflate_on_oom": true}' http://localhost/balloon)
[ "${OUT##*$'\n'}" = 403 ] || fail "nobody got '$OUT', expected 403"
[ "$(jq -r .fault_message <<<"${OUT%$'\n'*}")" = "permission denied: uid $(id -u nobody) may not use this socket" ] ||
	fail "403 body '$OUT'"
SOCK=$GSOCK expect GET /balloon - 200 '{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":false}'
if as_nobody -sS -o /dev/null --unix-socket "$SOCK" http://localhost/balloon 2>/dev/null; then
	fail "nobody reached a 0600 root socket"
fi
USOCK=$TMP/user.sock
start_fake "$USOCK" 100 --uid "$(id -u nobody)"
[ "$(stat -c '%a %U' "$USOCK")" = "600 nobody" ] || fail "uid socket $(stat -c '%a %U' "$USOCK")"
[ "$(as_nobody -sS -o /dev/null -w '%{http_code}' --unix-socket "$USOCK" http://localhost/balloon)" = 200 ] ||
	fail "nobody refused by a server whose uid option names it"
pass "peer uid checked: 403 for nobody, 200 for the allowed uid"

# 200 connections open at once, each with half a request; a 201st client is served meanwhile; then all complete.
cat >"$TMP/many.py" <<'PY'
import socket, subprocess, sys
path, n = sys.argv[1], int(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(path)
    s.sendall(b"GET /balloon HTTP/1.1\r\nHost: x\r\n")
    conns.append(s)
other = subprocess.run(["curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}",
                        "--unix-socket", path, "http://localhost/usbd/status"], capture_output=True, text=True)
if other.stdout != "200":
    sys.exit("client beside %d open connections got %r" % (n, other.stdout + other.stderr))
for s in conns:
    s.sendall(b"Connection: close\r\n\r\n")
for i, s in enumerate(conns):
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    if not data.startswith(b"HTTP/1.1 200 "):
        sys.exit("connection %d got %r" % (i, data[:80]))
PY
"$PY" "$TMP/many.py" "$SOCK" 200 || fail "200 simultaneous connections"
pass "200 simultaneous connections all served"

# A slow client sending one byte a second does not hold up others; it is still answered at the end.
cat >"$TMP/slow.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
req = b"GET /balloon HTTP/1.0\r\n\r\n"
for b in req[:6]:
    s.sendall(bytes([b]))
    time.sleep(1)
s.sendall(req[6:])
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data.startswith(b"HTTP/1.1 200 ") else "slow client got %r" % data[:80])
PY
"$PY" "$TMP/slow.py" "$SOCK" &
slow=$!
sleep 2
for _ in 1 2 3; do
	CODE=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/balloon)
	[ "$CODE" = 200 ] || fail "a client was held up by the slow one"
done
kill -0 $slow 2>/dev/null || fail "the slow client finished too early to prove anything"
wait $slow || fail "the slow client was not answered"
pass "slow client does not block others"

# An idle connection is closed by the per-connection timeout.
TSOCK=$TMP/timeout.sock
start_fake "$TSOCK" 100 --timeout 1
"$PY" - "$TSOCK" <<'PY' || fail "idle connection was not closed"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
sys.exit(0 if s.recv(1) == b"" else 1)
PY
pass "idle connection closed after the timeout"

# The connection cap: at the limit newcomers wait in the backlog; once connections close, clients are served again.
LSOCK=$TMP/limit.sock
start_fake "$LSOCK" 100 --max-conn 5
"$PY" - "$LSOCK" <<'PY' || fail "connection limit"
import socket, subprocess, sys
def curl(max_time):
    return subprocess.run(["curl", "-sS", "--max-time", max_time, "-o", "/dev/null", "-w", "%{http_code}",
                           "--unix-socket", sys.argv[1], "http://localhost/balloon"], capture_output=True, text=True).stdout
held = []
for _ in range(5):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"GET /bal")
    held.append(s)
if curl("2") == "200":
    sys.exit("served beyond the connection limit")
for s in held:
    s.close()
got = curl("30")
sys.exit(0 if got == "200" else "not served after the held connections closed: %r" % got)
PY
pass "connection limit enforced and recovered from"

# SIGTERM: the server exits cleanly and removes its socket.
kill "${PIDS[0]}"
wait "${PIDS[0]}" || fail "api_fake exit status $? on SIGTERM"
[ ! -e "$TMP/run/api.sock" ] || fail "socket left behind after a clean exit"
pass "clean exit removes the socket"
echo "PASS api_server"
