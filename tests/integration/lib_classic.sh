#!/usr/bin/env bash
# libusbd with the classic exercise's app, as root with a swap file it makes (cgroup v1). Domain 1 GiB,
# threshold 128 MiB; the app (tests/helpers/lib_classic_app.c) maps 4x the threshold (512 MiB), fills it with
# known values, registers AFTER the fill (the exercise's own order; `lib_classic.sh before`: before it), tracks
# the region, answers SIGBALLOON with usbd_balloon() and scans its first half (read-modify-write) again and again.
# A non-registered hog in the same app cgroup takes free memory under the threshold, then a second one pushes the
# domain past its limit, so that the kernel must reclaim, and only the registered app may give memory to swap:
#   1. the app is not OOM-killed (before the re-charge at late registration it was: registered after the fill, its
#      charges stayed in the app cgroup, where swap is kept off), gets SIGBALLOONs and counts them;
#   2. its first page-out takes nothing from the hot half: right after the first usbd_balloon() the app reads
#      /proc/self/pagemap and counts the pages of each half that are swapped out (a swap entry in their place);
#      the hot half must have none, the cold half some;
#   3. the hogs are never swapped (VmSwap 0), the app is; 4. every value reads back as written.
source "$(dirname "$0")/lib.sh"
require_root_v1
WHEN=${1:-after}

DOM=$T_NAME
APP=$DOM/app
SOCK=$T_DIR/apps.sock
STATUS=$T_DIR/app.status

mkcg "$DOM" $((1 << 30))
mkcg "$APP"
make_swap 1024
start_usbd --domain "$DOM" --threshold 128M --apps-sock "$SOCK" --api-sock off --spot-listen off "$APP"
wait_for 10 "the registry's socket" test -S "$SOCK"

stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$STATUS" 2>/dev/null || true; }
vmswap_kb() { local v; v=$(awk '/^VmSwap:/ { print $2 }' "/proc/$1/status" 2>/dev/null); echo "${v:--1}"; }
# OOM kills in the domain's cgroups (v1 counts each in the victim's own cgroup).
oom_kills() { find "$CG/$DOM" -name memory.oom_control -exec awk '$1 == "oom_kill" { n += $2 } END { print n + 0 }' {} +; }
alive() { kill -0 "$APP_PID" 2>/dev/null || fail "the app died (OOM kills in the domain: $(oom_kills))"; }
answered() { alive; [[ $(stat_of first_hot) =~ ^[0-9]+$ ]]; }
signals_at_least() { alive; (( $(stat_of signals || echo 0) >= $1 )); }

# The hog first, as in the exercise (the app starts beside a running process): it leaves 30-94 MiB free once the
# app has filled its 512 MiB (it holds whole 64 MiB segments), so free memory falls under the threshold during the
# fill and a SIGBALLOON is pending when the app starts answering, before the tracker has seen any access.
# Under ASan the app holds ~64 MiB more (its runtime): the fill must not take the domain to its limit, or the
# kernel's reclaim, not the app's answer, decides what goes out first.
extra=8
grep -qa __asan_init "$HELPERS/lib_classic_app" && extra=72
used=$(cg_get "$DOM" memory.usage_in_bytes)
spawn_in_cg "$APP" "$HELPERS/workload" hold "$(( (1024 - (used >> 20) - 512 - extra - 30) / 64 * 64 ))M" >"$T_DIR/hog1.log" 2>&1
HOG1=$!
T_PIDS+=("$HOG1")
wait_for 120 "the first hog to hold its memory" grep -q . "$T_DIR/hog1.log"

spawn_in_cg "$APP" "$HELPERS/lib_classic_app" --size 512M --register "$WHEN" --apps-sock "$SOCK" --status "$STATUS" \
  >"$T_DIR/app.log" 2>&1
APP_PID=$!
T_PIDS+=("$APP_PID")
wait_for 120 "the app to fill its memory, register and start scanning" grep -q '^ready' "$T_DIR/app.log"
[[ $(cg_procs "$APP/usbd-registered") == "$APP_PID" ]] || fail "the app is not in $APP/usbd-registered"
wait_for 120 "the app's first page-out" answered
hot=$(stat_of first_hot) cold=$(stat_of first_cold)
grep '^first answer' "$T_DIR/app.log" || true
(( hot == 0 )) || { head -n 12 "$T_DIR/app.log"; fail "the first page-out took $hot pages ($(( hot >> 8 )) MiB) of the hot half (cold half: $cold pages)"; }
(( cold > 0 )) || fail "the first page-out took nothing from the cold half"
pass "first page-out: $(( cold >> 8 )) MiB of the cold half, nothing of the hot half (registered $WHEN the fill)"

# Where the memory sits (the app's charges made before it registered stay in $APP, unless moved).
for c in "$APP" "$APP/usbd-registered"; do
  echo "memory.stat of ${c#"$DOM"/}: $(awk '$1 ~ /^(rss|swap|swapcached|inactive_anon|active_anon)$/ { printf "%s %d MiB, ", $1, $2 / 1048576 }' "$CG/$c/memory.stat")"
done
# Past the limit: the domain must reclaim ~100 MiB more than the app gave; only the registered app may swap.
SWAP_BEFORE=$(vmswap_kb "$APP_PID")
spawn_in_cg "$APP" "$HELPERS/workload" hold 192M >"$T_DIR/hog2.log" 2>&1
HOG2=$!
T_PIDS+=("$HOG2")
wait_for 120 "the second hog to hold its memory" grep -q . "$T_DIR/hog2.log"
wait_for 60 "a second SIGBALLOON" signals_at_least 2
sleep 3
alive
(( $(oom_kills) == 0 )) || fail "OOM kills in the domain: $(oom_kills)"
for p in "$HOG1" "$HOG2"; do
  kill -0 "$p" 2>/dev/null || fail "hog $p died"
  [[ $(vmswap_kb "$p") == 0 ]] || fail "the non-registered process $p was swapped: VmSwap $(vmswap_kb "$p") kB"
done
(( $(vmswap_kb "$APP_PID") > SWAP_BEFORE )) || fail "the domain's reclaim did not swap the registered app"
pass "past the limit: no OOM kill, $(stat_of signals) SIGBALLOONs counted, hogs VmSwap 0, app VmSwap $(( $(vmswap_kb "$APP_PID") >> 10 )) MiB"

kill -USR1 "$APP_PID"
rc=0
wait "$APP_PID" || rc=$?
tail -n 3 "$T_DIR/app.log"
case $rc in
  0) ;;
  4) fail "a value read back differs from the one written" ;;
  *) fail "the app failed ($rc)" ;;
esac
pass "every value of both halves read back as written ($(stat_of passes) passes over the hot half)"
