#!/usr/bin/env bash
# Soak (not part of the test suite): SOAK_SECONDS (default 1800) of a growing and shrinking producer, API churn and
# spot consumers beside a real usbd, with an invariant checker that stops at the first violation:
#   - the producer's app is never OOM-killed (memory.oom_control of the app cgroup) and usbd never dies;
#   - every API request succeeds;
#   - no consumer ever reads a corrupt or stale value (tests/helpers/spot_churn checks each reply, exits 1 if not);
#   - the controller's RSS is flat: after a warm-up (SOAK_WARMUP, default 60 s) it grows by at most
#     SOAK_RSS_SLACK_KIB (default 1024).
# Prints the figures at the end. As root on the cgroup v1 machine, after scripts/build.sh (BUILD, default build).
#   SOAK_SECONDS=180 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export USBD_BUILD=${BUILD:-$PWD/build}
source tests/integration/lib.sh
require_root_v1
SECS=${SOAK_SECONDS:-1800}
WARMUP=${SOAK_WARMUP:-60}
RSS_SLACK_KIB=${SOAK_RSS_SLACK_KIB:-1024}
(( WARMUP < SECS )) || WARMUP=$((SECS / 3))
PORT=$((20000 + $$ % 10000))
sock=$T_DIR/api.sock

mkcg "$T_NAME" $((4 << 30))
mkcg "$T_NAME/app"
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 2G --api-sock "$sock" --spot-listen "127.0.0.1:$PORT" \
  --worker-cooldown-ms 1000 --status-interval 30
api() { curl -sf --max-time 30 --unix-socket "$sock" "$@"; }
wait_for 30 "usbd's API" api -o /dev/null http://localhost/balloon
wait_for 30 "the spot endpoint" bash -c "redis-cli -p $PORT PING | grep -q PONG"
# As in Firecracker, statistics are switched on by PUT /balloon (PATCH only changes a non-zero interval); the
# amount is --grab-lower's, which the balloon holds anyway.
api -X PUT http://localhost/balloon -d '{"amount_mib": 2048, "deflate_on_oom": true, "stats_polling_interval_s": 1}' ||
  fail "cannot turn statistics on"
end=$((SECONDS + SECS))

# The producer: random phases between 256 MiB and 2.5 GiB in the app cgroup, each held 5-20 s.
producer() {
  local cycles=0
  while ((SECONDS < end)); do
    local steps=() i
    for i in 1 2 3 4; do steps+=("$((256 + RANDOM % 2304))M:$((5 + RANDOM % 16))"); done
    local t0=$SECONDS
    # Each phase's start, seconds into the cycle: the gap beyond the previous phase's hold is the time the
    # producer spent getting its memory.
    run_in_cg "$T_NAME/app" stdbuf -oL "$HELPERS/workload" steps "${steps[@]}" |
      while read -r line; do echo "  +$((SECONDS - t0)) s $line"; done || { echo "producer failed"; exit 1; }
    cycles=$((cycles + 1))
    echo "$cycles" > "$T_DIR/producer.cycles"
    echo "cycle $cycles: ${steps[*]} took $((SECONDS - t0)) s"
  done
}

# API churn: the coordinator moves the lower bound and reads every endpoint, twice a second.
churn() {
  local n=0
  while ((SECONDS < end)); do
    api -o /dev/null -X PATCH http://localhost/usbd/targets -d "{\"grab_lower_mib\": $((512 + RANDOM % 1536))}" &&
      api -o /dev/null http://localhost/balloon/statistics && api -o /dev/null http://localhost/usbd/status &&
      api -o /dev/null http://localhost/metrics && api -o /dev/null http://localhost/balloon ||
      { echo "API request failed after $n"; exit 1; }
    n=$((n + 5))
    echo "$n" > "$T_DIR/api.requests"
    sleep 0.5
  done
}

# Consumers: two verifying writers, each run a batch at a time with a fresh seed and key prefix.
consumer() {
  local id=$1 runs=0 ops=0 out
  while ((SECONDS < end)); do
    # A fresh prefix per run: spot_churn only knows the keys it wrote itself.
    out=$("$HELPERS/spot_churn" "$PORT" "soak$id-$runs" 20000 2000 $((RANDOM + 1))) || { echo "consumer $id: $out"; exit 1; }
    runs=$((runs + 1))
    ops=$((ops + $(grep -oE 'ops=[0-9]+' <<<"$out" | cut -d= -f2)))
    echo "$runs $ops $out" > "$T_DIR/consumer$id"
  done
}

producer > "$T_DIR/producer.log" 2>&1 & T_PIDS+=($!); jobs_pids=($!)
churn > "$T_DIR/churn.log" 2>&1 & T_PIDS+=($!); jobs_pids+=($!)
consumer 1 > "$T_DIR/consumer1.log" 2>&1 & T_PIDS+=($!); jobs_pids+=($!)
consumer 2 > "$T_DIR/consumer2.log" 2>&1 & T_PIDS+=($!); jobs_pids+=($!)

rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$USBD_PID/status"; }
start_s=$SECONDS
rss_start=$(rss_kib)
rss_warm=
rss_max=0
while ((SECONDS < end)); do
  kill -0 "$USBD_PID" 2>/dev/null || fail "usbd died"
  oom=$(awk '$1 == "oom_kill" { print $2 }' "$CGV1/$T_NAME/app/memory.oom_control")
  (( oom == 0 )) || fail "the producer's app was OOM-killed ($oom)"
  for p in "${jobs_pids[@]}"; do
    kill -0 "$p" 2>/dev/null || ((SECONDS >= end - 1)) ||
      fail "a load process stopped early: $(cat "$T_DIR"/producer.log "$T_DIR"/churn.log "$T_DIR"/consumer*.log)"
  done
  r=$(rss_kib)
  if [[ -z $rss_warm ]] && ((SECONDS - start_s >= WARMUP)); then rss_warm=$r; fi
  if [[ -n $rss_warm ]] && (( r > rss_max )); then rss_max=$r; fi
  sleep 2
done
for p in "${jobs_pids[@]}"; do
  wait "$p" || fail "a load process failed: $(cat "$T_DIR"/producer.log "$T_DIR"/churn.log "$T_DIR"/consumer*.log)"
done
kill -0 "$USBD_PID" || fail "usbd died"
rss_end=$(rss_kib)
status=$(api http://localhost/usbd/status)
echo "soak: ${SECS} s, domain 4 GiB, lower bound churned 512 MiB..2 GiB, producer 256 MiB..2.5 GiB"
echo "producer cycles (4 phases each): $(cat "$T_DIR/producer.cycles" 2>/dev/null || echo 0)"
cat "$T_DIR/producer.log"
echo "API requests: $(cat "$T_DIR/api.requests" 2>/dev/null || echo 0), all succeeded"
for id in 1 2; do echo "consumer $id: runs, ops, last run: $(cat "$T_DIR/consumer$id" 2>/dev/null)"; done
echo "app OOM kills: 0; worker restarts: $(grep -c 'balloon worker died' "$T_DIR/usbd.log" || true)"
echo "deflations logged: $(grep -c 'deflating' "$T_DIR/usbd.log" || true)"
echo "usbd RSS KiB: start $rss_start, after warm-up ${rss_warm:-?}, max after warm-up $rss_max, end $rss_end"
echo "final status: $status"
(( rss_max - rss_warm <= RSS_SLACK_KIB )) || fail "usbd's RSS grew by $((rss_max - rss_warm)) KiB after the warm-up"
pass "soak of ${SECS} s: every invariant held"
