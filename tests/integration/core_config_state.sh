#!/usr/bin/env bash
# The config file and the state file against a real usbd: a bad config file (unknown key, bad value, a target
# the domain refuses) stops the start with an error naming it and changes nothing, with the same text for a target
# as the flag's; flags override the file; a target set at run time survives a restart and says it came from the
# state file; a state directory others may write is refused.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v curl >/dev/null && command -v jq >/dev/null || skip "needs curl and jq"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
state=$T_DIR/state/targets.json
cfg=$T_DIR/usbd.json
get() { curl -sf --unix-socket "$sock" "http://localhost$1"; }

cat >"$cfg" <<JSON
{ "balloon": { "stats_polling_interval_s": 1, "free_page_hinting": false },
  "usbd": { "domain": "$T_NAME", "app": "$T_NAME/app", "api_sock": "$sock", "spot_listen": "off",
            "apps_sock": "off", "threshold": "300M", "headroom": 64, "status_interval_s": 1 } }
JSON

# refused ARGS... : usbd must exit non-zero at start and leave no worker cgroup; its stderr is in $T_DIR/refused
refused() {
  local rc=0
  timeout 30 "$USBD" "${USBD_PRIVATE[@]}" --harvest-journal "$T_DIR/harvest.journal" "$@" >"$T_DIR/refused" 2>&1 || rc=$?
  ((rc != 0 && rc != 124)) || fail "usbd $*: expected a refusal at start, exit $rc: $(cat "$T_DIR/refused")"
  [[ ! -d $CGV1/$T_NAME/usbd-balloon ]] || fail "usbd $*: made its worker cgroup before refusing"
  [[ ! -e $sock ]] || fail "usbd $*: left its API socket"
}
refused_with() { local want=$1; shift; refused "$@"; grep -qF -- "$want" "$T_DIR/refused" ||
  fail "usbd $*: stderr lacks '$want': $(cat "$T_DIR/refused")"; }

jq '.usbd.tick_ms = 5' "$cfg" >"$T_DIR/bad.json"
refused_with "$T_DIR/bad.json: config: usbd.tick_ms must be a number from 10 to 10000" --config-file "$T_DIR/bad.json"
jq '.usbd.grab_lowr = "1G"' "$cfg" >"$T_DIR/bad.json"
refused_with "$T_DIR/bad.json: config: unknown key 'usbd.grab_lowr'" --config-file "$T_DIR/bad.json"
# One set of rules: the same too-large target gets the same text from the config file and from the flag.
jq '.usbd.grab_lower = "2G"' "$cfg" >"$T_DIR/bad.json"
want='grab_lower (2G) is larger than the domain (1G)'
refused_with "$want" --config-file "$T_DIR/bad.json" --state-file off
refused_with "$want" --config-file "$cfg" --grab-lower 2G --state-file off
[[ ! -e $T_DIR/state ]] || fail "a refused start made the state directory"
# A state directory others may write is refused before anything is made.
mkdir -m 0777 "$T_DIR/open"
refused_with "its directory $T_DIR/open belongs to uid 0 with mode 0777" --config-file "$cfg" \
  --state-file "$T_DIR/open/targets.json"
echo "ok: bad config files and state directories refused, with the key named"

# Flags override the file: --headroom over its 64 MiB.
start_usbd --config-file "$cfg" --state-file "$state" --headroom 100M
wait_for 10 "the API socket" test -S "$sock"
wait_for 10 "the worker" bash -c "[[ \$(curl -sf --unix-socket '$sock' http://localhost/usbd/status | jq .worker_pid) != 0 ]]"
t=$(get /usbd/targets)
[[ $(jq -c '[.threshold_mib, .headroom_mib]' <<<"$t") == '[300,100]' ]] || fail "config/flag targets: $t"
src=$(get /usbd/status | jq -c .sources)
[[ $src == '{"grab_lower":"default","grab_upper":"default","swap_target":"default","headroom":"command-line","threshold":"config-file"}' ]] ||
  fail "sources at start: $src"
[[ $(get /balloon | jq .stats_polling_interval_s) == 1 ]] || fail "balloon.stats_polling_interval_s not applied: $(get /balloon)"

# A target set at run time is saved, survives a restart and says where it came from.
"$USBDCTL" --sock "$sock" set grab-lower=200M threshold=250M >/dev/null || fail "usbdctl set failed"
[[ $(get /usbd/status | jq -r .sources.grab_lower) == api ]] || fail "sources after set: $(get /usbd/status | jq .sources)"
wait_for 10 "the state file" test -f "$state"
[[ $(stat -c %a "$T_DIR/state") == 700 ]] || fail "state directory mode $(stat -c %a "$T_DIR/state")"
jq -e '.grab_lower_bytes == 209715200 and .threshold_bytes == 262144000 and (keys | length) == 2' "$state" >/dev/null ||
  fail "state file: $(cat "$state")"
[[ ! -e $state.tmp ]] || fail "a temporary state file was left"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || fail "usbd exited non-zero on SIGTERM"

start_usbd --config-file "$cfg" --state-file "$state"
wait_for 10 "the API socket again" test -S "$sock"
t=$(get /usbd/targets)
[[ $(jq -c '[.grab_lower_mib, .threshold_mib, .headroom_mib]' <<<"$t") == '[200,250,64]' ]] ||
  fail "targets after restart (want the state file's lower and threshold, the config's headroom): $t"
src=$(get /usbd/status | jq -c '[.sources.grab_lower, .sources.threshold, .sources.headroom]')
[[ $src == '["state-file","state-file","config-file"]' ]] || fail "sources after restart: $src"
grep -q "restored from $state" "$T_DIR/usbd.log" || fail "no log line about the restored targets"
"$USBDCTL" --sock "$sock" status >"$T_DIR/status.out" || fail "usbdctl status failed"
grep -qE '^grab lower bound +200M \(from state-file\)$' "$T_DIR/status.out" ||
  fail "usbdctl status does not say where grab-lower came from: $(cat "$T_DIR/status.out")"
kill -TERM "$USBD_PID"
wait "$USBD_PID" || true

# The command line still wins over the state file.
start_usbd --config-file "$cfg" --state-file "$state" --grab-lower 150M
wait_for 10 "the API socket a third time" test -S "$sock"
[[ $(get /usbd/targets | jq .grab_lower_mib) == 150 ]] || fail "flag over state: $(get /usbd/targets)"
[[ $(get /usbd/status | jq -r .sources.grab_lower) == command-line ]] || fail "source of the flag's value"

# Kept values that no longer fit with the command line (here an upper bound of 0 from a PATCH /balloon of an earlier
# run, against --grab-lower 64M) are ignored with a warning: usbd starts on its flags, never refuses for ever.
kill -TERM "$USBD_PID"
wait "$USBD_PID" || true
printf '{"grab_lower_bytes": 0, "grab_upper_bytes": 0}\n' > "$state"
chmod 600 "$state"
start_usbd --config-file "$cfg" --state-file "$state" --grab-lower 64M
wait_for 10 "the API socket with a stale state file" test -S "$sock"
[[ $(get /usbd/targets | jq -c '[.grab_lower_mib, .grab_upper_mib]') == '[64,1024]' ]] ||
  fail "stale state file: $(get /usbd/targets)"
grep -q "ignoring the targets kept in $state: grab_lower (64M) is larger than grab_upper (0)" "$T_DIR/usbd.log" ||
  fail "no warning about the ignored state file: $(cat "$T_DIR/usbd.log")"

# A symlink at the state file is not followed: the start is refused.
kill -TERM "$USBD_PID"
wait "$USBD_PID" || true
rm -f "$state"
ln -s /etc/passwd "$state"
refused_with "is a symlink (not followed)" --config-file "$cfg" --state-file "$state"
pass "config file and state file"
