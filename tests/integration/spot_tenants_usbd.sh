#!/usr/bin/env bash
# The real usbd with --spot-tenants-file: the controller reads the file (a bad one refuses the start with the line
# and no password in the message), the worker gets the tenants in its WMSG_SETUP, and each tenant logs in to its own
# keyspace with its quota. Then /usbd/spot/tenants: the list (no passwords), a tenant added and one removed through
# the API reach the running worker (WMSG_USER), and a worker restarted gets the list as changed.
# The spot semantics themselves are spot_tenants.sh's.
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
command -v redis-cli >/dev/null || skip "needs redis-tools"
command -v curl >/dev/null || skip "needs curl"
command -v jq >/dev/null || skip "needs jq"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
port=$(free_port) mport=$(free_port)
printf 'alice s3cret-a 2M\nbob\n' >"$T_DIR/bad"
out=$(timeout 20 "$USBD" --domain "$T_NAME" "$T_NAME/app" --spot-listen "127.0.0.1:$port" --api-sock off \
	--apps-sock "$T_DIR/apps.sock" --harvest-journal "$T_DIR/harvest.journal" --state-file off \
	--spot-tenants-file "$T_DIR/bad" 2>&1) && rc=0 || rc=$?
[[ $rc -ne 0 && $out == *"--spot-tenants-file: $T_DIR/bad: line 2: want NAME PASSWORD [QUOTA]"* ]] ||
	fail "a bad tenants file: rc $rc, '$out'"
[[ $out != *s3cret* ]] || fail "the error message holds a password"
printf 'alice s3cret-a 2M\nbob s3cret-b\n' >"$T_DIR/tenants"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 32M --spot-listen "127.0.0.1:$port" --api-sock "$sock" \
	--spot-tenants-file "$T_DIR/tenants" --metrics-listen "127.0.0.1:$mport"
as() { local u=$1 p=$2; shift 2; redis-cli -p "$port" --user "$u" --pass "$p" --no-auth-warning "$@" 2>&1; }
ready() { [[ $(redis-cli -p "$port" INFO memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "maxmemory" {print $2}') -ge $((32 << 20)) ]]; }
wait_for 60 "the spot store to hold 32 MiB" ready
[[ $(as alice s3cret-a set k a) == OK && $(as bob s3cret-b set k b) == OK ]] || fail "tenants cannot SET"
[[ $(as alice s3cret-a get k) == a && $(as bob s3cret-b get k) == b && -z $(redis-cli -p "$port" get k) ]] ||
	fail "keyspaces not apart: alice '$(as alice s3cret-a get k)', bob '$(as bob s3cret-b get k)'"
[[ $(as alice s3cret-a info memory | tr -d '\r' | grep '^maxmemory:') == "maxmemory:$((2 << 20))" ]] ||
	fail "alice's maxmemory is not her quota"
# Per tenant, exactly: alice 2 hits and a write refused by her quota (the slot of 1.5 MiB does not fit), bob 1 hit and 1 miss, default 1 miss.
[[ $(as alice s3cret-a get k) == a && -z $(as bob s3cret-b get nope) ]] || fail "alice's hit or bob's miss"
big() { head -c $((3 << 19)) /dev/zero | tr '\0' v | as alice s3cret-a -x set "$1"; }
[[ $(big big) == *OOM* ]] || fail "alice wrote 1.5 MiB past her quota, with her other key"
tenant_metrics() {  # tenant_metrics URL...: the per-tenant samples of the figures checked below, sorted
	curl -sf "$@" | grep -E '^usbd_spot_tenant_(keys|keyspace_(hits|misses)_total|quota_(bytes|refused_total))\{' | sort
}
want='usbd_spot_tenant_keys{tenant="alice"} 1
usbd_spot_tenant_keys{tenant="bob"} 1
usbd_spot_tenant_keys{tenant="default"} 0
usbd_spot_tenant_keyspace_hits_total{tenant="alice"} 2
usbd_spot_tenant_keyspace_hits_total{tenant="bob"} 1
usbd_spot_tenant_keyspace_hits_total{tenant="default"} 0
usbd_spot_tenant_keyspace_misses_total{tenant="alice"} 0
usbd_spot_tenant_keyspace_misses_total{tenant="bob"} 1
usbd_spot_tenant_keyspace_misses_total{tenant="default"} 1
usbd_spot_tenant_quota_bytes{tenant="alice"} 2097152
usbd_spot_tenant_quota_bytes{tenant="bob"} 0
usbd_spot_tenant_quota_bytes{tenant="default"} 0
usbd_spot_tenant_quota_refused_total{tenant="alice"} 1
usbd_spot_tenant_quota_refused_total{tenant="bob"} 0
usbd_spot_tenant_quota_refused_total{tenant="default"} 0'
# The controller asks for the figures every second, and one report may fall between two commands: wait for the
# whole set, then every one is exact.
end=$((SECONDS + 20 * T_SLOW))
until got=$(tenant_metrics "http://127.0.0.1:$mport/metrics"); [[ $got == "$(sort <<<"$want")" ]]; do
	((SECONDS < end)) || fail "per-tenant metrics over TCP: $got, want: $want"
	sleep 0.2
done
got=$(tenant_metrics --unix-socket "$sock" http://localhost/metrics)
[[ $got == "$(sort <<<"$want")" ]] || fail "per-tenant metrics on the API socket: $got"
curl -sf http://127.0.0.1:$mport/metrics | grep -E '^usbd_spot_keyspace_(hits|misses)_total ' | sort | paste -sd' ' |
	grep -qx 'usbd_spot_keyspace_hits_total 3 usbd_spot_keyspace_misses_total 2' || fail "the unlabelled totals"
if command -v promtool >/dev/null; then
	curl -sf http://127.0.0.1:$mport/metrics | promtool check metrics >"$T_DIR/promtool.log" 2>&1 ||
		fail "promtool: $(cat "$T_DIR/promtool.log")"
	[[ ! -s $T_DIR/promtool.log ]] || fail "promtool complains: $(cat "$T_DIR/promtool.log")"
fi
got=$(curl -sf --unix-socket "$sock" http://localhost/usbd/status |
	jq -c '[.spot.tenants[] | [.name, .keyspace_hits, .keyspace_misses, .keys, .quota_bytes, .quota_refused]]')
[[ $got == '[["default",0,1,0,0,0],["alice",2,0,1,2097152,1],["bob",1,1,1,0,0]]' ]] ||
	fail "/usbd/status's spot tenants: $got"
echo "ok: per-tenant hits, misses, keys, quota and refused writes over TCP, the API socket and /usbd/status"
[[ $(as alice wrong get k) == *WRONGPASS* ]] || fail "a wrong password was taken"
! grep -q s3cret "$T_DIR"/*.log 2>/dev/null || fail "a password is in usbd's log"

req() {  # req METHOD PATH [BODY] -> prints "CODE BODY"
	local args=(-s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X "$1" "http://localhost$2"
		-H 'Content-Type: application/json')
	[[ -n ${3:-} ]] && args+=(-d "$3")
	echo "$(curl "${args[@]}") $(cat "$T_DIR/body")"
}
expect() {  # expect CODE TEXT METHOD PATH [BODY]: the status, and TEXT in the body
	local code=$1 text=$2 got; shift 2
	got=$(req "$@")
	[[ ${got%% *} == "$code" && ${got#* } == *"$text"* ]] || fail "$1 $2: want $code '$text', got '$got'"
	echo "ok: $1 $2 -> $got"
}
wait_for 10 "the API socket" test -S "$sock"
expect 200 '{"tenants":[{"name":"alice","quota_mib":2},{"name":"bob","quota_mib":0}]}' GET /usbd/spot/tenants
expect 204 '' PUT /usbd/spot/tenants/carol '{"password": "s3cret-c", "quota_mib": 8}'
expect 400 'missing field `password`' PUT /usbd/spot/tenants/dave '{"quota_mib": 8}'
expect 400 'a tenant name may only hold' PUT /usbd/spot/tenants/da%20ve '{"password": "s3cret-d"}'
expect 400 'invalid length 0' PUT /usbd/spot/tenants/dave '{"password": ""}'
expect 400 'no spot tenant is called' DELETE /usbd/spot/tenants/dave
wait_for 10 "carol to log in" bash -c "[[ \$(redis-cli -p $port --user carol --pass s3cret-c --no-auth-warning set c 1) == OK ]]"
[[ $(as carol s3cret-c get k) == "" && $(as carol s3cret-c info memory | tr -d '\r' | grep '^maxmemory:') == \
	"maxmemory:$((8 << 20))" ]] || fail "carol's keyspace or quota"
# bob, connected, is closed when removed; he can no longer log in.
exec 8< <( (printf 'AUTH bob s3cret-b\r\n'; sleep 30) | redis-cli -p "$port" 2>&1)
expect 204 '' DELETE /usbd/spot/tenants/bob
wait_for 10 "bob to be refused" bash -c "[[ \$(redis-cli -p $port --user bob --pass s3cret-b --no-auth-warning get k 2>&1) == *WRONGPASS* ]]"
expect 200 '{"tenants":[{"name":"alice","quota_mib":2},{"name":"carol","quota_mib":8}]}' GET /usbd/spot/tenants
# A restarted worker gets the list as it is now.
kill -9 "$(cat "$CG/$T_NAME/usbd-balloon/cgroup.procs" | head -1)"
wait_for 30 "carol after a worker restart" bash -c "[[ \$(redis-cli -p $port --user carol --pass s3cret-c --no-auth-warning set c 1 2>&1) == OK ]]"
[[ $(as bob s3cret-b get k) == *WRONGPASS* ]] || fail "bob came back with the restarted worker"
! grep -q s3cret "$T_DIR"/*.log 2>/dev/null || fail "a password is in usbd's log"
exec 8<&-
pass "usbd's worker serves the tenants of --spot-tenants-file"
