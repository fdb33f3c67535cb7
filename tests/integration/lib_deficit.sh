#!/usr/bin/env bash
# libusbd: registered apps asked for memory give what was asked, once, between them (root, cgroup v1, a swap file
# it makes). Domain 1 GiB, threshold 128 MiB. Two registered apps map 256 and 128 MiB and scan their first half;
# a non-registered hog takes free memory ~40 MiB under the threshold without reaching the limit, so nothing but
# the apps' own page-outs frees memory.
#   1. Each app is asked for its part of the deficit, in proportion to its resident memory (2:1 here), not the
#      whole of it: otherwise two apps page out the deficit twice.
#   2. Pages they paged out stay charged in the swap cache until the kernel reclaims; usbd counts them as free
#      (like inactive page cache), so the SIGBALLOONs stop once the apps have answered. Were they not counted,
#      usbd would signal the same deficit every second and the apps would page out everything they have, their
#      hot halves included, again and again.
source "$(dirname "$0")/lib.sh"
require_root_v1
# Under ASan the apps' own runtime memory keeps growing (tens of MiB over the test, even with a small
# quarantine), a deficit that never settles and takes the domain to its limit: what this test measures does not
# exist there. The registry's code it runs (shares, idle swap cache) runs under ASan in lib_pageout.sh too.
grep -qa __asan_init "$HELPERS/lib_scan_app" && skip "a sanitizer build: the apps' runtime memory keeps growing"

DOM=$T_NAME
APP=$DOM/app
SOCK=$T_DIR/apps.sock
STATUS=$T_DIR/app.status

mkcg "$DOM" $((1 << 30))
mkcg "$APP"
make_swap 512
start_usbd --domain "$DOM" --threshold 128M --apps-sock "$SOCK" --api-sock off --spot-listen off "$APP"
wait_for 10 "the registry's socket" test -S "$SOCK"

stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$T_DIR/$1.status" 2>/dev/null || echo 0; }
signals_of_both() { echo $(( $(stat_of a signals || echo 0) + $(stat_of b signals || echo 0) )); }
honoured_of_both() { echo $(( $(stat_of a honoured || echo 0) + $(stat_of b honoured || echo 0) )); }
# The deficit (MiB) an app's first SIGBALLOON carried: both apps are asked in that round with their whole memory
# resident, so their asks show the split (later rounds weigh what each has left).
first_asked() { awk '/^balloon: deficit/ { print $3; exit }' "$T_DIR/$1.log"; }

spawn_in_cg "$APP" "$HELPERS/lib_scan_app" --size 256M --apps-sock "$SOCK" --status "$T_DIR/a.status" \
  >"$T_DIR/a.log" 2>&1
A_PID=$!
spawn_in_cg "$APP" "$HELPERS/lib_scan_app" --size 128M --apps-sock "$SOCK" --status "$T_DIR/b.status" \
  >"$T_DIR/b.log" 2>&1
B_PID=$!
T_PIDS+=("$A_PID" "$B_PID")
for x in a b; do wait_for 60 "app $x to write its memory and start scanning" grep -q '^ready' "$T_DIR/$x.log"; done
# The hog leaves 88 MiB free (40 under the threshold) after what is already charged: the apps and usbd's worker.
# usbd is stopped while the hog fills: on a busy machine a fill takes seconds, and rounds during it would ask for
# slivers of the deficit (a few MiB, where rounding hides the split) instead of the whole.
used=$(cg_get "$DOM" memory.usage_in_bytes)
hog=$(( 1024 - (used >> 20) - 88 ))
kill -STOP "$USBD_PID"
spawn_in_cg "$APP" "$HELPERS/workload" hold "${hog}M" >"$T_DIR/hog.log" 2>&1
T_PIDS+=("$!")
wait_for 60 "the hog to hold its memory" grep -q . "$T_DIR/hog.log"
kill -CONT "$USBD_PID"
signalled() { (( $(signals_of_both) >= 2 )); }  # a function: wait_for re-runs it, a $(...) argument would not be
wait_for 60 "a SIGBALLOON" signalled

# Settled: no SIGBALLOON for 5 s in a row (they come every second while free stays under the threshold).
settled_at=$((SECONDS + 30))
last=$(signals_of_both) quiet=0
while (( quiet < 5 )); do
  (( SECONDS < settled_at )) || fail "SIGBALLOONs did not stop: $(signals_of_both) sent, $(( $(honoured_of_both) >> 20 )) MiB paged out; usbd keeps asking for what the apps gave"
  sleep 1
  now=$(signals_of_both)
  if [[ $now == "$last" ]]; then quiet=$((quiet + 1)); else quiet=0 last=$now; fi
done
honoured=$(honoured_of_both)
usage=$(cg_get "$DOM" memory.usage_in_bytes)
for p in "$A_PID" "$B_PID"; do kill -0 "$p" 2>/dev/null || fail "app $p died"; done
(( usage < (1 << 30) - (16 << 20) )) || fail "the domain reached its limit ($(mib "$usage") MiB): the kernel's reclaim was in play"
# The deficit was ~40 MiB; with the apps' 16 MiB margins once is ~70-100 MiB; asked again and again they give all.
(( honoured > 0 && honoured <= (128 << 20) )) || fail "the apps paged out $(( honoured >> 20 )) MiB for a ~40 MiB deficit"
pass "deficit answered once: $(signals_of_both) SIGBALLOONs, $(( honoured >> 20 )) MiB paged out, then quiet (domain at $(mib "$usage") MiB)"
a=$(first_asked a) b=$(first_asked b)
(( ${b:-0} > 0 && a * 2 >= b * 3 )) || fail "the deficit was not split by resident memory: the 256 MiB app was first asked for ${a:-nothing} MiB, the 128 MiB one for ${b:-nothing} MiB"
pass "split 2:1 by resident memory: first asked for $a and $b MiB"

for p in "$A_PID" "$B_PID"; do
  kill -USR1 "$p"
  rc=0
  wait "$p" || rc=$?
  (( rc == 0 )) || { cat "$T_DIR/a.log" "$T_DIR/b.log"; fail "app $p failed ($rc)"; }
done
pass "every page read back holds the value written"
