#!/usr/bin/env bash
# A second usbd given a harvest journal that a running usbd owns must refuse to start and touch nothing: it must
# not "repair" the running one's step (putting the app's limit back under its feet and deleting the only record of
# a limit that is about to be lowered again). The first usbd is frozen (SIGSTOP) with a step's journal written and
# the app's limit lowered, so the second one meets a step in flight for certain, without timing luck.
# 1. The same journal and the same API socket: refused for the socket (checked first), the journal untouched.
# 2. The same journal, another API socket and domain: refused for the journal's lock, nothing created.
# The first usbd then finishes its step, restores the limit and exits cleanly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

make_swap 1024
mkcg "$T_NAME" $((3 << 30))
mkcg "$T_NAME/app"
mkcg "$T_NAME-2" $((1 << 30))
mkcg "$T_NAME-2/app"
limit_before=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot 100M --status "$T_DIR/app" 768M &
T_PIDS+=($!)
wait_for 60 "the app to hold 768 MiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=805306368 growing=0' $T_DIR/app"

sock=$T_DIR/usbd.sock J=$T_DIR/journal
start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 700M --harvest-journal "$J" --api-sock "$sock" \
  --spot-listen off
app_limit() { cg_get "$T_NAME/app" memory.limit_in_bytes; }
mid_step() { [[ -e $J && $(app_limit) != "$limit_before" ]]; }
# Every thread of usbd stopped (one inside a limit write stops when the write returns).
all_stopped() { ! awk '{ print $3 }' /proc/"$USBD_PID"/task/*/stat | grep -qv '^[tT]$'; }

# Stops usbd in the middle of a step: journal written and limit lowered; a step that ended first is let go.
end=$((SECONDS + 240))
until mid_step && kill -STOP "$USBD_PID" && wait_for 30 "usbd to stop" all_stopped && mid_step; do
  kill -CONT "$USBD_PID"
  kill -0 "$USBD_PID" || fail "usbd died"
  ((SECONDS < end)) || fail "no harvest step caught within 240 s"
  sleep 0.005
done
journal=$(cat "$J")
lowered=$(app_limit)
echo "usbd stopped mid-step: app limit $(mib "$lowered") MiB (was $(mib "$limit_before") MiB); journal:"
echo "$journal"

# second_usbd_refuses WHAT SOCKET DOMAIN MESSAGE: a usbd with the same journal exits non-zero at once, saying
# MESSAGE, and the first one's journal, the app's lowered limit and DOMAIN are as they were.
second_usbd_refuses() {
  local status
  set +e
  timeout 60 "$USBD" "${USBD_PRIVATE[@]}" --domain "$3" "$3/app" --swap-target 700M --harvest-journal "$J" --api-sock "$2" \
    --apps-sock off --spot-listen off > "$T_DIR/second.log" 2>&1
  status=$?
  set -e
  sed 's/^/  second: /' "$T_DIR/second.log"
  (( status != 0 && status != 124 )) || fail "$1: the second usbd exited with status $status"
  grep -qF "$4" "$T_DIR/second.log" || fail "$1: the second usbd did not say '$4'"
  ! grep -q "repaired" "$T_DIR/second.log" || fail "$1: the second usbd repaired the first one's step"
  [[ -e $J && $(cat "$J") == "$journal" ]] || fail "$1: the second usbd changed or removed the journal"
  [[ $(app_limit) == "$lowered" ]] || fail "$1: the app's limit changed under the first usbd's step: $(app_limit)"
  [[ ! -d $CGV1/$T_NAME-2/usbd-balloon ]] || fail "$1: the second usbd left a worker cgroup behind"
}

second_usbd_refuses "same journal, same socket" "$sock" "$T_NAME" "cannot open the API socket $sock"
second_usbd_refuses "same journal, another socket" "$T_DIR/b.sock" "$T_NAME-2" "in use by another usbd"
[[ ! -e $T_DIR/b.sock ]] || fail "the refused usbd left its API socket behind"

# The first usbd still owns its step: it restores the limit and removes the journal itself.
kill -CONT "$USBD_PID"
step_ended() { [[ ! -e $J && $(app_limit) == "$limit_before" ]]; }
wait_for 60 "the first usbd to end its step" step_ended
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "the first usbd did not exit cleanly"
[[ $(app_limit) == "$limit_before" ]] || fail "the app's limit was left at $(app_limit)"
[[ ! -e $J ]] || fail "a journal was left behind"
pass "a second usbd with a running one's journal refused to start and left its step alone"
