#!/usr/bin/env bash
# Reclaimable mode under a squeeze the controller cannot see: in a 2 GiB domain (no swap: memsw = limit) a full
# 1.5 GiB reclaimable balloon holds spot data; the controller is stopped (SIGSTOP, the worker keeps serving) and
# the app allocates 1.2 GiB. The kernel must take the balloon's pages by itself: the app completes without an OOM
# kill and without swapping, and the worker's resident size falls by about what the app needed. Meanwhile a
# reader checks every value: the exact value or nil, never zeros or a torn value. After SIGCONT the controller
# reports the real (resident) grab and waits its cool-down before re-inflating.
# No swap: v1 memsw limit = limit, v2 memory.swap.max 0. In the guest every size is divided by 4.
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
require_root
command -v redis-cli >/dev/null || skip "needs redis-cli"
command -v curl >/dev/null || skip "needs curl"

port=$((20000 + $$ % 10000))  # below the ephemeral port range (32768+)
Q=$(t_size 1 4)  # sizes are divided by Q
DOM_MIB=$((2048 / Q)) GRAB_MIB=$((1536 / Q)) APP_MIB=$((1200 / Q)) SLACK_MIB=$((64 / Q))
keys=$((21000 / Q)) size=65536   # 1.3 GiB of values
# In the guest's 512 MiB domain a sanitizer build's worker (shadow memory, quarantine) leaves the reclaimable
# balloon too little room: the kernel took half its chunks before the squeeze. Give the domain what ASan costs.
if ((T_GUEST)) && grep -qa __asan_init "$USBD"; then DOM_MIB=$((DOM_MIB + 128)); fi
mkcg "$T_NAME" $((DOM_MIB << 20))
cg_forbid_swap "$T_NAME"
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --balloon-mode reclaimable --grab-lower "${GRAB_MIB}M" \
  --headroom $((128 / Q))M \
  --api-sock "$T_DIR/api.sock" --spot-listen "127.0.0.1:$port"
balloon=$T_NAME/usbd-balloon
status() { curl -sf --unix-socket "$T_DIR/api.sock" http://localhost/usbd/status; }
grab_mib() { status | sed -n 's/.*"grab_bytes": *\([0-9]*\).*/\1/p' | awk '{ print int($1 / 1048576) }'; }
full() { [[ $(grab_mib) -ge $((GRAB_MIB - 6)) ]] 2>/dev/null; }
wait_for 180 "the reclaimable balloon to reach $GRAB_MIB MiB" full
wait_for 10 "spot memory to answer" redis-cli -p "$port" ping

"$HELPERS/reclaim_keys" fill "$port" rk "$keys" "$size" | tee "$T_DIR/fill.out"
"$HELPERS/reclaim_keys" check "$port" rk "$keys" "$size" 0 | tee "$T_DIR/check0.out"
before_exact=$(sed -n 's/.*last round \([0-9]*\) of.*/\1/p' "$T_DIR/check0.out")
(( before_exact > keys / 2 )) || fail "only $before_exact of $keys keys readable before the squeeze"

worker=$(cg_procs "$balloon" | head -n 1)
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
rss_before=$(rss_kib "$worker")
free_before=$(( (DOM_MIB << 20) - $(cg_usage "$T_NAME") ))
echo "worker $worker resident $((rss_before / 1024)) MiB, domain free $(mib "$free_before") MiB"

kill -STOP "$USBD_PID"
trap 'kill -CONT "$USBD_PID" 2>/dev/null; cleanup' EXIT
"$HELPERS/reclaim_keys" check "$port" rk "$keys" "$size" 5 > "$T_DIR/reader.out" 2>&1 &
reader=$!
T_PIDS+=("$reader")
run_in_cg "$T_NAME/app" "$HELPERS/workload" steps "${APP_MIB}M:3" > "$T_DIR/app.out" 2>&1 &
app_job=$!
T_PIDS+=("$app_job")
wait_for 240 "the app to hold $APP_MIB MiB" grep -q "holding" "$T_DIR/app.out"
app=$(cg_procs "$T_NAME/app" | head -n 1)
app_swap=$(awk '/^VmSwap:/ { print $2 }' "/proc/$app/status")
app_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$app/status")
rss_after=$(rss_kib "$worker")
set +e
wait "$app_job"
app_status=$?
wait "$reader"
reader_status=$?
set -e
kill -CONT "$USBD_PID"
cat "$T_DIR/app.out" "$T_DIR/reader.out"
echo "app resident $((app_rss / 1024)) MiB, swapped ${app_swap} KiB; worker resident $((rss_before / 1024)) ->" \
  "$((rss_after / 1024)) MiB"

(( app_status == 0 )) || fail "the app exited with status $app_status (137 = OOM-killed)"
(( $(cg_oom_kills "$T_NAME") == 0 )) || fail "the domain saw $(cg_oom_kills "$T_NAME") OOM kills"
kill -0 "$worker" 2>/dev/null || fail "the worker was killed: the kernel should have dropped its pages instead"
(( app_rss >= APP_MIB * 1024 - 1024 )) || fail "the app held only $((app_rss / 1024)) MiB"
[[ $app_swap == 0 ]] || fail "the app had $app_swap KiB in swap"
# The app's 1.2 GiB could only fit by taking what the domain did not have free from the balloon.
need_kib=$(( (APP_MIB << 10) - free_before / 1024 ))
fell_kib=$(( rss_before - rss_after ))
(( fell_kib >= need_kib - (SLACK_MIB << 10) )) ||
  fail "the balloon's resident size fell by $((fell_kib / 1024)) MiB; the app needed $((need_kib / 1024)) MiB of it"
(( fell_kib <= (APP_MIB << 10) + (256 / Q << 10) )) ||
  fail "the balloon's resident size fell by $((fell_kib / 1024)) MiB, far more than the app's $APP_MIB MiB"
(( reader_status == 0 )) || fail "the reader saw a wrong value (above)"
grep -q " 0 wrong" "$T_DIR/reader.out" || fail "the reader did not finish its check"
nil=$(sed -n 's/.* \([0-9]*\) nil.*/\1/p' "$T_DIR/reader.out")
(( nil > 0 )) || fail "no key was lost: the kernel did not drop written pages of the store"

# The controller learns what the kernel took: the grab it reports is what is resident, and it waits its cool-down.
wait_for 10 "usbd to notice the reclaimed memory" grep -q "the kernel reclaimed" "$T_DIR/usbd.log"
grep "the kernel reclaimed" "$T_DIR/usbd.log" | head -n 1
reported=$(grab_mib)
(( reported < GRAB_MIB - need_kib / 1024 + SLACK_MIB )) || fail "usbd reports a grab of $reported MiB after the squeeze"
echo "usbd reports a grab of $reported MiB"
# (Whether it is still the last deflation depends on what the controller did next, so the counter is checked.)
curl -sf --unix-socket "$T_DIR/api.sock" http://localhost/metrics | grep -qE '^usbd_deflations_total\{reason="reclaimed"\} [1-9]' ||
  fail "the metrics do not count the reclaim as a deflation"
pass "the kernel took $((fell_kib / 1024)) MiB of the reclaimable balloon for the app's $APP_MIB MiB; no OOM, no" \
  "swap; every value read was exact or nil (cgroup v$CG_VER)"
