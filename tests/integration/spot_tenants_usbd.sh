#!/usr/bin/env bash
# The real usbd with --spot-tenants-file: the controller reads the file (a bad one refuses the start with the line
# and no password in the message), the worker gets the tenants in its WMSG_SETUP, and each tenant logs in to its own
# keyspace with its quota. The spot semantics themselves are spot_tenants.sh's.
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
command -v redis-cli >/dev/null || skip "needs redis-tools"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
port=$(free_port)
printf 'alice s3cret-a 2M\nbob\n' >"$T_DIR/bad"
out=$(timeout 20 "$USBD" --domain "$T_NAME" "$T_NAME/app" --spot-listen "127.0.0.1:$port" --api-sock off \
	--apps-sock "$T_DIR/apps.sock" --harvest-journal "$T_DIR/harvest.journal" --state-file off \
	--spot-tenants-file "$T_DIR/bad" 2>&1) && rc=0 || rc=$?
[[ $rc -ne 0 && $out == *"--spot-tenants-file: $T_DIR/bad: line 2: want NAME PASSWORD [QUOTA]"* ]] ||
	fail "a bad tenants file: rc $rc, '$out'"
[[ $out != *s3cret* ]] || fail "the error message holds a password"
printf 'alice s3cret-a 2M\nbob s3cret-b\n' >"$T_DIR/tenants"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 32M --spot-listen "127.0.0.1:$port" --api-sock off \
	--spot-tenants-file "$T_DIR/tenants"
as() { local u=$1 p=$2; shift 2; redis-cli -p "$port" --user "$u" --pass "$p" --no-auth-warning "$@" 2>&1; }
ready() { [[ $(redis-cli -p "$port" INFO memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "maxmemory" {print $2}') -ge $((32 << 20)) ]]; }
wait_for 60 "the spot store to hold 32 MiB" ready
[[ $(as alice s3cret-a set k a) == OK && $(as bob s3cret-b set k b) == OK ]] || fail "tenants cannot SET"
[[ $(as alice s3cret-a get k) == a && $(as bob s3cret-b get k) == b && -z $(redis-cli -p "$port" get k) ]] ||
	fail "keyspaces not apart: alice '$(as alice s3cret-a get k)', bob '$(as bob s3cret-b get k)'"
[[ $(as alice s3cret-a info memory | tr -d '\r' | grep '^maxmemory:') == "maxmemory:$((2 << 20))" ]] ||
	fail "alice's maxmemory is not her quota"
[[ $(as alice wrong get k) == *WRONGPASS* ]] || fail "a wrong password was taken"
! grep -q s3cret "$T_DIR"/*.log 2>/dev/null || fail "a password is in usbd's log"
pass "usbd's worker serves the tenants of --spot-tenants-file"
