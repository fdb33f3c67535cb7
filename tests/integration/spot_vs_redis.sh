#!/bin/bash
# spot_vs_redis: spot memory answers as Redis 7.0 does. Starts a private redis-server on a free port and a spot
# server (tests/helpers/spot_server), sends every command of the list below to both through redis-cli (one line, one
# connection per server, quoted as redis-cli quotes), and diffs the replies. Lines starting with "~" have their reply lines
# sorted before the comparison (KEYS, SCAN: the order is the store's own). A FLUSHALL starts each group, so both
# keyspaces stay the same. Prints the matches per command, and every difference. Left out on purpose, as spot
# memory differs by design (docs/SPOT.md): SELECT of another database, HELLO 3 (RESP3), RANDOMKEY among several keys.
set -u

BUILD=${USBD_BUILD:?USBD_BUILD is not set}
SERVER=$BUILD/helpers/spot_server
TMP=$(mktemp -d /tmp/usbd-test-$$-spotvs.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

for tool in redis-server redis-cli timeout; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[[ -x $SERVER ]] || { echo "FAIL: build the helpers first ($SERVER)"; exit 1; }

port_free() { ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p=$((20390 + ($$ + $1) % 2000))
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}
wait_up() {
	local i
	for i in $(seq 1 100); do
		[[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: server on port $1 did not come up"; cat "$TMP"/*.log; exit 1
}

RPORT=$(pick_port 0)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
	</dev/null >"$TMP/redis.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
wait_up "$RPORT" "$RPID"
SPORT=$(pick_port 7)
while [[ $SPORT == "$RPORT" ]] || ! port_free "$SPORT"; do SPORT=$((SPORT + 1)); done
"$SERVER" --listen "127.0.0.1:$SPORT" --chunks 8 </dev/null >"$TMP/spot.out" 2>"$TMP/spot.log" &
SPID=$!; PIDS+=("$SPID")
wait_up "$SPORT" "$SPID"

# The commands. Expiry times are far from now (TTL rounds to the second on both), or absolute.
cat >"$TMP/cmds" <<'EOF'
flushall
set k v
get k
set k v ex 10 ex 20
ttl k
set k v ex 10 px 5000
set k v keepttl ex 5
set k v ex 5 keepttl
set k v nx xx
set k v nx nx
set k v ex 9223370399119966
set k v px 9223372036854775807
set k v ex 0
set k v ex -1
set k v ex ten
set k v ex
set k v bogus
set k v2 get
set nokey v get
get nokey
set k v3 nx get
set k v4 xx get
set gone v xx get
set k v exat 4000000000
expiretime k
set k v pxat 4000000000123
pexpiretime k
set k v exat 0
set k v pxat -5
set k v keepttl
pexpiretime k
set k v
pexpiretime k
set k v exat 100
get k
flushall
setnx a 1
setnx a 2
get a
setex b 100 v
ttl b
setex b 0 v
setex b -10 v
setex b x v
setex b 9223370399119966 v
psetex c 100000 v
ttl c
psetex c 0 v
psetex c
getset a 10
getset nokey 1
get nokey
getdel a
getdel a
getdel nothing
flushall
set g v ex 100
getex g
ttl g
getex g persist
ttl g
getex g ex 200
ttl g
getex g px 300000
ttl g
getex g exat 4000000000
expiretime g
getex g pxat 4000000000999
pexpiretime g
getex g ex 10 px 10
getex g persist ex 10
getex g nx
getex g keepttl
getex g get
getex g ex 0
getex g ex x
getex nokey ex 0
getex nokey persist
getex g exat 1
get g
flushall
mset a 1 b 2
msetnx a 1 c 3
msetnx c 3 d 4
mget a b c d e
msetnx x
msetnx x 1 y
incr a
incrby a 100
incrby a x
decrby a 50
decrby a -9223372036854775808
incrby a 9223372036854775807
set big 9223372036854775807
incr big
decr big
set small -9223372036854775808
decr small
incrby small -1
incrby small 1
set sp " 1"
incr sp
set lead 01
incr lead
incrbyfloat f 1.5
incrbyfloat f 0.1
incrbyfloat f -1.6
get f
incrbyfloat f 1e3
incrbyfloat f 5.0e3
incrbyfloat f abc
incrbyfloat f " 1"
incrbyfloat f nan
incrbyfloat f inf
set f 1e308
incrbyfloat f 1e308
set f 10.50
incrbyfloat f 0
set s hello
incrbyfloat s 1
incrbyfloat a 1.25
get a
flushall
append s hello
append s " world"
get s
strlen s
strlen nokey
getrange s 0 4
getrange s -5 -1
getrange s 6 100
getrange s -100 3
getrange s 5 2
getrange s -1 -5
getrange s 0 -1
getrange s x 1
getrange nokey 0 10
substr s 0 2
setrange s 6 WORLD
get s
setrange s 15 !
get s
strlen s
setrange s -1 x
setrange s x y
setrange new 3 abc
get new
setrange empty 5 ""
exists empty
setrange s 0 ""
set e v ex 100
append e x
ttl e
setrange e 0 y
ttl e
get e
flushall
set a 1
set b 2
set c 3
del a nokey
exists b b c nokey
unlink b c
exists b c
set a 1
touch a a nokey
type a
type nokey
rename a z
get z
rename nokey x
rename z z
renamenx z z
set y 1
renamenx z y
renamenx z w
get w
set t v ex 100
rename t t2
ttl t2
dbsize
flushall
randomkey
set one 1
randomkey
keys *
flushall
mset foo 1 foobar 2 fab 3 other 4 f[x] 5 "x\\y" 6 F 7
~keys *
~keys f*
~keys f?o*
~keys f[oa]*
~keys f[^o]*
~keys f\[x]
~keys *bar
~keys f[a-o]o
~keys nomatch*
~keys x\\\\y
~keys F
~scan 0 count 100000
~scan 0 count 100000 match f*
~scan 0 count 100000 type string
scan 0 count 100000 type hash
scan x
scan -1 count 1 match nothing
~scan "" count 100000
scan " 0"
scan 0 count 0
scan 0 count x
scan 0 foo bar
scan 0 match
flushall
set k v
expire k 100
ttl k
expire k 9223370399119966
expire k -9223372036854776
expire k 9223372036854775807
pexpire k 9223372036854775807
get k
expire k 10 gt lt
expire k 10 nx xx
expire k 10 foo
expire k x
expire k 100 nx
expire k 200 xx
ttl k
expire k 50 gt
expire k 300 gt
ttl k
expire k 400 lt
expire k 100 lt
ttl k
persist k
persist k
expire k 100 xx
expire k 100 gt
expire k 100 lt
ttl k
expire nokey 10
expireat k 4000000000
expiretime k
pexpiretime k
pexpireat k 4000000000500
pexpiretime k
expiretime k
expireat k 1
exists k
set k v
pexpire k -1
exists k
set k v
expireat k 9223372036854775807
expireat k -9223372036854776
expiretime nokey
pexpiretime nokey
set k v
expiretime k
ttl k
pttl k
ttl nokey
pttl nokey
flushall
set n 12345
object encoding n
set s abc
object encoding s
object encoding nokey
object foo s
object encoding
object encoding s extra
flushall
hset h f1 v1 f2 v2
hset h f2 x f3 v3 f3 y f4 z f4 w
hgetall h
hset h f1
hset h
hmset h a 1 b 2
hmset h a
hget h f1
hget h nofield
hget nokey f
hmget h f1 nofield f3
hmget nokey a b
hkeys h
hvals h
hlen h
hlen nokey
hexists h f1
hexists h nofield
hstrlen h f1
hstrlen h nofield
hsetnx h f1 new
hsetnx h f9 new
hget h f9
hdel h f1 nofield f2 f1
hdel h nofield
hdel nokey f
hgetall h
hincrby h n 5
hincrby h n -10
hincrby h n x
hincrby h f9 1
hset h big 9223372036854775807
hincrby h big 1
hincrbyfloat h fl 1.5
hincrbyfloat h fl 0.25
hincrbyfloat h f9 1
hincrbyfloat h fl x
~hscan h 0
~hscan h 0 match f*
~hscan h 0 count 100
hscan h 0 count 0
hscan h x
hscan h 0 foo
hscan nokey 0
type h
object encoding h
hset long f 01234567890123456789012345678901234567890123456789012345678901234567890123456789
object encoding long
hdel h a b n f9 f3 f4 big fl
exists h
hgetall h
set s v
hset s f v
hget s f
hgetall s
hlen s
get h
set h2 v
hset h3 a 1
get h3
getset h3 x
getdel h3
getex h3
incr h3
append h3 x
strlen h3
getrange h3 0 1
setrange h3 0 x
incrbyfloat h3 1
set h3 v get
mget h3 s
type h3
type s
~scan 0 count 100000 type hash
~scan 0 count 100000 type string
~keys *
expire h3 100
ttl h3
rename h3 h4
hget h4 a
ttl h4
set h4 plain
get h4
flushall
exec
discard
multi
multi
watch k
set k v
incr k
get k
hset h a 1
exec
get k
multi
set k
nosuchcommand
set a b
exec
get a
multi
set a 1
discard
get a
set w 1
watch w
set w 2
multi
set x 1
exec
get x
watch w
multi
set x 1
exec
get x
watch w
unwatch
set w 3
multi
set x 2
exec
watch w nokey
flushall
multi
ping
exec
set w 1
watch w
flushall
multi
ping
exec
set a 1
watch a
multi
del a
exec
watch a b c
multi
set a 1
mset b 2 c 3
exec
watch c
multi
exec
set n 1
watch n nokey
set n 2 nx
del nokey
expire nokey 10
setnx n 3
multi
get n
exec
watch n
getex n
get n
multi
ping
exec
watch n
set n 5 xx
multi
ping
exec
multi
watch x
exec
flushall
dbsize
select 0
select x
ping
ping hi
ping a b
echo hi
echo
auth x
auth default anypass
auth someone anypass
auth a b c
client setname x y
client setname "a b"
client setname me
client getname
client getname x
client nope
client kill 1.2.3.4:5
client kill id 99999
client kill id x
client kill id 0
client kill foo bar
client kill id 1 skipme maybe
client kill user nobody
client list id x
client list type foo
client list id 999
client list foo
client kill
client kill addr 1.2.3.4:5 laddr x
client info x
client
hello x
object
command foo
get
set
nosuchcommand a b
config set hash-max-listpack-entries 4
config get hash-max-listpack-entries
config get hash-max-ziplist-entries
~config get hash-max-*
config set hash-max-listpack-entries x
config set hash-max-ziplist-value -1
config set foo 1
config set databases 2
config set save ""
config set save "" save ""
config set maxmemory-policy allkeys-lru appendonly no
config set hash-max-listpack-entries
config set a
del cfgh
hset cfgh a 1 b 2 c 3 d 4 e 5
object encoding cfgh
config set hash-max-listpack-entries 128 hash-max-listpack-value 64
config get hash-max-listpack-value
memory usage nokey
memory usage cfgh foo
memory usage cfgh samples x
memory
memory foo
config resetstat x
function flush
function flush async
function flush x
function flush sync a
function foo
set nulf "1\x002"
incrbyfloat nulf 1
hset nulh f "1\x002"
hincrbyfloat nulh f 1
hincrbyfloat nulh g +inf
hincrbyfloat nulh g -inf
EOF

# replies PORT: runs every line on one connection, each followed by "ECHO @@<line number>", and splits the output
# at those marks into $TMP/PORT/<line number> (NUL and control bytes shown as ^@ and the like, by cat -v).
replies() {
	mkdir -p "$TMP/$1"
	awk '{ sub(/^~/, ""); print; print "echo @@" NR }' "$TMP/cmds" | timeout 120 redis-cli -p "$1" 2>&1 | cat -v |
		awk -v dir="$TMP/$1" '/^@@[0-9]+$/ { close(f); n = substr($0, 3); f = ""; next }
			{ f = dir "/" (n + 1); print >> f }'
}
replies "$RPORT"
replies "$SPORT"

declare -A same diff
fails=0
n=0
while IFS= read -r line; do
	n=$((n + 1))
	name=${line#\~}
	name=${name%% *}
	name=${name,,}
	want=$(cat "$TMP/$RPORT/$n" 2>/dev/null)
	got=$(cat "$TMP/$SPORT/$n" 2>/dev/null)
	if [[ $line == \~* ]]; then
		want=$(sort <<<"$want")
		got=$(sort <<<"$got")
	fi
	if [[ $want == "$got" ]]; then
		same[$name]=$((${same[$name]:-0} + 1))
	else
		diff[$name]=$((${diff[$name]:-0} + 1))
		fails=$((fails + 1))
		echo "FAIL: '$line': redis '$(tr '\n' '|' <<<"$want")', spot '$(tr '\n' '|' <<<"$got")'"
	fi
done <"$TMP/cmds"

for name in $(printf '%s\n' "${!same[@]}" "${!diff[@]}" | sort -u); do
	echo "ok: $name: ${same[$name]:-0} same, ${diff[$name]:-0} different"
done
kill -0 "$SPID" || { echo "FAIL: spot server died"; exit 1; }
if ((fails)); then echo "spot_vs_redis: $fails difference(s)"; exit 1; fi
echo "spot_vs_redis: all $(cat "$TMP/cmds" | wc -l) lines answered as Redis answers"
