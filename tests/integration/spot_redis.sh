#!/bin/bash
# spot_redis: spot memory against real Redis clients. Runs the spot tenant standalone (tests/helpers/spot_server)
# and checks: a redis-cli round trip of every command and its errors, redis-benchmark without errors, malformed
# protocol answered Redis-style and closed while another client keeps working, the client, output and password
# limits, and a churn of writes and verified reads while chunks are taken and added back.
# No cgroups: the same on v1 and v2 (it runs in the guest too).
# backends: v1 v2
set -u

BUILD=${USBD_BUILD:?USBD_BUILD is not set}
SERVER=$BUILD/helpers/spot_server
CHURN=$BUILD/helpers/spot_churn
TMP=$(mktemp -d /tmp/usbd-test-$$-spot.XXXXXX)
PIDS=()
FAILS=0
# In the tests/vm guest (software emulation) the benchmark and the churn do a tenth of the requests.
GUEST=${VMTEST_GUEST:-0}
N_BENCH=20000 N_CHURN=60000
((GUEST == 0)) || N_BENCH=2000 N_CHURN=6000

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

for tool in redis-cli redis-benchmark timeout; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[[ -x $SERVER && -x $CHURN ]] || { echo "FAIL: build the helpers first ($SERVER, $CHURN)"; exit 1; }

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

port_free() { ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p=$((16390 + $$ % 2000))
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}

# start NAME ARGS...: starts a spot_server on a free port; sets PORT and the server's pid in SPID.
start() {
	local name=$1 i
	shift
	PORT=$(pick_port)
	"$SERVER" --listen "127.0.0.1:$PORT" "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.log" &
	SPID=$!
	PIDS+=("$SPID")
	for i in $(seq 1 100); do
		[[ $(redis-cli -p "$PORT" ping 2>/dev/null) == PONG ]] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: spot_server $name did not come up"; cat "$TMP/$name.log"; exit 1
}

# expect WANT redis-cli-args...: one command's output, exactly.
expect() {
	local want=$1 got
	shift
	got=$(redis-cli -p "$PORT" "$@" 2>&1)
	if [[ "$got" == "$want" ]]; then ok "$* -> ${want:0:60}"; else fail "$*: want '$want', got '$got'"; fi
}

# raw_closed REQUEST WANT: sends raw bytes on a fresh connection; wants exactly WANT back, then the close.
raw_closed() {
	local req=$1 want=$2 got rc
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf '%b' "$req" >&3
	got=$(timeout 10 cat <&3 | tr -d '\r')
	rc=${PIPESTATUS[0]}
	exec 3<&-
	if [[ $rc -ne 0 ]]; then fail "raw '${req:0:40}': connection not closed (rc $rc)"; return; fi
	if [[ "$got" == "$want" ]]; then ok "raw '${req:0:40}' -> $want, closed"
	else fail "raw '${req:0:40}': want '$want', got '$got'"; fi
}

# --- every command over redis-cli ---
start main --chunks 32
expect PONG ping
expect hi ping hi
expect hello echo hello
expect "" get nokey
expect OK set k v
expect v get k
expect "" set k v2 nx
expect OK set k v3 xx
expect "" set nokey v xx
expect v3 get k
expect OK set t v ex 100
expect 100 ttl t
expect OK set t v px 5000
r=$(redis-cli -p "$PORT" pttl t); ((r > 0 && r <= 5000)) && ok "pttl $r" || fail "pttl t: $r"
expect "ERR syntax error" set k v nx xx
expect "ERR syntax error" set k v ex 10 px 10
expect "ERR value is not an integer or out of range" set k v ex ten
expect "ERR invalid expire time in 'set' command" set k v ex 0
expect "ERR wrong number of arguments for 'set' command" set k
expect 2 del k t
expect 0 del k
expect OK mset a 1 b 2 c 3
expect $'1\n2\n\n3' mget a b nokey c
expect "ERR wrong number of arguments for 'mset' command" mset a 1 b
expect 3 exists a b c nokey
expect 2 incr a
expect 1 decr a
expect 11 incrby a 10
expect 1 decrby a 10
expect 1 incr newcounter
expect OK set s abc
expect "ERR value is not an integer or out of range" incr s
expect OK set big 9223372036854775807
expect "ERR increment or decrement would overflow" incr big
expect 1 expire s 100
expect 100 ttl s
expect 1 pexpire s 100000
expect 0 expire nokey 10
expect 1 persist s
expect -1 ttl s
expect -2 ttl nokey
expect -2 pttl nokey
expect 1 expire s -1
expect "" get s
expect 5 dbsize
expect OK select 0
expect "ERR DB index is out of range" select 1
expect "ERR value is not an integer or out of range" select x
expect "ERR AUTH <password> called without any password configured for the default user. Are you sure your \
configuration is correct?" auth pw
expect "NOPROTO unsupported protocol version" hello 3
got=$(redis-cli -p "$PORT" hello 2 | head -6 | tr '\n' ' ')
[[ $got == "server redis version 7.0.0 proto 2 " ]] && ok "hello 2" || fail "hello 2: $got"
expect "" command docs
expect 77 command count
expect save config get save
expect $'appendonly\nno' config get appendonly
got=$(printf 'client setname me\nclient getname\n' | redis-cli -p "$PORT")
[[ $got == $'OK\nme' ]] && ok "client setname/getname" || fail "client setname/getname: $got"
expect OK client setinfo lib-name x
expect "ERR unknown subcommand 'nope'. Try CLIENT HELP." client nope
expect "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' " foo bar baz
expect "ERR unknown command 'foo', with args beginning with: " foo
expect "ERR wrong number of arguments for 'get' command" get
got=$(redis-cli -p "$PORT" info)
for field in "# Server" redis_version:7.0.0 "# Memory" maxmemory:67108864 spot_index_bytes: "# Stats" evicted_keys:0 \
	deflation_losses:0 "# Keyspace" db0:keys=5; do
	[[ $got == *"$field"* ]] && ok "info has $field" || fail "info lacks $field"
done
got=$(redis-cli -p "$PORT" info clients | tr -d '\r')
# max_clients (10000) is lowered to what RLIMIT_NOFILE leaves beside 32 descriptors (a systemd service gets 1024).
nofile=$(ulimit -n)
maxcl=10000
[[ $nofile == unlimited ]] || ((nofile - 32 >= maxcl)) || maxcl=$((nofile - 32))
[[ $got == $'# Clients\nconnected_clients:1\nmaxclients:'$maxcl ]] && ok "info clients" || fail "info clients: $got"

# --- Redis 7.0's answers, each checked against redis-server 7.0 ---
# inline_reply REQUEST...: sends inline lines on one connection, then QUIT; prints the replies, CR removed.
inline_reply() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf '%s\r\n' "$@" QUIT >&3
	timeout 10 cat <&3 | tr -d '\r'
	exec 3<&-
}
got=$(inline_reply 'SET greeting "hello"' 'GET greeting' 'SET msg "hello world"' 'GET msg' \
	'SET bin "\x00\xff\t"' 'STRLEN bin' "SET sq 'it\\'s'" 'GET sq')
want=$'+OK\n$5\nhello\n+OK\n$11\nhello world\n+OK\n:3\n+OK\n$4\nit\'s\n+OK'
[[ $got == "$want" ]] && ok "inline quotes and escapes" || fail "inline quotes: got '$got'"
raw_closed 'SET k "abc\r\n' "-ERR Protocol error: unbalanced quotes in request"
raw_closed 'SET k "a"b\r\n' "-ERR Protocol error: unbalanced quotes in request"
expect "ERR invalid expire time in 'set' command" set k v EX 9223370399119966
expect OK set k v
expect "ERR invalid expire time in 'expire' command" expire k 9223370399119966
expect "ERR invalid expire time in 'expire' command" expire k -9223372036854776
expect v get k
expect OK set k v EX 10 EX 20
expect 20 ttl k
expect "ERR syntax error" set k v EX 10 KEEPTTL
expect "ERR GT and LT options at the same time are not compatible" expire k 10 GT LT
expect "ERR decrement would overflow" decrby k -9223372036854775808
expect OK auth default anypass
expect "WRONGPASS invalid username-password pair or user is disabled." auth someone anypass
expect "ERR wrong number of arguments for 'client|setname' command" client setname x y
got=$(redis-cli -p "$PORT" info server clients | tr -d '\r')
[[ $got == "# Server"*"# Clients"* && $got != *"# Memory"* ]] && ok "info with two sections" \
	|| fail "info server clients: $got"
got=$(redis-cli -p "$PORT" info | tr -d '\r')
for field in mem_allocator: "# Persistence" loading:0 "# Replication" role:master "# CPU" used_cpu_user: \
	used_cpu_sys:; do
	[[ $got == *"$field"* ]] && ok "info has $field" || fail "info lacks $field"
done
[[ $got != *cmdstat_* ]] && ok "info (default) has no commandstats" || fail "info default shows commandstats"
got=$(redis-cli -p "$PORT" info commandstats | tr -d '\r')
[[ $got == *"cmdstat_get:calls="*",rejected_calls=0,failed_calls=0"* ]] && ok "info commandstats" \
	|| fail "info commandstats: $got"
expect OK set e1 v EX 1000
expect OK set e2 v EX 3000
got=$(redis-cli -p "$PORT" info keyspace | tr -d '\r' | sed -n 's/.*avg_ttl=//p')
((got > 1000000 && got <= 2000000)) && ok "avg_ttl $got" || fail "avg_ttl: '$got', want about 2000000"
expect 2 del e1 e2
# WATCH across connections: another client's write aborts the EXEC (nil), a write to another key does not.
watch_exec() {   # KEY CMD...: WATCH KEY on one connection, runs CMD through redis-cli meanwhile, then MULTI/EXEC
	local key=$1 got
	shift
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'WATCH %s\r\n' "$key" >&3
	IFS= read -r -t 10 got <&3
	redis-cli -p "$PORT" "$@" >/dev/null
	printf 'MULTI\r\nPING\r\nEXEC\r\nQUIT\r\n' >&3
	timeout 10 cat <&3 | tr -d '\r' | tr '\n' ' '
	exec 3<&-
}
expect OK set wk 1
got=$(watch_exec wk set wk 2)
[[ $got == "+OK +QUEUED *-1 +OK " ]] && ok "another client's write aborts EXEC" || fail "watch, other write: '$got'"
got=$(watch_exec wk set other 2)
[[ $got == "+OK +QUEUED *1 +PONG +OK " ]] && ok "a write to another key does not" || fail "watch, unrelated: '$got'"
got=$(watch_exec wk set wk 3 nx)
[[ $got == "+OK +QUEUED *1 +PONG +OK " ]] && ok "a refused SET NX does not" || fail "watch, refused NX: '$got'"
expect 2 del wk other

# CLIENT LIST, INFO and KILL: a second connection is listed with its name, killed by id, and closed.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'CLIENT SETNAME victim\r\nCLIENT ID\r\n' >&3
IFS= read -r -t 10 l <&3; IFS= read -r -t 10 vid <&3
vid=${vid#:}; vid=${vid%$'\r'}
got=$(redis-cli -p "$PORT" client list)
[[ $got == *"id=$vid addr=127.0.0.1:"*" name=victim "*"cmd=client"* && $(wc -l <<<"$got") -eq 2 ]] \
	&& ok "client list shows both connections" || fail "client list: $got"
got=$(redis-cli -p "$PORT" client info)
[[ $got == "id="*" laddr=127.0.0.1:$PORT "*"flags=N db=0"* ]] && ok "client info" || fail "client info: $got"
expect 1 client kill id "$vid"
got=$(timeout 10 cat <&3 | tr -d '\r')
exec 3<&-
[[ -z $got ]] && ok "killed client closed" || fail "killed client got '$got'"
got=$(redis-cli -p "$PORT" client list | wc -l)
[[ $got -eq 1 ]] && ok "killed client gone from the list" || fail "client list after kill: $got lines"
expect OK flushall
expect 0 dbsize
expect OK quit

# Largest value: exactly what a chunk holds under a one-byte key, and one byte more.
head -c $((2 * 1024 * 1024 - 17)) /dev/zero | tr '\0' 'x' >"$TMP/max"
expect OK -x set m <"$TMP/max"
got=$(redis-cli -p "$PORT" get m | head -c 2097151 | wc -c)
[[ $got -eq $((2 * 1024 * 1024 - 16)) ]] && ok "max value round trip" || fail "max value round trip: $got bytes"
head -c $((2 * 1024 * 1024 - 16)) /dev/zero | tr '\0' 'x' >"$TMP/over"
got=$(redis-cli -p "$PORT" -x set m <"$TMP/over" 2>&1)
[[ $got == "ERR value too large for spot memory"* ]] && ok "oversized value refused" || fail "oversized value: $got"

# --- redis-benchmark ---
out=$(redis-benchmark -p "$PORT" -t ping,set,get,incr,mset -n "$N_BENCH" -q 2>&1 | tr '\r' '\n')
n=$(grep -c "requests per second" <<<"$out")
if [[ $n -eq 6 ]] && ! grep -qi "error" <<<"$out"; then ok "redis-benchmark: 6 tests, no errors"
else fail "redis-benchmark: $n results; $(grep -i error <<<"$out" | head -3)"; fi

# --- malformed protocol: Redis's error, then the close; another client is unaffected ---
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
raw_closed '*3000000000\r\n' "-ERR Protocol error: invalid multibulk length"
raw_closed '*1\r\n$-5\r\n' "-ERR Protocol error: invalid bulk length"
raw_closed '*1\r\n$536870912\r\n' "-ERR Protocol error: invalid bulk length"
raw_closed '*2\r\n$3\r\nGET\r\n+x\r\n' "-ERR Protocol error: expected '\$', got '+'"
raw_closed '*1x\r\n' "-ERR Protocol error: invalid multibulk length"
# A good request before the bad one is answered first.
raw_closed "*1\\r\\n\$1\\r\\nx\\r\\n*1\\r\\n\$-1\\r\\n" \
	$'-ERR unknown command \'x\', with args beginning with: \n-ERR Protocol error: invalid bulk length'
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/line"
raw_closed "$(cat "$TMP/line")" "-ERR Protocol error: too big inline request"
# Without quotes: an unbalanced one is a protocol error that closes the connection, as in Redis (tested above).
head -c 4096 /dev/urandom | tr -d '\n*"'"'" >"$TMP/garbage"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
cat "$TMP/garbage" >&3
printf '\r\nPING\r\n' >&3
got=$(timeout 10 bash -c 'while IFS= read -r l; do [[ $l == "+PONG"* ]] && { echo PONG; exit 0; }; done' <&3)
exec 3<&-
[[ $got == PONG ]] && ok "binary garbage line answered, connection still usable" || fail "after binary garbage: '$got'"
printf 'PING\r\n' >&4
IFS= read -r -t 10 got <&4
[[ $got == $'+PONG\r' ]] && ok "another client kept working" || fail "other client: '$got'"
exec 4<&-
kill -0 "$SPID" && ok "server alive after malformed input" || fail "server died"

# --- a client that does not read is dropped at the output cap ---
kill "$SPID"; wait "$SPID" 2>/dev/null
start outcap --chunks 4 --max-output 4194304
head -c 1500000 "$TMP/max" | redis-cli -p "$PORT" -x set big >/dev/null
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
# The server may drop it mid-way: writes after that must not kill this script with SIGPIPE.
(trap '' PIPE; for i in $(seq 1 64); do printf 'GET big\r\n'; done >&5) 2>/dev/null
for i in $(seq 1 100); do grep -q "output buffer cap" "$TMP/outcap.log" && break; sleep 0.1; done
grep -q "output buffer cap" "$TMP/outcap.log" && ok "non-reading client dropped" || fail "non-reading client kept"
exec 5<&-
expect PONG ping

# --- client cap ---
kill "$SPID"; wait "$SPID" 2>/dev/null
start maxcl --chunks 1 --max-clients 2
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
exec 6<>"/dev/tcp/127.0.0.1/$PORT"
printf 'PING\r\n' >&5; IFS= read -r -t 10 got <&5
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
got=$(timeout 10 cat <&7 | tr -d '\r')
[[ $got == "-ERR max number of clients reached" ]] && ok "client over the cap refused and closed" \
	|| fail "client cap: '$got'"
exec 5<&- 6<&- 7<&-

# --- no chunks: writes refused with OOM, reads miss ---
kill "$SPID"; wait "$SPID" 2>/dev/null
start nochunks --chunks 0
expect "OOM command not allowed when used memory > 'maxmemory'." set k v
expect "" get k
expect 0 dbsize

# --- password and protected mode ---
kill "$SPID"; wait "$SPID" 2>/dev/null
PORT=$(pick_port)
"$SERVER" --listen "127.0.0.1:$PORT" --password s3cret --chunks 2 </dev/null 2>"$TMP/pw.log" &
SPID=$!; PIDS+=("$SPID")
for i in $(seq 1 100); do [[ $(redis-cli -p "$PORT" ping 2>&1) == NOAUTH* ]] && break; sleep 0.1; done
expect "NOAUTH Authentication required." set k v
expect "ERR unknown command 'nosuch', with args beginning with: " nosuch
expect "ERR wrong number of arguments for 'get' command" get
expect "WRONGPASS invalid username-password pair or user is disabled." auth nope
expect OK --no-auth-warning -a s3cret set k v
expect v --no-auth-warning -a s3cret get k
expect PONG --no-auth-warning --user default --pass s3cret ping
raw_closed '*11\r\n' "-ERR Protocol error: unauthenticated multibulk length"
raw_closed '*2\r\n$4\r\nAUTH\r\n$20000\r\n' "-ERR Protocol error: unauthenticated bulk length"
kill "$SPID"; wait "$SPID" 2>/dev/null
if "$SERVER" --listen "0.0.0.0:$(pick_port)" --chunks 1 </dev/null 2>"$TMP/prot.log"; then
	fail "listened on 0.0.0.0 without a password"
else
	grep -q "protected mode" "$TMP/prot.log" && ok "protected mode refuses 0.0.0.0 without a password" \
		|| fail "protected mode: $(cat "$TMP/prot.log")"
fi

# --- a hash survives a deflation whole or vanishes whole (it is one item, in one chunk) ---
start hashes --chunks 4
pad=$(head -c 1000 /dev/zero | tr '\0' x)
for i in $(seq 1 600); do
	printf 'HSET h:%d' "$i"
	for f in $(seq 1 10); do printf ' f%d %d-%d-%s' "$f" "$i" "$f" "$pad"; done
	printf '\n'
done | redis-cli -p "$PORT" >"$TMP/hset.out"
[[ $(grep -c "^10$" "$TMP/hset.out") -ge 500 ]] && ok "hashes written" || fail "hset: $(sort "$TMP/hset.out" | uniq -c)"
kill -USR1 "$SPID"
for i in $(seq 1 100); do
	[[ $(redis-cli -p "$PORT" info stats | tr -d '\r' | sed -n 's/^deflation_losses://p') -gt 0 ]] && break
	sleep 0.1
done
for i in $(seq 1 600); do printf 'HGETALL h:%d\nECHO @%d\n' "$i" "$i"; done | redis-cli -p "$PORT" |
	awk -v pad="$pad" '
		BEGIN { h = 1 }   # the hash whose fields are being read: the "@N" mark comes after them
		/^@[0-9]+$/ { if (n == 0) gone++; else if (n == 20 && bad == 0) whole++; else partial++
			n = 0; bad = 0; h = substr($0, 2) + 1; next }
		/^$/ { next }   # an empty array (a missing hash) prints as an empty line
		{ n++; if (n % 2 == 1) f = substr($0, 2); else if ($0 != h "-" f "-" pad) bad++ }
		END { printf "%d %d %d\n", whole, gone, partial }' | sed 's/^$/0 0 0/' >"$TMP/hcheck"
read -r whole gone partial <"$TMP/hcheck"
if ((partial == 0 && whole > 0 && gone > 0)); then ok "after a deflation: $whole hashes whole, $gone gone, none partial"
else fail "hash deflation: $whole whole, $gone gone, $partial partial or wrong"; fi
kill "$SPID"; wait "$SPID" 2>/dev/null

# A hash written, read and deleted 100000 fields at a time: sorted matching, not a field-by-field scan per argument
# (the time bound only catches a hang: quadratic work here takes minutes). 32 chunks: a budget that takes the
# requests' 3 MiB of arguments.
start bigreq --chunks 32
big_request() {
	awk -v cmd="$1" -v n=100000 -v vals="$2" 'BEGIN {
		printf "*%d\r\n$%d\r\n%s\r\n$2\r\nbh\r\n", 2 + n * (vals ? 2 : 1), length(cmd), cmd
		for (i = 0; i < n; i++) { f = "f" i; printf "$%d\r\n%s\r\n", length(f), f; if (vals) printf "$1\r\nv\r\n" } }'
}
for req in "HSET 1" "HMGET 0" "HDEL 0"; do
	set -- $req
	got=$(big_request "$1" "$2" | timeout 60 redis-cli -p "$PORT" --pipe 2>&1 | tail -1)
	[[ $got == "errors: 0, replies: 1" ]] && ok "$1 of 100000 fields" || fail "$1 of 100000 fields: $got"
done
expect 0 exists bh
kill "$SPID"; wait "$SPID" 2>/dev/null

# --- churn: verified writes and reads while chunks are taken and added back ---
start churn --chunks 32
"$CHURN" "$PORT" a "$N_CHURN" 2000 1 >"$TMP/churn-a" 2>&1 & CA=$!
"$CHURN" "$PORT" b "$N_CHURN" 2000 2 >"$TMP/churn-b" 2>&1 & CB=$!
PIDS+=("$CA" "$CB")
while kill -0 "$CA" 2>/dev/null || kill -0 "$CB" 2>/dev/null; do
	kill -USR1 "$SPID"; sleep 0.05
	kill -USR2 "$SPID"; sleep 0.2
done
for c in a:$CA b:$CB; do
	name=${c%%:*}
	if wait "${c#*:}" && grep -q ' hits=[1-9]' "$TMP/churn-$name"; then ok "churn $name: $(cat "$TMP/churn-$name")"
	else fail "churn $name (a wrong read, or no read verified): $(cat "$TMP/churn-$name")"; fi
done
losses=$(redis-cli -p "$PORT" info stats | tr -d '\r' | sed -n 's/^deflation_losses://p')
((losses > 0)) && ok "deflation lost $losses keys, none read wrong" \
	|| fail "no deflation losses: the churn took nothing"
expect PONG ping
kill -0 "$SPID" && ok "server survived the churn" || fail "server died in the churn"

if ((FAILS)); then echo "spot_redis: $FAILS failure(s)"; exit 1; fi
echo "spot_redis: all passed"
