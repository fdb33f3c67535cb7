#!/usr/bin/env bash
# While the app grows, the harvester adds no swap; once the app is stable again, harvesting resumes.
# The app grows to 512 MiB at 32 MiB/s and holds; on SIGUSR1 it grows to 1 GiB at 32 MiB/s and holds. Target 384 MiB.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root_v1

STEP=$((32 << 20))
make_swap 1536
mkcg "$T_NAME" $((3 << 30))
"$HARVEST_DRIVE" --target 384M --step-max 32M --journal "$T_DIR/journal" "$T_NAME" >"$T_DIR/drive.out" \
  2>"$T_DIR/drive.err" &
T_PIDS+=($!)
run_in_cg "$T_NAME" "$HARVEST_APP" --hot 64M --rate 32M --status "$T_DIR/app" 512M 1G &
T_PIDS+=($!)
wait_for 30 "the app to start" test -f "$T_DIR/app"
APP=$(cat "$CGV1/$T_NAME/cgroup.procs")   # the app itself, not the shell that started it
[[ $APP =~ ^[0-9]+$ ]] || fail "expected one process in the app cgroup, found: $APP"

# growing_swap_max: samples the cgroup's swap while the app says it is growing; prints the largest value.
growing_swap_max() {
  local s max=0
  while [[ $(app_field "$T_DIR/app" growing) == 1 ]]; do
    s=$(cg_swap "$T_NAME")
    (( s > max )) && max=$s
    sleep 0.5
  done
  echo "$max"
}

# 1. Growth from nothing to 512 MiB (16 s, longer than the 10 s window): no swap at all.
max=$(growing_swap_max)
(( max == 0 )) || fail "swap reached $(mib "$max") MiB while the app grew to 512 MiB"
grep -q '^state=growing' "$T_DIR/drive.out" || fail "the harvester never reported the growth: $(cat "$T_DIR/drive.out")"

# 2. Stable: harvesting starts.
wait_for 120 "harvesting to start on the stable app" bash -c "(( \$(awk '\$1 == \"total_swap\" { print \$2 }' \
  $CGV1/$T_NAME/memory.stat) >= 64 << 20 ))"

# 3. Growth to 1 GiB: at most the step that may already be under way when it starts.
kill -USR1 "$APP"
wait_for 30 "the app to grow again" bash -c "[[ \$(tr ' ' '\n' < $T_DIR/app | grep ^phase=) == phase=1 ]]"
lines_before=$(wc -l < "$T_DIR/drive.out")
s0=$(cg_swap "$T_NAME")
max=$(growing_swap_max)
(( max <= s0 + STEP + (8 << 20) )) || fail "swap went from $(mib "$s0") to $(mib "$max") MiB while the app grew"
tail -n +"$lines_before" "$T_DIR/drive.out" | grep -q '^state=growing' || fail "the harvester did not see the growth"

# 4. Stable again: harvesting resumes up to the target.
wait_for 240 "swap to reach 384 MiB - 64 MiB" bash -c "(( \$(awk '\$1 == \"total_swap\" { print \$2 }' \
  $CGV1/$T_NAME/memory.stat) >= (384 - 64) << 20 ))"
wait_for 120 "the harvester to reach the target" bash -c "tail -n 1 $T_DIR/drive.out | grep -q '^state=at_target'"
s=$(cg_swap "$T_NAME")
in_band "$s" $(((384 - 64) << 20)) $(((384 + 64) << 20)) || fail "swap $(mib "$s") MiB is not 384 +- 64 MiB"
[[ $(cg_get "$T_NAME" memory.limit_in_bytes) == $((3 << 30)) ]] || fail "limit not restored"
pass "no swap added while growing (from $(mib "$s0") MiB, at most $(mib "$max") MiB); then $(mib "$s") MiB"
