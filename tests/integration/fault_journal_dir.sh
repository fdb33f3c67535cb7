#!/usr/bin/env bash
# The harvest journal's directory must be root's alone: anyone else who can write there could plant links where
# root writes the journal, or a journal of their own for root to obey. usbd refuses to start on a directory that is
# world- or group-writable or owned by another user, says why, and creates nothing in it; a directory that is
# missing is created (0700) and used.
source "$(dirname "$0")/lib.sh"
require_root_v1

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
other=$(id -u nobody 2>/dev/null) || skip "needs the user nobody"

# usbd_refuses WHAT DIR: usbd with its journal in DIR exits non-zero at once, naming DIR, and DIR stays empty.
usbd_refuses() {
  local status
  set +e
  timeout 60 "$USBD" "${USBD_PRIVATE[@]}" --domain "$T_NAME" "$T_NAME/app" --harvest-journal "$2/journal" --api-sock off \
    --apps-sock off --spot-listen off > "$T_DIR/usbd.log" 2>&1
  status=$?
  set -e
  sed 's/^/  usbd: /' "$T_DIR/usbd.log"
  (( status != 0 && status != 124 )) || fail "$1: usbd exited with status $status"
  grep -qF "the harvest journal's directory $2" "$T_DIR/usbd.log" || fail "$1: usbd did not name the directory"
  [[ -z $(ls -A "$2") ]] || fail "$1: usbd created $(ls -A "$2") in the directory"
  [[ ! -d $CGV1/$T_NAME/usbd-balloon ]] || fail "$1: the refused usbd left a worker cgroup behind"
}

mkdir -m 1777 "$T_DIR/world"
usbd_refuses "a world-writable directory (sticky, like /tmp)" "$T_DIR/world"
mkdir -m 0770 "$T_DIR/group"
usbd_refuses "a group-writable directory" "$T_DIR/group"
mkdir -m 0700 "$T_DIR/nobody"
chown "$other" "$T_DIR/nobody"
usbd_refuses "a directory owned by uid $other" "$T_DIR/nobody"

# A missing directory is made root's alone, and used.
start_usbd --domain "$T_NAME" "$T_NAME/app" --harvest-journal "$T_DIR/new/journal" --api-sock off --spot-listen off
wait_for 30 "usbd to create the journal's directory" test -d "$T_DIR/new"
[[ $(stat -c '%u %a' "$T_DIR/new") == "0 700" ]] || fail "the new directory is $(stat -c '%u %a' "$T_DIR/new")"
wait_for 30 "usbd to start its worker" test -d "$CGV1/$T_NAME/usbd-balloon"
kill -0 "$USBD_PID" || fail "usbd refused a directory it made itself"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not exit cleanly"
pass "journal directories writable by others or owned by another user were refused; a new one was made 0700"
