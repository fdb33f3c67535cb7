#!/usr/bin/env bash
# Core: the worker's reflex. In a 2 GiB domain with a 1 GiB balloon the controller hands the usage threshold at the
# headroom's edge to the worker; an app that grows across the edge makes the worker release at once, on its own
# (the log's "by the worker's reflex" line), and the controller then releases what else is needed to restore the headroom, re-arms
# the reflex, and re-arms it again for a restarted worker. Functional: nothing here is timed.
# backends: v1 (v2 has no usage thresholds; pressure serves there)
source "$(dirname "$0")/lib.sh"
require_root_v1 "usage-threshold eventfds"

mkcg "$T_NAME" $((2048 << 20))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 1G --api-sock off --spot-listen off \
  --worker-cooldown-ms 100 -v
balloon=$T_NAME/usbd-balloon
headroom=$((512 << 20))

grab_at_least() { (( $(cg_usage "$balloon") >= 1 << 30 )); }
armed() { (( $(grep -c "usbd-worker: debug: reflex armed" "$T_DIR/usbd.log") >= $1 )); }
wait_for 30 "the balloon to reach its 1 GiB lower bound" grab_at_least
wait_for 30 "the worker's reflex to be armed" armed 1
before=$(cg_usage "$balloon")

# 700 MiB beside 1 GiB of balloon in 2 GiB: free memory falls well under the 512 MiB headroom.
spawn_in_cg "$T_NAME/app" "$HELPERS/workload" hold 700M > "$T_DIR/app.out"
app=$!
T_PIDS+=("$app")
reflexed() { grep -q "deflating .* by the worker's reflex" "$T_DIR/usbd.log"; }
wait_for 30 "the worker's reflex to release" reflexed
free_restored() {
  local free
  free=$(( $(cg_limit "$T_NAME") - $(cg_usage "$T_NAME") + $(cg_stat "$T_NAME" total_inactive_file) ))
  (( free >= headroom ))
}
wait_for 30 "free memory back above the headroom" free_restored
kill -0 "$app" || fail "the app died"
(( $(cg_oom_kills "$T_NAME/app") == 0 )) || fail "the app cgroup saw OOM kills"
grep -E "reflex|deflating" "$T_DIR/usbd.log" | head -n 10
released=$(( before - $(cg_usage "$balloon") ))
(( released >= 128 << 20 )) || fail "the balloon released only $(mib "$released") MiB"
# The controller followed: it counted the reflex, re-armed it (a second "reflex armed") once free memory was back.
wait_for 30 "the reflex to be re-armed after it fired" armed 2

# A worker that dies takes its threshold with it: the controller watches the edge until the new worker is armed.
worker=$(grep -o "balloon worker [0-9]* started" "$T_DIR/usbd.log" | tail -n 1 | awk '{print $3}')
kill -9 "$worker"
restarted() { (( $(grep -c "balloon worker [0-9]* started" "$T_DIR/usbd.log") >= 2 )); }
wait_for 30 "the worker to be restarted" restarted
armed_since_restart() {
  awk '/balloon worker [0-9]+ started/ { r = NR } /usbd-worker: debug: reflex armed/ { a = NR } END { exit !(a > r) }' \
    "$T_DIR/usbd.log"
}
wait_for 60 "the restarted worker's reflex to be armed" armed_since_restart
kill -0 "$USBD_PID" || fail "usbd died"
pass "the worker's reflex released at the headroom's edge, the controller followed, and a new worker was re-armed"
