#!/usr/bin/env bash
# The registry's use of the page-out rule (policy/pageout.h), with readings it is given (root, cgroup v1): memory.stat
# can show a page-out up to 2 s late, so for 3 s after an honoured page-out the registry counts what it freed.
# tests/helpers/registry_probe runs the registry itself (src/apps) and a real libusbd app it forks, and gives the
# registry the same reading, 40 MiB under the 128 MiB threshold, again and again: the app is signalled and pages
# out 56 MiB; 300 ms later no SIGBALLOON and a page-out it asks for is refused (free above the threshold); after
# the 3 s, a SIGBALLOON again. Were the counters' lag not covered, the app would be asked for the same deficit a
# second time (lib_deficit.sh shows what that does with real counters, intermittently; this is deterministic).
# No swap is needed: process_madvise reports the bytes it advised whether or not they could be swapped.
source "$(dirname "$0")/lib.sh"
require_root_v1

DOM=$T_NAME
APP=$DOM/app
mkcg "$DOM" $((1 << 30))
mkcg "$APP"
swappiness_before=$(cg_get "$DOM" memory.swappiness):$(cg_get "$APP" memory.swappiness)

set +e
run_in_cg "$APP" "$HELPERS/registry_probe" "$DOM" "$APP" "$T_DIR/apps.sock" >"$T_DIR/probe.log" 2>&1
rc=$?
set -e
cat "$T_DIR/probe.log"
(( rc == 0 )) || fail "registry_probe exited $rc"
pass "a page-out is counted for 3 s whatever the counters say: no second SIGBALLOON, a page-out refused, then signalled again"

[[ $(cg_get "$DOM" memory.swappiness):$(cg_get "$APP" memory.swappiness) == "$swappiness_before" ]] ||
  fail "memory.swappiness not restored: $(cg_get "$DOM" memory.swappiness):$(cg_get "$APP" memory.swappiness)"
[[ ! -d $CG/$APP/usbd-registered && ! -e $T_DIR/apps.sock ]] || fail "the registry left its cgroup or socket"
pass "registry closed: swappiness restored, cgroup and socket removed"
