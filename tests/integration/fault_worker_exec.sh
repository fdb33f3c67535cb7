#!/usr/bin/env bash
# (security, robustness) The worker is a fresh image of usbd, not a fork of the controller: /proc/WORKER/exe is
# usbd, its command line is the hidden worker role's and holds no setting (the spot password least of all, nor
# does its environment), it runs one thread while the controller runs two (its harvester's), and it holds none of
# the controller's files: beyond stdio, its fds are its control socket, whose peer is the controller's, and what it
# opened itself. The password reached it all the same (AUTH works). A worker restarted while the harvester's thread
# runs is such an image too. Typed by hand, the role is refused.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v redis-cli >/dev/null || fail "redis-cli is not installed"

port_free() { ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=$((17390 + $$ % 2000))
while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
PASSWORD=exec-test-$$-$RANDOM
(umask 077 && echo "$PASSWORD" > "$T_DIR/password")

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 64M --api-sock off --spot-listen "127.0.0.1:$PORT" \
  --spot-password-file "$T_DIR/password" --worker-cooldown-ms 200
balloon=$T_NAME/usbd-balloon

worker_pid() { [[ -f $CGV1/$balloon/cgroup.procs ]] && head -n 1 "$CGV1/$balloon/cgroup.procs"; }
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
serving() { [[ -n $(worker_pid) ]] && [[ $(redis-cli -p "$PORT" --no-auth-warning -a "$PASSWORD" ping 2>/dev/null) == PONG ]]; }
# fd_targets PID: what each fd above stdio of PID refers to, one a line ("FD TARGET").
fd_targets() {
  local f
  for f in /proc/"$1"/fd/*; do
    (( ${f##*/} > 2 )) && echo "${f##*/} $(readlink "$f")"
  done
  return 0
}
# socket_peer INODE: the inode of the other end of a Unix socket, from ss.
socket_peer() { ss -xanH | awk -v i="$1" '$6 == i { print $8 }'; }

check_worker() {
  local pid=$1 fd target ours=0
  [[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$USBD")" ]] ||
    fail "worker $pid runs $(readlink "/proc/$pid/exe"), not $USBD"
  [[ $(status_field "$pid" PPid) == "$USBD_PID" ]] || fail "worker $pid is not usbd's child"
  [[ $(tr '\0' '|' < "/proc/$pid/cmdline") == "usbd-worker|--balloon-worker-fd|3|" ]] ||
    fail "worker $pid command line is '$(tr '\0' ' ' < "/proc/$pid/cmdline")', not the worker role's"
  [[ $(cat "/proc/$pid/comm") == usbd-worker ]] || fail "worker $pid is called $(cat "/proc/$pid/comm")"
  ! grep -qaF "$PASSWORD" "/proc/$pid/cmdline" "/proc/$pid/environ" "/proc/$USBD_PID/cmdline" \
    "/proc/$USBD_PID/environ" || fail "the spot password is in a command line or an environment"
  [[ $(status_field "$pid" Threads) == 1 ]] || fail "worker $pid runs $(status_field "$pid" Threads) threads"
  fd_targets "$USBD_PID" > "$T_DIR/controller.fds"
  fd_targets "$pid" > "$T_DIR/worker.fds"
  while read -r fd target; do
    case $target in
      anon_inode:*) continue ;;   # its epolls, signalfd, timerfd ("anon_inode:[eventpoll]" names no one instance)
      /dev/null) continue ;;      # the spot store's spare descriptor for EMFILE, its own open of a file with no data
    esac
    ! awk '{ print $2 }' "$T_DIR/controller.fds" | grep -qxF "$target" ||
      fail "worker $pid fd $fd is the controller's $target"
    case $target in
      socket:*)
        # its control socket (fd 3, the peer of one of the controller's) or the spot listener and clients
        if [[ $fd == 3 ]]; then
          local peer; peer=$(socket_peer "${target//[^0-9]/}")
          awk '{ print $2 }' "$T_DIR/controller.fds" | grep -qxF "socket:[$peer]" ||
            fail "worker $pid fd 3 ($target) is not connected to the controller (peer $peer)"
          ours=1
        fi ;;
      *) fail "worker $pid holds fd $fd: $target" ;;
    esac
  done < "$T_DIR/worker.fds"
  (( ours )) || fail "worker $pid has no control socket at fd 3: $(cat "$T_DIR/worker.fds")"
  echo "worker $pid: exe $(readlink "/proc/$pid/exe"), cmdline '$(tr '\0' ' ' < "/proc/$pid/cmdline")'," \
    "Threads 1 (controller $(status_field "$USBD_PID" Threads)), fds: $(awk '{ printf "%s=%s ", $1, $2 }' \
    "$T_DIR/worker.fds")"
}

wait_for 30 "the worker to serve spot memory" serving
(( $(status_field "$USBD_PID" Threads) > 1 )) || fail "the controller runs no harvester thread: nothing to inherit"
first=$(worker_pid)
check_worker "$first"
[[ $(redis-cli -p "$PORT" --no-auth-warning -a "wrong-$PASSWORD" ping 2>&1) != PONG ]] ||
  fail "the worker answers a wrong password"
pass "the worker is a fresh usbd image in the worker role, with the password but not on its command line"

kill -9 "$first"
restarted() { local p; p=$(worker_pid) && [[ -n $p && $p != "$first" ]] && serving; }
wait_for 30 "a new worker after the cool-down" restarted
check_worker "$(worker_pid)"
kill -0 "$USBD_PID" || fail "usbd died"
pass "a restarted worker is a fresh image too"

# By hand: refused before anything is done, whatever fd 3 is.
set +e
"$USBD" --balloon-worker-fd 3 > "$T_DIR/hand.out" 2>&1 3</dev/null
rc=$?
(exec -a usbd-worker "$USBD" --balloon-worker-fd 3 > "$T_DIR/hand2.out" 2>&1 3</dev/null)
rc2=$?
set -e
[[ $rc == 2 ]] && grep -q "is internal" "$T_DIR/hand.out" || fail "usbd --balloon-worker-fd by hand: status $rc, $(cat "$T_DIR/hand.out")"
[[ $rc2 == 2 ]] && grep -q "not the controller's socket (it is not a socket)" "$T_DIR/hand2.out" ||
  fail "the worker role with a file as fd 3: status $rc2, $(cat "$T_DIR/hand2.out")"
pass "the worker role typed by hand is refused: $(cat "$T_DIR/hand.out")"
