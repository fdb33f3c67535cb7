#!/usr/bin/env bash
# The spot store's figures travel from the worker to the controller and out, exactly: after 2 SETs, 3 GETs that find
# their key and 2 that do not (redis-cli), /metrics over TCP (--metrics-listen) and on the API socket say 7
# commands, 3 hits, 2 misses and 2 keys, and so does `usbdctl --json status` ("spot"); promtool is content with the
# text; once the balloon is deflated to nothing the 2 keys count as lost to deflation, with the bytes they held.
# The balloon is pinned (the default): its figures must be asked for all the same (they were only in reclaimable
# mode before, so every spot metric stayed 0).
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
for t in curl jq redis-cli; do command -v $t >/dev/null || skip "needs $t"; done

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
mport=$(free_port) sport=$(free_port)
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen "127.0.0.1:$sport" \
  --metrics-listen "127.0.0.1:$mport" --grab-lower 16 --grab-upper 64
wait_for 30 "the API socket" test -S "$sock"
url=http://127.0.0.1:$mport/metrics
# metric NAME [URL...]: its value in /metrics over TCP (or curl's other arguments), empty when missing.
metric() { local m=$1; shift; curl -sf "${@:-$url}" | awk -v m="$m" '$1 == m { print $2 }'; }
is() { [[ $(metric "$1") == "$2" ]]; }
at_least() { local v; v=$(metric "$1"); [[ -n $v ]] && ((v >= $2)); }
ctl() { "$USBDCTL" --sock "$sock" "$@"; }

# No command reaches the store before the counted ones: readiness is read from the metrics alone.
wait_for 60 "the balloon to hold the grab lower bound" at_least usbd_grab_bytes $((16 << 20))
wait_for 10 "the spot metrics" at_least usbd_spot_commands_total 0
is usbd_spot_commands_total 0 || fail "commands before any were sent: $(metric usbd_spot_commands_total)"

r() { redis-cli -p "$sport" "$@"; }
for k in k1 k2; do [[ $(r set "$k" "value of $k") == OK ]] || fail "SET $k: $(r set "$k" v 2>&1)"; done
for k in k1 k2 k1; do [[ $(r get "$k") == "value of $k" ]] || fail "GET $k"; done
for k in nope1 nope2; do [[ -z $(r get "$k") ]] || fail "GET $k found something"; done

# The controller asks for the figures every second: wait for them, then every one is exact.
wait_for 20 "7 commands in the metrics" is usbd_spot_commands_total 7
curl -sf "$url" >"$T_DIR/metrics" || fail "GET /metrics over TCP"
want="usbd_spot_commands_total 7
usbd_spot_keyspace_hits_total 3
usbd_spot_keyspace_misses_total 2
usbd_spot_keys 2
usbd_spot_evictions_total 0
usbd_spot_deflation_losses_total 0
usbd_spot_deflation_lost_bytes_total 0"
got=$(grep -E "^($(echo "$want" | cut -d' ' -f1 | paste -sd'|')) " "$T_DIR/metrics" | sort)
[[ $got == "$(sort <<<"$want")" ]] || fail "the spot metrics over TCP: $got, want: $want"
used=$(metric usbd_spot_used_bytes)
((used > 0)) || fail "usbd_spot_used_bytes is $used with 2 keys"
api=$(curl -sf --unix-socket "$sock" http://localhost/metrics | grep -E '^usbd_spot_(keyspace|commands|keys )' | sort)
[[ $api == "$(grep -E '^usbd_spot_(keyspace|commands|keys )' "$T_DIR/metrics" | sort)" ]] ||
  fail "the API socket's /metrics differs: $api"
ctl --json status >"$T_DIR/status.json" || fail "usbdctl --json status"
[[ $(jq -c '.spot | [.commands, .keyspace_hits, .keyspace_misses, .keys]' "$T_DIR/status.json") == '[7,3,2,2]' ]] ||
  fail "usbdctl status's spot: $(jq -c .spot "$T_DIR/status.json")"
ctl status | grep -Eq '^spot hits +3$' || fail "usbdctl status does not show 3 spot hits: $(ctl status)"
if command -v promtool >/dev/null; then
  promtool check metrics <"$T_DIR/metrics" >"$T_DIR/promtool.log" 2>&1 || fail "promtool: $(cat "$T_DIR/promtool.log")"
  [[ ! -s $T_DIR/promtool.log ]] || fail "promtool complains: $(cat "$T_DIR/promtool.log")"
fi
echo "ok: 7 commands, 3 hits, 2 misses, 2 keys ($used bytes) over TCP, on the API socket and in usbdctl status"

# Deflated to nothing: both keys are lost, with the bytes they held.
ctl set grab-lower=0 grab-upper=0 >/dev/null || fail "usbdctl set grab-upper=0"
wait_for 60 "the keys lost to the deflation" is usbd_spot_deflation_losses_total 2
wait_for 10 "the store to be empty" is usbd_spot_keys 0
is usbd_spot_deflation_lost_bytes_total "$used" ||
  fail "lost bytes $(metric usbd_spot_deflation_lost_bytes_total), the store held $used"
[[ -z $(r get k1) ]] || fail "k1 outlived the deflation"
wait_for 10 "the miss of k1" is usbd_spot_keyspace_misses_total 3
pass "spot counters exact over TCP, the API socket and usbdctl status; deflation losses in keys and bytes"
