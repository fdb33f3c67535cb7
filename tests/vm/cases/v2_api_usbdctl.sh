#!/bin/sh
# cgroup v2, domain mode, through the control API: Firecracker's PUT /balloon (curl) installs the balloon with
# statistics on; usbdctl reads the status, moves the balloon both ways with Firecracker's amount and with usbd's
# own targets, reads the statistics of the v2 domain, and a refused request (exit 1) changes nothing.
. /vmtests/lib.sh
command -v curl > /dev/null || skip "no curl in the guest (the host has none to copy)"

mkcg "$T_NAME" $((256 << 20))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off
wait_for 30 "the API socket" test -S "$sock"
balloon=$T_NAME/usbd-balloon
ctl() { "$USBDCTL" --sock "$sock" "$@"; }
# json_num KEY < JSON: the number after "KEY":.
json_num() { sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p" | head -n 1; }
near() { local g; g=$(cg_cur "$balloon"); [ "$g" -ge $(($1 - (4 << 20))) ] && [ "$g" -le $(($1 + (4 << 20))) ]; }

code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X PUT http://localhost/balloon \
	-H 'Content-Type: application/json' \
	-d '{"amount_mib": 96, "deflate_on_oom": true, "stats_polling_interval_s": 1}')
[ "$code" = 204 ] || fail "PUT /balloon answered $code: $(cat "$T_DIR/body")"
wait_for 60 "the balloon to reach 96 MiB" near $((96 << 20))

ctl status || fail "usbdctl status"
ctl --json status > "$T_DIR/status.json" || fail "usbdctl --json status"
[ "$(json_num total_bytes < "$T_DIR/status.json")" = $((256 << 20)) ] ||
	fail "status total is not the domain's memory.max: $(cat "$T_DIR/status.json")"

ctl set amount=32 || fail "usbdctl set amount=32"
wait_for 30 "the balloon to deflate to 32 MiB" near $((32 << 20))
ctl set grab-upper=256 grab-lower=64 || fail "usbdctl set grab-lower=64"
wait_for 60 "the balloon to reach 64 MiB" near $((64 << 20))

ctl --json stats > "$T_DIR/stats.json" || fail "usbdctl stats"
for f in target_mib actual_mib total_memory free_memory available_memory major_faults oom_kill; do
	grep -q "\"$f\"" "$T_DIR/stats.json" || fail "statistics lack $f: $(cat "$T_DIR/stats.json")"
done
[ "$(json_num total_memory < "$T_DIR/stats.json")" = $((256 << 20)) ] ||
	fail "statistics total_memory is not the domain's: $(cat "$T_DIR/stats.json")"
ctl stats

set +e
ctl set grab-lower=900
rc=$?
set -e
[ "$rc" = 1 ] || fail "a grab lower bound above the domain was not refused with exit 1 (got $rc)"
near $((64 << 20)) || fail "a refused request moved the balloon to $(mib "$(cg_cur "$balloon")") MiB"
ctl balloon || fail "usbdctl balloon"
pass "curl and usbdctl drove the balloon through the API on a v2 domain"
