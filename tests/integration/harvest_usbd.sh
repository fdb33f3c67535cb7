#!/usr/bin/env bash
# The harvester inside the real daemon: usbd --swap-target brings a stable app's cold memory to swap and reports
# it in /usbd/status. Then usbd is killed with SIGKILL in the middle of harvesting:
#   v1: a step lowers the app's memory.limit_in_bytes under a journal; the SIGKILL leaves it lowered with the
#       journal behind, and the next usbd start finds the journal and puts the limit back;
#   v2: a step is one write to memory.reclaim, which lowers nothing and writes no journal: the SIGKILL leaves the
#       app's memory.max and memory.high as they were and no journal. A journal is still written on v2 when
#       memory.reclaim is missing (Linux < 5.19: the step lowers memory.high); one such journal, with memory.high
#       lowered, is repaired by the next start.
# (In the guest: 384 MiB app, 128 MiB target, half the swap.)
# backends: v1 v2
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/harvest_lib.bash"
require_root

APP_MIB=$(t_size 768 384) HOT=$(t_size 100M 48M) TARGET_MIB=$(t_size 256 128)
make_swap "$(t_size 1024 512)"
mkcg "$T_NAME" $(t_size $((3 << 30)) $((1 << 30)))
mkcg "$T_NAME/app"
knob=$(cg_file limit)
((CG_VER == 1)) || knob=memory.high
knob_before=$(cg_get "$T_NAME/app" "$knob")
max_before=$(cg_limit "$T_NAME/app")
run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot "$HOT" --status "$T_DIR/app" "${APP_MIB}M" &
T_PIDS+=($!)
wait_for 60 "the app to hold $APP_MIB MiB" \
  bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=$((APP_MIB << 20)) growing=0' $T_DIR/app"

sock=$T_DIR/usbd.sock
journal=$T_DIR/journal
start_usbd --domain "$T_NAME" "$T_NAME/app" --swap-target "${TARGET_MIB}M" --harvest-journal "$journal" \
  --api-sock "$sock" --spot-listen off
swapped() { (( $(cg_swap "$T_NAME/app") >= $1 << 20 )); }
wait_for 240 "the app's swap to approach the $TARGET_MIB MiB target" swapped $((TARGET_MIB * 3 / 4))
status=$(curl -s --unix-socket "$sock" http://localhost/usbd/status)
swap_bytes=$(grep -oE '"swap_bytes": *[0-9]+' <<<"$status" | grep -oE '[0-9]+$')
(( swap_bytes >= (TARGET_MIB / 2) << 20 )) || fail "/usbd/status reports swap_bytes=$swap_bytes: $status"
echo "app swap $(mib "$(cg_swap "$T_NAME/app")") MiB; /usbd/status swap_bytes $(mib "$swap_bytes") MiB"

# Crash mid-harvest: raise the target so steps continue; on v1 catch a step with its journal written, on v2 a step
# under way (the app's swap growing); SIGKILL usbd.
curl -s --unix-socket "$sock" -X PATCH http://localhost/usbd/targets \
  -d "{\"swap_target_mib\": $((APP_MIB * 9 / 10))}" >/dev/null
if ((CG_VER == 1)); then
  mid_step() { [[ -f $journal && $(cg_get "$T_NAME/app" "$knob") != "$knob_before" ]]; }
else
  swap0=$(cg_swap "$T_NAME/app")
  mid_step() { (( $(cg_swap "$T_NAME/app") > swap0 + (8 << 20) )); }
fi
# A busy machine can finish the step between the check and the kill: freeze usbd (SIGSTOP stops the harvester
# thread too), check again on the frozen state, and kill only a usbd caught mid-step.
end=$((SECONDS + 120))
until mid_step && kill -STOP "$USBD_PID" && { mid_step || ! kill -CONT "$USBD_PID"; }; do
  ((SECONDS < end)) || fail "no harvest step started within 120 s"
  sleep 0.005
done
kill -9 "$USBD_PID"
wait "$USBD_PID" 2>/dev/null || true
after=$(cg_get "$T_NAME/app" "$knob")
if ((CG_VER == 1)); then
  [[ -f $journal ]] || fail "the journal vanished with the SIGKILL"
  [[ $after != "$knob_before" ]] || fail "the crash did not catch a lowered limit"
  echo "after SIGKILL: app $knob $(mib "$after") MiB (was $(mib "$knob_before") MiB), journal present"
else
  [[ ! -e $journal ]] || fail "a memory.reclaim step left a journal: $(cat "$journal")"
  [[ $after == "$knob_before" && $(cg_limit "$T_NAME/app") == "$max_before" ]] ||
    fail "the SIGKILL left the app's memory.high $after (was $knob_before), memory.max $(cg_limit "$T_NAME/app")"
  echo "after SIGKILL mid-harvest: memory.high and memory.max untouched ($knob_before), no journal (memory.reclaim)"
  # What a memory.high step (no memory.reclaim) leaves behind when killed: a journal and memory.high lowered.
  lowered=$(( $(cg_usage "$T_NAME/app") + (64 << 20) ))
  echo "$lowered" > "$CG/$T_NAME/app/memory.high"
  printf 'usbd-harvest-journal 1\ncgroup %s\nknob high\nprevious %s\n' "$T_NAME/app" "$knob_before" > "$journal"
  echo "a memory.high step's journal, memory.high lowered to $(mib "$lowered") MiB"
fi
# The dead controller's worker dies with it (PDEATHSIG); its empty cgroup is reused by the next start.
start_usbd --domain "$T_NAME" "$T_NAME/app" --harvest-journal "$journal" --api-sock off --spot-listen off
restored() { [[ $(cg_get "$T_NAME/app" "$knob") == "$knob_before" && ! -f $journal ]]; }
wait_for 10 "the next start to restore $knob from the journal" restored
grep -q "repaired an interrupted step" "$T_DIR/usbd.log" || fail "usbd did not report the repair"
kill -0 "$USBD_PID" || fail "usbd did not keep running after the repair"
pass "usbd harvested to its swap target and repaired a step a SIGKILL interrupted (cgroup v$CG_VER, $knob)"
