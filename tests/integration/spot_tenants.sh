#!/bin/bash
# spot_tenants: tenants of spot memory (Redis 6 ACL users, each with its own keyspace and byte quota), on the spot
# tenant run standalone (tests/helpers/spot_server --tenants-file): AUTH user password and HELLO 2 AUTH; a tenant
# neither reads nor lists nor flushes another's keys (GET, EXISTS, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, CLIENT LIST
# and KILL); a tenant over its quota gets -OOM; a deflation takes chunks from the tenants in proportion to what each
# holds above its share; INFO shows the connection's own keyspace and memory; passwords stay out of the log.
# No cgroups: the same on v1 and v2.
# backends: v1 v2
set -u

BUILD=${USBD_BUILD:?USBD_BUILD is not set}
SERVER=$BUILD/helpers/spot_server
TMP=$(mktemp -d /tmp/usbd-test-$$-spot-tenants.XXXXXX)
PIDS=()
FAILS=0
MIB=1048576

cleanup() {
	local pid
	exec 7>&- 2>/dev/null
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

command -v redis-cli >/dev/null || { echo "FAIL: redis-cli is not installed"; exit 1; }
[[ -x $SERVER ]] || { echo "FAIL: build the helpers first ($SERVER)"; exit 1; }

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

port_free() { ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p=$((18390 + $$ % 2000))
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}

# start ARGS...: a spot_server on a free port whose stdin is fd 7 (take K / add K); sets PORT.
start() {
	local i
	PORT=$(pick_port)
	mkfifo "$TMP/in"
	"$SERVER" --listen "127.0.0.1:$PORT" "$@" <"$TMP/in" >"$TMP/out" 2>"$TMP/log" &
	PIDS+=($!)
	exec 7>"$TMP/in"
	for i in $(seq 1 100); do
		[[ $(redis-cli -p "$PORT" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.1
	done
	echo "FAIL: spot_server did not come up"; cat "$TMP/log"; exit 1
}

# as USER PASS redis-cli-args...: one command as that user (default with PASS "": no AUTH).
as() {
	local user=$1 pass=$2
	shift 2
	if [[ $user == default ]]; then redis-cli -p "$PORT" "$@" 2>&1
	else redis-cli -p "$PORT" --user "$user" --pass "$pass" --no-auth-warning "$@" 2>&1; fi
}
# expect_as USER PASS WANT args...
expect_as() {
	local user=$1 pass=$2 want=$3 got
	shift 3
	got=$(as "$user" "$pass" "$@")
	if [[ "$got" == "$want" ]]; then ok "$user: $* -> ${want:0:60}"; else fail "$user: $*: want '$want', got '$got'"; fi
}
info_field() { as "$1" "$2" info memory | tr -d '\r' | sed -n "s/^$3://p"; }

cat >"$TMP/tenants" <<'T'
# name password quota
alice secret-a 4M
bob secret-b
carol secret-c
T
start --chunks 16 --tenants-file "$TMP/tenants"

# --- logging in ---
expect_as alice secret-a OK set k alice-value
expect_as bob secret-b OK set k bob-value
expect_as default "" OK set k default-value
expect_as alice secret-a alice-value get k
expect_as bob secret-b bob-value get k
expect_as default "" default-value get k
got=$(printf 'HELLO 2 AUTH bob secret-b\r\nGET k\r\n' | redis-cli -p "$PORT" 2>&1 | tail -1)
[[ $got == bob-value ]] && ok "HELLO 2 AUTH bob: bob's keyspace" || fail "HELLO 2 AUTH bob: got '$got'"
got=$(printf 'AUTH alice secret-b\r\nGET k\r\n' | redis-cli -p "$PORT" 2>&1 | head -1)
[[ $got == *WRONGPASS* ]] && ok "another tenant's password: WRONGPASS" || fail "alice with bob's password: '$got'"
got=$(printf 'AUTH nobody secret-a\r\n' | redis-cli -p "$PORT" 2>&1)
[[ $got == *WRONGPASS* ]] && ok "unknown user: WRONGPASS" || fail "unknown user: '$got'"
if grep -q 'secret-' "$TMP/log"; then fail "a password is in the log"; else ok "no password in the log"; fi

# --- isolation: bob cannot read or list alice's keys ---
expect_as alice secret-a OK mset a:1 1 a:2 2 a:3 3
expect_as bob secret-b "" get a:1
expect_as bob secret-b 0 exists a:1 a:2 a:3
expect_as bob secret-b k keys '*'
expect_as bob secret-b 1 dbsize
got=$(as bob secret-b scan 0 count 100000 | tail -n +2 | sort | tr '\n' ' ')
[[ $got == "k " ]] && ok "bob: SCAN sees only bob's keys" || fail "bob: SCAN returned '$got'"
got=$(for i in $(seq 1 20); do as bob secret-b randomkey; done | sort -u | tr '\n' ' ')
[[ $got == "k " ]] && ok "bob: RANDOMKEY only bob's" || fail "bob: RANDOMKEY returned '$got'"
expect_as bob secret-b 0 del a:1
expect_as bob secret-b "" memory usage a:1
got=$(as alice secret-a memory usage a:1)
((got > 0)) 2>/dev/null && ok "alice: MEMORY USAGE a:1 -> $got" || fail "alice: MEMORY USAGE a:1: '$got'"
expect_as bob secret-b OK flushdb
expect_as bob secret-b 0 dbsize
expect_as alice secret-a 4 dbsize
got=$(as alice secret-a keys '*' | sort | tr '\n' ' ')
[[ $got == "a:1 a:2 a:3 k " ]] && ok "alice's keys survive bob's FLUSHDB" || fail "alice's keys: '$got'"
expect_as default "" 1 dbsize
# A WATCH is per keyspace: bob's write to 'k' does not abort alice's transaction on her 'k'.
got=$( (printf 'AUTH alice secret-a\r\nWATCH k\r\nMULTI\r\nSET k v2\r\n'; sleep 0.3; as bob secret-b set k x >/dev/null;
	printf 'EXEC\r\n') | redis-cli -p "$PORT" 2>&1 | tail -1)
[[ $got == OK ]] && ok "another tenant's write leaves a WATCH alone" || fail "WATCH across tenants: EXEC gave '$got'"
# CLIENT LIST and KILL see only the caller's user.
(printf 'AUTH alice secret-a\r\nCLIENT SETNAME alicecon\r\n'; sleep 3) | redis-cli -p "$PORT" >/dev/null 2>&1 &
held=$!
for i in $(seq 1 50); do [[ $(as alice secret-a client list) == *alicecon* ]] && break; sleep 0.1; done
got=$(as bob secret-b client list)
[[ $got != *alicecon* && $got == *user=bob* ]] && ok "bob's CLIENT LIST: only bob's connections" ||
	fail "bob's CLIENT LIST: '$got'"
got=$(as alice secret-a client list)
[[ $got == *alicecon* ]] && ok "alice's CLIENT LIST shows her connection" || fail "alice's CLIENT LIST: '$got'"
got=$(as bob secret-b info clients | tr -d '\r' | sed -n 's/^connected_clients://p')
[[ $got == 1 ]] && ok "bob's INFO counts only bob's connections" || fail "bob's connected_clients: $got"
expect_as bob secret-b 0 client kill user bob skipme yes
expect_as bob secret-b "ERR No such user 'alice'" client kill user alice
wait "$held"

# --- quota: alice may hold 4 MiB ---
big=$TMP/big
head -c 300000 /dev/zero | tr '\0' x >"$big"
oom=0 okn=0
for i in $(seq 1 20); do
	r=$(as alice secret-a -x set "big$i" <"$big")
	case $r in OK) okn=$((okn + 1)) ;; OOM*) oom=$((oom + 1)) ;; *) fail "alice set big$i: '$r'" ;; esac
done
used=$(info_field alice secret-a used_memory)
((oom > 0 && okn > 0 && used <= 4 * MIB)) && ok "alice over quota: $oom of 20 SETs got -OOM, used $used <= 4 MiB" ||
	fail "quota: $okn OK, $oom OOM, used $used"
[[ $(info_field alice secret-a maxmemory) == $((4 * MIB)) ]] && ok "alice's INFO maxmemory is her quota" ||
	fail "alice's maxmemory: $(info_field alice secret-a maxmemory)"
expect_as alice secret-a "$(printf 'maxmemory\n%s' $((4 * MIB)))" config get maxmemory
expect_as alice secret-a "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - spot memory's size follows the balloon (a tenant's quota is set through usbd's API)" config set maxmemory 100
[[ $(info_field alice secret-a spot_quota_refused) -ge $oom ]] && ok "INFO counts the refused writes" ||
	fail "spot_quota_refused: $(info_field alice secret-a spot_quota_refused)"
expect_as bob secret-b OK set after-alice-oom 1
expect_as alice secret-a 1 del big1
expect_as alice secret-a "" get a-missing-key

# --- deflation: in proportion to what each holds above its share ---
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null
exec 7>&-
rm -f "$TMP/in" "$TMP/out"
printf 'p1 pw-1\np2 pw-2\n' >"$TMP/tenants"
start --chunks 16 --tenants-file "$TMP/tenants"
# One value per chunk: 1.5 MB items take a slot of a chunk each.
head -c 1500000 /dev/zero | tr '\0' y >"$big"
for i in $(seq 1 8); do as p1 pw-1 -x set "v$i" <"$big" >/dev/null; done
for i in $(seq 1 6); do as p2 pw-2 -x set "v$i" <"$big" >/dev/null; done
expect_as p1 pw-1 8 dbsize
expect_as p2 pw-2 6 dbsize
# 16 chunks: p1 holds 8, p2 6, the pool 2. Taking 8: the pool's 2, then 6 of the 14 held. The 8 left give each of
# the 3 users a share of 2: p1 is 6 above it, p2 4, default 0, so p1 gives 6*6/10 rounded (4) and p2 2.
stats_lines() { wc -l <"$TMP/out"; }
before=$(stats_lines)
printf 'take 8\nstats\n' >&7
for i in $(seq 1 100); do (($(stats_lines) > before)) && break; sleep 0.1; done
grep -q 'chunks=8 ' "$TMP/out" && ok "8 chunks taken" || fail "take 8: $(cat "$TMP/out")"
expect_as p1 pw-1 4 dbsize
expect_as p2 pw-2 4 dbsize
[[ $(info_field p1 pw-1 spot_capacity) == $((8 * MIB)) && $(info_field p2 pw-2 spot_capacity) == $((8 * MIB)) ]] &&
	ok "p1 gave 4 chunks, p2 2: in proportion to their excess (6 and 4) over the share" ||
	fail "after the take: p1 $(info_field p1 pw-1 spot_capacity), p2 $(info_field p2 pw-2 spot_capacity) bytes"
n=0
for i in $(seq 1 8); do [[ $(as p1 pw-1 strlen "v$i") =~ ^(0|1500000)$ ]] || n=$((n + 1)); done
((n == 0)) && ok "p1's values are whole or gone" || fail "p1: $n values of a wrong length"
# The default user, holding nothing and under its share, gets a chunk from the tenant most above it.
expect_as default "" OK set small 1
got=$(info_field default "" spot_capacity)
((got >= 2 * MIB)) && ok "default, below its share, took a chunk from a tenant ($got bytes)" ||
	fail "default's capacity after a write: $got"

if ((FAILS)); then echo "spot_tenants: $FAILS failed"; exit 1; fi
echo "spot_tenants: all passed"
