#!/usr/bin/env bash
# usbdctl against the API server with a fake backend (build/helpers/api_fake) on a private socket: every command,
# human and --json output, and the exit codes (0 ok, 1 refused with the daemon's message, 2 usage, 3 unreachable).
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "needs curl"
command -v jq >/dev/null || skip "needs jq"
[[ -x $HELPERS/api_fake ]] || fail "build helpers/api_fake first"
[[ -x $USBDCTL ]] || fail "build usbdctl first"

sock=$T_DIR/api.sock
"$HELPERS/api_fake" "$sock" 4096 >"$T_DIR/api.log" 2>&1 &
T_PIDS+=($!)
wait_for 10 "the fake API socket" test -S "$sock"

# ctl WANT_RC ARGS...: runs usbdctl on the private socket; stdout in $T_DIR/out, stderr in $T_DIR/err.
ctl() {
  local want=$1 rc=0; shift
  "$USBDCTL" --sock "$sock" "$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
  [[ $rc == "$want" ]] ||
    fail "usbdctl $*: exit $rc, expected $want; stdout: $(cat "$T_DIR/out"); stderr: $(cat "$T_DIR/err")"
}
out_has() { grep -qxE "$1" "$T_DIR/out" || fail "stdout lacks the line /$1/: $(cat "$T_DIR/out")"; }
err_has() { grep -qF -- "$1" "$T_DIR/err" || fail "stderr lacks '$1': $(cat "$T_DIR/err")"; }
get() { curl -sf --unix-socket "$sock" "http://localhost$1"; }
# fault METHOD PATH BODY: the fault_message the server gives to the same request (sent with curl).
fault() { curl -s --unix-socket "$sock" -X "$1" "http://localhost$2" -d "$3" | jq -er .fault_message; }
# targets: [grab_lower_mib, grab_upper_mib, swap_target_mib, headroom_mib, threshold_mib] from GET /usbd/targets.
targets() {
  get /usbd/targets | jq -c '[.grab_lower_mib, .grab_upper_mib, .swap_target_mib, .headroom_mib, .threshold_mib]'
}

# status: human sizes, aligned labels; --json: the daemon's JSON as it is.
ctl 0 status
out_has 'total memory +4G'
out_has 'free memory +4G'
out_has 'domain +host'
out_has 'version +0\.1\.0'
out_has 'pressure +(none|medium|critical)'
[[ ! -s $T_DIR/err ]] || fail "status wrote to stderr: $(cat "$T_DIR/err")"
ctl 0 --json status
jq -e '.total_bytes == 4294967296 and (.grab_lower_bytes | type) == "number"' "$T_DIR/out" >/dev/null ||
  fail "--json status: $(cat "$T_DIR/out")"
[[ $(jq -c keys "$T_DIR/out") == "$(get /usbd/status | jq -c keys)" ]] ||
  fail "--json status has other fields than GET /usbd/status"
ctl 0 status --json
jq -e .version "$T_DIR/out" >/dev/null || fail "--json after the command: $(cat "$T_DIR/out")"
echo "ok: status"

# The socket also comes from $USBD_SOCK, and --sock wins over it.
USBD_SOCK=$sock "$USBDCTL" balloon >"$T_DIR/out" || fail "USBD_SOCK was not used"
out_has 'amount +0'
USBD_SOCK=$T_DIR/nowhere.sock "$USBDCTL" --sock="$sock" balloon >/dev/null || fail "--sock= did not win over USBD_SOCK"
echo "ok: socket selection"

# set: each field in MiB through PATCH /usbd/targets, silent on success.
ctl 0 set grab-upper=2G grab-lower=1G
[[ ! -s $T_DIR/out ]] || fail "set printed: $(cat "$T_DIR/out")"
[[ $(targets) == '[1024,2048,0,0,0]' ]] || fail "targets after set: $(targets)"
ctl 0 set swap-target=256M headroom=512 threshold=1GiB
[[ $(targets) == '[1024,2048,256,512,1024]' ]] || fail "targets after set: $(targets)"
ctl 0 status
out_has 'grab lower bound +1G'
out_has 'grab upper bound +2G'
out_has 'target swap size +256M'
out_has 'headroom +512M'
echo "ok: set targets"

# Refused by the daemon: exit 1 with its fault_message, and nothing changes.
msg=$(fault PATCH /usbd/targets '{"grab_lower_mib": 3072}')
ctl 1 set grab-lower=3G
err_has "$msg"
[[ $(targets) == '[1024,2048,256,512,1024]' ]] || fail "a refused set changed the targets: $(targets)"
msg=$(fault PATCH /balloon '{"amount_mib": 8192}')
ctl 1 set amount=8G
err_has "$msg"
echo "ok: refusals exit 1 with '$msg'"

# Usage errors: exit 2 before anything is sent.
ctl 2 set grab-lowr=1G
err_has "set: unknown field 'grab-lowr'"
err_has "usage: usbdctl"
ctl 2 set grab-lower=1.5G
err_has "grab-lower: not a size '1.5G'"
ctl 2 set grab-lower=1536K
err_has "grab-lower: not a whole number of MiB '1536K'"
ctl 2 set
ctl 2 set amount=1G headroom=1G
ctl 2 frobnicate
ctl 2 status extra
ctl 2 stats --watch 0
ctl 2
[[ $(targets) == '[1024,2048,256,512,1024]' ]] || fail "a usage error changed the targets: $(targets)"
ctl 0 --help
out_has 'usage: usbdctl .*'
ctl 2 top </dev/null
err_has "top needs a terminal"
echo "ok: usage errors exit 2"

# amount: Firecracker's PATCH /balloon, which sets both grab bounds.
ctl 0 set amount=512
[[ $(get /balloon | jq .amount_mib) == 512 ]] || fail "amount_mib after set amount: $(get /balloon)"
[[ $(targets) == '[512,512,256,512,1024]' ]] || fail "set amount did not set both bounds: $(targets)"
ctl 0 balloon
out_has 'amount +512M'
ctl 0 --json balloon
jq -e '.amount_mib == 512 and (.deflate_on_oom | type) == "boolean"' "$T_DIR/out" >/dev/null ||
  fail "--json balloon: $(cat "$T_DIR/out")"
echo "ok: set amount, balloon"

# stats: refused while statistics are off (as Firecracker does), then shown with human sizes.
msg=$(curl -s --unix-socket "$sock" http://localhost/balloon/statistics | jq -er .fault_message)
ctl 1 stats
err_has "$msg"
err_has 'turn them on with `usbdctl set stats-interval=SECONDS`'
ctl 2 set stats-interval=1 headroom=1G
ctl 2 set stats-interval=70000
[[ $(get /balloon | jq .stats_polling_interval_s) == 0 ]] || fail "a refused stats-interval changed the interval"
# Firecracker's rule: statistics are switched on or off only by PUT /balloon; PATCH changes a non-zero interval.
msg=$(fault PATCH /balloon/statistics '{"stats_polling_interval_s": 1}')
ctl 1 set stats-interval=1
err_has "$msg"
curl -sf --unix-socket "$sock" -X PUT http://localhost/balloon \
  -d '{"amount_mib": 512, "deflate_on_oom": true, "stats_polling_interval_s": 1}' || fail "PUT /balloon"
ctl 0 set stats-interval=2
[[ $(get /balloon | jq .stats_polling_interval_s) == 2 ]] || fail "set stats-interval=2: $(get /balloon)"
ctl 0 stats
out_has 'target +512M'
out_has 'total memory +4G'
ctl 0 --json stats
for k in target_pages actual_pages target_mib actual_mib swap_in swap_out major_faults minor_faults free_memory \
         total_memory available_memory disk_caches hugetlb_allocations hugetlb_failures oom_kill alloc_stall \
         async_scan direct_scan async_reclaim direct_reclaim; do
  jq -e --arg k "$k" 'has($k)' "$T_DIR/out" >/dev/null || fail "--json stats lacks $k"
done
echo "ok: stats"

# stats --watch prints a sample per period until stopped.
"$USBDCTL" --sock "$sock" stats --watch 1 >"$T_DIR/watch" 2>&1 &
watch_pid=$!
T_PIDS+=("$watch_pid")
samples() { (( $(grep -c '^--- ' "$T_DIR/watch") >= $1 )); }
wait_for 20 "three samples from stats --watch" samples 3
[[ $(grep -c '^target ' "$T_DIR/watch") -ge 3 ]] || fail "stats --watch samples: $(cat "$T_DIR/watch")"
# (SIGINT would be ignored: a non-interactive shell starts background jobs with it ignored.)
kill -TERM "$watch_pid"
rc=0; wait "$watch_pid" || rc=$?
[[ $rc == 143 ]] || fail "stats --watch did not end by SIGTERM: exit $rc"
echo "ok: stats --watch"

# Unreachable daemon: exit 3, whether the socket is missing, stale or silent.
ctl 3 --sock "$T_DIR/nowhere.sock" status
err_has "cannot talk to usbd on $T_DIR/nowhere.sock"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T_DIR/stale.sock"
"$USBDCTL" --sock "$T_DIR/stale.sock" status 2>"$T_DIR/err" && fail "a stale socket answered"
[[ $? == 3 ]] || fail "stale socket: expected exit 3"
err_has "Connection refused"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(60)' "$T_DIR/silent.sock" &
T_PIDS+=($!)
wait_for 10 "the silent socket" test -S "$T_DIR/silent.sock"
rc=0; "$USBDCTL" --sock "$T_DIR/silent.sock" status 2>"$T_DIR/err" || rc=$?
[[ $rc == 3 ]] || fail "silent server: exit $rc, expected 3"
err_has "timed out"
echo "ok: unreachable daemon exits 3"

pass "usbdctl"
