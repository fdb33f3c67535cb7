#!/usr/bin/env bash
# Control API against the real daemon: the curl commands of Firecracker's ballooning documentation succeed with
# the documented codes and bodies, and the balloon really moves to the new target.
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
command -v curl >/dev/null || skip "needs curl"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off
wait_for 10 "the API socket" test -S "$sock"
grab() { cg_usage "$T_NAME/usbd-balloon"; }
near() { local g; g=$(grab); (( g >= $1 - (4 << 20) && g <= $1 + (4 << 20) )); }

req() {  # req METHOD PATH [BODY] -> prints "CODE BODY"
  local args=(-s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X "$1" "http://localhost$2"
              -H 'Accept: application/json' -H 'Content-Type: application/json')
  [[ -n ${3:-} ]] && args+=(-d "$3")
  echo "$(curl "${args[@]}") $(cat "$T_DIR/body")"
}
expect() {  # expect "CODE" METHOD PATH [BODY]
  local want=$1 got; shift
  got=$(req "$@")
  [[ ${got%% *} == "$want" ]] || fail "$1 $2 ${3:-}: expected $want, got: $got"
  echo "ok: $1 $2 ${3:-} -> $got"
}

# Firecracker's docs: install the balloon, then inflate/deflate it with PATCH, and read statistics.
expect 204 PUT /balloon '{"amount_mib": 256, "deflate_on_oom": true, "stats_polling_interval_s": 1}'
wait_for 30 "the balloon to reach 256 MiB" near $((256 << 20))
got=$(req GET /balloon)
[[ $got == "200 "*'"amount_mib": 256'* || $got == "200 "*'"amount_mib":256'* ]] || fail "GET /balloon: $got"
grep -q '"deflate_on_oom": *true' <<<"$got" || fail "GET /balloon: $got"
expect 204 PATCH /balloon '{"amount_mib": 128}'
wait_for 10 "the balloon to deflate to 128 MiB" near $((128 << 20))
expect 204 PATCH /balloon '{"amount_mib": 384}'
wait_for 30 "the balloon to inflate to 384 MiB" near $((384 << 20))
stats=$(req GET /balloon/statistics)
[[ $stats == "200 "* ]] || fail "GET /balloon/statistics: $stats"
for f in target_pages actual_pages target_mib actual_mib swap_in swap_out major_faults minor_faults free_memory \
         total_memory available_memory disk_caches hugetlb_allocations hugetlb_failures oom_kill alloc_stall \
         async_scan direct_scan async_reclaim direct_reclaim; do
  grep -q "\"$f\"" <<<"$stats" || fail "statistics lack $f: $stats"
done
grep -Eq '"target_mib": *384' <<<"$stats" || fail "statistics target_mib is not 384: $stats"
grep -Eq '"total_memory": *1073741824' <<<"$stats" || fail "statistics total_memory is not the domain's: $stats"
expect 204 PATCH /balloon/statistics '{"stats_polling_interval_s": 5}'
got=$(req GET /balloon)
grep -Eq '"stats_polling_interval_s": *5' <<<"$got" || fail "interval not updated: $got"

# Errors change nothing.
expect 400 PATCH /balloon '{"amount_mib": 4096}'
expect 400 PUT /balloon '{"amount_mib": 64}'
expect 400 PATCH /usbd/targets '{"grab_lower_mib": 900, "grab_upper_mib": 100}'
# One set of rules whichever door a target comes in by: the same bad value, the same error (and nothing changes).
want='swap_target (2G) is larger than the domain (1G)'
got=$(req PATCH /usbd/targets '{"swap_target_mib": 2048}')
[[ $got == "400 "*"$want"* ]] || fail "PATCH swap_target_mib 2048: expected 400 '$want', got: $got"
if cli=$("$USBD" "${USBD_PRIVATE[@]}" --domain "$T_NAME" --swap-target 2G --api-sock off --apps-sock off --spot-listen off \
         "$T_NAME/app" 2>&1); then
  fail "usbd --swap-target 2G on a 1G domain started"
fi
[[ $cli == *"$want"* ]] || fail "usbd --swap-target 2G: expected '$want', got: $cli"
got=$(req GET /balloon)
grep -Eq '"amount_mib": *384' <<<"$got" || fail "a refused request changed the balloon: $got"
near $((384 << 20)) || fail "a refused request moved the balloon: $(mib "$(grab)") MiB"
status=$(req GET /usbd/status)
grep -Eq '"grab_bytes": *[0-9]+' <<<"$status" || fail "status: $status"
pass "Firecracker's balloon commands work against usbd and move the balloon (cgroup v$CG_VER)"
