#!/usr/bin/env bash
# usbdctl top driven in tmux against the fake API server: edit the grab lower bound, confirm it with the
# [ Confirm ] button and see the daemon take it; a refused edit shows the daemon's fault_message; Esc cancels;
# the view follows changes made elsewhere and survives resizes and a vanished daemon; 'q' and SIGTERM both leave
# the terminal as they found it.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "needs tmux"
command -v jq >/dev/null || skip "needs jq"
[[ -x $HELPERS/api_fake ]] || fail "build helpers/api_fake first"
[[ -x $USBDCTL ]] || fail "build usbdctl first"

sock=$T_DIR/api.sock
"$HELPERS/api_fake" "$sock" 4096 >"$T_DIR/api.log" 2>&1 &
fake_pid=$!
T_PIDS+=("$fake_pid")
wait_for 10 "the fake API socket" test -S "$sock"
"$USBDCTL" --sock "$sock" set grab-upper=1G || fail "could not set grab-upper"

# A private tmux server whose socket lives in T_DIR; cleanup kills it (it is in T_PIDS), which ends its sessions
# and what runs in them, and removes T_DIR with the socket.
tm() { tmux -S "$T_DIR/tmux.sock" "$@"; }
# start_top SESSION: runs top in a 120x40 pane; after top the shell reports its exit status and terminal modes.
start_top() {
  tm new-session -d -s "$1" -x 120 -y 40 \
    "bash --norc --noprofile -c '\"$USBDCTL\" --sock \"$sock\" top; echo EXIT=\$?; stty -a; sleep 600'"
  if [[ -z ${tmux_pid:-} ]]; then
    tmux_pid=$(tm display-message -p '#{pid}')
    T_PIDS+=("$tmux_pid")
  fi
}
screen() { tm capture-pane -p -t "$S"; }
shows() { screen | grep -q "${GREP_MODE:--E}" -- "$1"; }
see() {
  local i
  for i in $(seq 100); do shows "$1" && return 0; sleep 0.1; done
  fail "after 10 s the screen still lacks /$1/:"$'\n'"$(screen)"
}
keys() { tm send-keys -t "$S" "$@"; }
status_json() { "$USBDCTL" --sock "$sock" --json status; }
lower_is() { [[ $(status_json | jq .grab_lower_bytes) == "$1" ]]; }
# Terminal modes after top: canonical input and echo are back on.
restored() { screen | tr ' ' '\n' | grep -qx icanon && screen | tr ' ' '\n' | grep -qx echo; }

S=top1
start_top "$S"
see 'grab lower bound +\[ 0 +\]'
see 'grab upper bound +\[ 1G +\]'
see 'total memory +4G'
see 'domain host'

# Tab from the first field (target swap size) to grab lower, type, Tab to grab upper, Tab to Confirm, Enter.
keys Tab
keys 3 0 0 M
see 'grab lower bound +\[ 300M_ +\]'
keys Tab
see 'grab lower bound +\[ 300M +\] \* not yet confirmed'
lower_is 0 || fail "the edit was sent before Confirm"
keys Tab Enter
see 'targets updated'
wait_for 10 "grab_lower_bytes to become 300 MiB" lower_is $((300 << 20))
see 'grab lower bound +\[ 300M +\]$'
echo "ok: edited grab-lower and confirmed it"

# A refused edit shows the daemon's fault_message in the status line and changes nothing.
msg=$(curl -s --unix-socket "$sock" -X PATCH http://localhost/usbd/targets -d '{"grab_lower_mib": 2048}' |
      jq -er .fault_message)
keys Up Up 2 G Down Down Enter
GREP_MODE=-F see "refused: $msg"
lower_is $((300 << 20)) || fail "a refused edit changed grab_lower_bytes"
echo "ok: refusal shown: $msg"

# Esc drops the value still pending on a field, and an edit in progress.
keys Up Up Escape
see 'grab lower bound +\[ 300M +\]$'
keys Up 5 G
see 'target swap size +\[ 5G_ +\]'
keys Escape
see 'target swap size +\[ 0 +\]'
keys Down Down Down Enter
see 'nothing to confirm'
[[ $(status_json | jq .swap_target_bytes) == 0 ]] || fail "Esc did not cancel the swap-target edit"
echo "ok: Esc cancels"

# Changes made elsewhere appear within the refresh.
"$USBDCTL" --sock "$sock" set grab-upper=3G swap-target=128M || fail "could not set targets"
see 'grab upper bound +\[ 3G +\]'
see 'target swap size +\[ 128M +\]'
echo "ok: live refresh"

# Resizes redraw within the new size, even a tiny one.
tm resize-window -t "$S" -x 60 -y 15
see '^  grab lower bound +\[ 300M'
[[ $(screen | awk '{ if (length($0) > m) m = length($0) } END { print m }') -le 60 ]] || fail "lines wider than 60"
tm resize-window -t "$S" -x 12 -y 3
sleep 1
tm resize-window -t "$S" -x 120 -y 40
see 'registered apps'
see 'grab lower bound +\[ 300M'
echo "ok: resize"

# The daemon going away is reported, and top keeps running.
kill -TERM "$fake_pid"
see 'cannot talk to usbd on'
see 'current grab +-$'
echo "ok: daemon gone"

keys q
see '^EXIT=0$'
restored || fail "terminal modes not restored after q: $(screen)"
echo "ok: q quits and restores the terminal"

# SIGTERM: the terminal is restored, then top dies by the signal.
S=top2
start_top "$S"
see 'cannot talk to usbd on'
pane=$(tm display-message -p -t "$S" '#{pane_pid}')
top_pid=$(pgrep -P "$pane" -x usbdctl) || fail "no usbdctl under the pane"
kill -TERM "$top_pid"
see '^EXIT=143$'
restored || fail "terminal modes not restored after SIGTERM: $(screen)"
echo "ok: SIGTERM restores the terminal"

pass "usbdctl top"
