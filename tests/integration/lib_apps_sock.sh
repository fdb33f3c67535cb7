#!/usr/bin/env bash
# The apps socket (and the API socket: one listener module) is created safely (root, cgroup v1):
#   1. a regular file or a symlink at --apps-sock is left alone (not deleted, the symlink's target not chmod'ed)
#      and usbd refuses to start, naming the socket;
#   2. a socket in a directory others may write to is refused (anyone could swap the path for a symlink);
#   3. the socket appears with its final mode (0666 apps, 0600 API) and owner root; a missing directory is made
#      0755;
#   4. at a clean stop usbd removes its socket, and only its socket: a file put in its place is left alone.
source "$(dirname "$0")/lib.sh"
require_root_v1

DOM=$T_NAME
APP=$DOM/app
mkcg "$DOM" $((1 << 30))
mkcg "$APP"

# refuses SOCK_OPTION PATH WHAT: usbd must exit non-zero at once, naming PATH.
refuses() {
  local opt=$1 path=$2 status other=--api-sock
  [[ $opt == --api-sock ]] && other=--apps-sock
  set +e
  timeout 30 "$USBD" "${USBD_PRIVATE[@]}" --domain "$DOM" "$APP" --spot-listen off "$opt" "$path" "$other" off >"$T_DIR/refused.log" 2>&1
  status=$?
  set -e
  (( status != 0 && status != 124 )) || fail "$opt with $3: usbd exited with status $status"
  grep -q "$path" "$T_DIR/refused.log" || fail "$opt with $3: usbd did not name the socket: $(cat "$T_DIR/refused.log")"
  [[ ! -d $CGV1/$DOM/usbd-balloon ]] || fail "$opt with $3: usbd left its worker cgroup behind"
}

# 1. Not a socket: a regular file, a symlink to a root-owned file.
echo precious >"$T_DIR/file"
refuses --apps-sock "$T_DIR/file" "a regular file"
[[ -f $T_DIR/file && $(cat "$T_DIR/file") == precious ]] || fail "the regular file at --apps-sock was changed or removed"
echo secret >"$T_DIR/target"
chmod 600 "$T_DIR/target"
ln -s "$T_DIR/target" "$T_DIR/link"
refuses --apps-sock "$T_DIR/link" "a symlink"
[[ -L $T_DIR/link ]] || fail "the symlink at --apps-sock was removed"
[[ $(stat -c %a "$T_DIR/target") == 600 ]] || fail "the symlink's target was chmod'ed to $(stat -c %a "$T_DIR/target")"
pass "a regular file or a symlink at the socket path is left alone and usbd refuses to start"

# 2. A directory others can write to, sticky or not.
mkdir -m 1777 "$T_DIR/public"
refuses --apps-sock "$T_DIR/public/apps.sock" "a world-writable directory"
refuses --api-sock "$T_DIR/public/api.sock" "a world-writable directory"
mkdir -m 0775 "$T_DIR/group"
chgrp nogroup "$T_DIR/group"
refuses --apps-sock "$T_DIR/group/apps.sock" "a group-writable directory"
left=$(find "$T_DIR/public" "$T_DIR/group" -mindepth 1)
[[ -z $left ]] || fail "usbd created something in a directory others can write to: $left"
pass "a socket in a directory others can write to is refused"

# 3. Final mode and owner from the start; a missing directory is made private to root's writes.
start_usbd --domain "$DOM" "$APP" --spot-listen off --apps-sock "$T_DIR/run/apps.sock" --api-sock "$T_DIR/run/api.sock"
wait_for 20 "both sockets" test -S "$T_DIR/run/apps.sock" -a -S "$T_DIR/run/api.sock"
[[ $(stat -c '%a %U' "$T_DIR/run") == "755 root" ]] || fail "the socket directory is $(stat -c '%a %U' "$T_DIR/run")"
[[ $(stat -c '%a %U' "$T_DIR/run/apps.sock") == "666 root" ]] || fail "apps socket: $(stat -c '%a %U' "$T_DIR/run/apps.sock")"
[[ $(stat -c '%a %U' "$T_DIR/run/api.sock") == "600 root" ]] || fail "API socket: $(stat -c '%a %U' "$T_DIR/run/api.sock")"
pass "sockets 0666 (apps) and 0600 (API), owner root, in a 0755 directory usbd made"

# 4. Someone (root) puts a file in place of the apps socket: the clean stop leaves it.
rm "$T_DIR/run/apps.sock"
echo keep >"$T_DIR/run/apps.sock"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not stop cleanly"
[[ -f $T_DIR/run/apps.sock && $(cat "$T_DIR/run/apps.sock") == keep ]] || fail "usbd removed a file it had not created"
[[ ! -e $T_DIR/run/api.sock ]] || fail "usbd left its API socket behind"
pass "a clean stop removes only the sockets usbd created"
