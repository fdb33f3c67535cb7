#!/usr/bin/env bash
# What the registry changed survives a SIGKILL of usbd only until the next start (root, cgroup v1):
# an app registers (the domain and the app cgroup get memory.swappiness 0, the app moves into
# APP/usbd-registered); usbd is SIGKILLed; the next usbd on the same apps socket puts the swappiness back, moves
# the app back where it came from and removes APP/usbd-registered, before any app registers.
source "$(dirname "$0")/lib.sh"
require_root_v1

DOM=$T_NAME
APP=$DOM/app
SOCK=$T_DIR/apps.sock
mkcg "$DOM" $((1 << 30))
mkcg "$APP"
mkcg "$APP/sub"
echo 37 >"$CGV1/$APP/sub/memory.swappiness"
before_dom=$(cg_get "$DOM" memory.swappiness) before_app=$(cg_get "$APP" memory.swappiness)
ARGS=(--domain "$DOM" --threshold 128M --apps-sock "$SOCK" --api-sock off --spot-listen off "$APP")

start_usbd "${ARGS[@]}"
wait_for 10 "the registry's socket" test -S "$SOCK"
spawn_in_cg "$APP/sub" "$HELPERS/lib_scan_app" --size 16M --apps-sock "$SOCK" --status "$T_DIR/app.status" \
  >"$T_DIR/app.log" 2>&1
APP_PID=$!
T_PIDS+=("$APP_PID")
wait_for 60 "the app to register" grep -q '^ready' "$T_DIR/app.log"
[[ $(cg_get "$APP/usbd-registered" cgroup.procs) == "$APP_PID" ]] || fail "the app is not in $APP/usbd-registered"
[[ $(cg_get "$DOM" memory.swappiness) == 0 && $(cg_get "$APP/sub" memory.swappiness) == 0 ]] ||
  fail "the domain is not kept out of swap"

kill -KILL "$USBD_PID"
wait "$USBD_PID" 2>/dev/null || true
kill -0 "$APP_PID" || fail "the app died with usbd"
[[ $(cg_get "$APP/usbd-registered" cgroup.procs) == "$APP_PID" ]] || fail "the app left $APP/usbd-registered by itself"
pass "after SIGKILL: swappiness 0 and the app in $APP/usbd-registered, as expected"

start_usbd "${ARGS[@]}"
USBD2=$USBD_PID
repaired() {
  [[ ! -d $CGV1/$APP/usbd-registered && $(cg_get "$APP/sub" cgroup.procs) == "$APP_PID" &&
     $(cg_get "$DOM" memory.swappiness) == "$before_dom" && $(cg_get "$APP" memory.swappiness) == "$before_app" &&
     $(cg_get "$APP/sub" memory.swappiness) == 37 ]]
}
wait_for 30 "the next start to repair" repaired
pass "the next start restored swappiness ($before_dom, $before_app, 37) and moved the app back to $APP/sub"

kill -TERM "$USBD2"
wait "$USBD2" || fail "the second usbd did not stop cleanly"
repaired || fail "the clean stop undid the repair"
pass "a clean stop leaves it repaired"
