#!/usr/bin/env bash
# Symlinks planted where root writes or reads the harvest journal must never be followed.
# 1. The journal itself a symlink to a file holding a valid journal: usbd refuses to start; it neither obeys the
#    file (the app's limit stays) nor removes the link or changes the file.
# 2. JOURNAL.tmp a symlink to a root-owned file: steps still run, the file is never written, and the link is gone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

make_swap 1024
mkcg "$T_NAME" $((3 << 30))
mkcg "$T_NAME/app"
limit=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
J=$T_DIR/journal victim=$T_DIR/victim
app_limit() { cg_get "$T_NAME/app" memory.limit_in_bytes; }

# 1. J -> a file that reads as a journal of a step on the app with a 64 MiB limit.
printf 'usbd-harvest-journal 1\ncgroup %s/app\nknob limit\nprevious 67108864\n' "$T_NAME" > "$victim"
cp "$victim" "$T_DIR/victim.orig"
ln -s "$victim" "$J"
set +e
timeout 60 "$USBD" "${USBD_PRIVATE[@]}" --domain "$T_NAME" "$T_NAME/app" --harvest-journal "$J" --api-sock off --apps-sock off \
  --spot-listen off > "$T_DIR/usbd-link.log" 2>&1
status=$?
set -e
sed 's/^/  usbd: /' "$T_DIR/usbd-link.log"
(( status != 0 && status != 124 )) || fail "with the journal a symlink usbd exited with status $status"
grep -qF "$J is a symbolic link" "$T_DIR/usbd-link.log" || fail "usbd did not say the journal is a symlink"
[[ $(app_limit) == "$limit" ]] || fail "usbd obeyed the file behind the symlink: the app's limit is $(app_limit)"
[[ -L $J ]] || fail "the symlink was removed"
cmp -s "$victim" "$T_DIR/victim.orig" || fail "the file behind the symlink changed: $(cat "$victim")"
[[ ! -d $CGV1/$T_NAME/usbd-balloon ]] || fail "the refused usbd left a worker cgroup behind"
rm "$J"

# 2. J.tmp -> a root-owned file, while usbd harvests.
echo precious > "$victim"
ln -s "$victim" "$J.tmp"
run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot 64M --status "$T_DIR/app" 512M &
T_PIDS+=($!)
wait_for 60 "the app to hold 512 MiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=536870912 growing=0' $T_DIR/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target 256M --harvest-journal "$J" --api-sock off \
  --spot-listen off --status-interval 0
swapped() { (( $(cg_swap "$T_NAME/app") >= (32 << 20) )); }
wait_for 240 "usbd to harvest 32 MiB into swap" swapped
kill -0 "$USBD_PID" || fail "usbd died"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd did not exit cleanly"
[[ $(cat "$victim") == precious ]] || fail "a harvest step wrote through the planted $J.tmp: $(cat "$victim")"
[[ ! -e $J.tmp && ! -L $J.tmp ]] || fail "the planted $J.tmp is still there"
[[ ! -e $J && ! -L $J ]] || fail "a journal was left behind"
[[ $(app_limit) == "$limit" ]] || fail "the app's limit was left at $(app_limit)"
pass "the journal's symlinks were not followed: refused at J, replaced at J.tmp; harvesting worked"
