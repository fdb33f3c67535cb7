#!/usr/bin/env bash
# --metrics-listen against a real usbd: GET /metrics over TCP gives the control API's Prometheus text (spot and
# statistics included), promtool finds nothing to complain about, nothing else of the API is reachable there, and
# every metric the Grafana dashboard (packaging/grafana-usbd.json) queries exists.
source "$(dirname "$0")/lib.sh"
require_root_v1
for t in curl jq promtool; do command -v $t >/dev/null || skip "needs $t"; done
DASH=$(cd "$(dirname "$0")/../.." && pwd)/packaging/grafana-usbd.json

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
mport=$(free_port) sport=$(free_port)
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen "127.0.0.1:$sport" \
  --metrics-listen "127.0.0.1:$mport"
wait_for 10 "the API socket" test -S "$sock"
url=http://127.0.0.1:$mport
# Statistics are switched on as Firecracker does, by the balloon's PUT.
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT http://localhost/balloon \
  -d '{"amount_mib": 64, "deflate_on_oom": true, "stats_polling_interval_s": 1}')
[[ $code == 204 ]] || fail "PUT /balloon with statistics: HTTP $code"
wait_for 10 "the spot metrics" bash -c "curl -sf $url/metrics | grep -q '^usbd_spot_tenant_keys{tenant=\"default\"} '"

curl -sf "$url/metrics" >"$T_DIR/metrics" || fail "GET /metrics over TCP failed"
promtool check metrics <"$T_DIR/metrics" >"$T_DIR/promtool.log" 2>&1 || fail "promtool: $(cat "$T_DIR/promtool.log")"
[[ ! -s $T_DIR/promtool.log ]] || fail "promtool complains: $(cat "$T_DIR/promtool.log")"
for m in usbd_grab_bytes usbd_spot_used_bytes usbd_spot_keys usbd_spot_evictions_total \
         usbd_spot_deflation_losses_total usbd_spot_clients usbd_domain_swap_in_bytes_total; do
  grep -q "^# HELP $m " "$T_DIR/metrics" || fail "no $m with HELP in: $(cat "$T_DIR/metrics")"
done
grep -q '^# HELP usbd_domain_oom_kills_total .*machine-wide' "$T_DIR/metrics" || fail "machine-wide counters must say so"
# The same text as the control API's /metrics (the values move: compare the names).
diff <(grep '^# TYPE' "$T_DIR/metrics") \
     <(curl -sf --unix-socket "$sock" http://localhost/metrics | grep '^# TYPE') || fail "TCP and API metrics differ"
echo "ok: /metrics over TCP, promtool clean"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "$url/usbd/status") == 404 ]] || fail "/usbd/status over TCP: $(code "$url/usbd/status")"
[[ $(code "$url/balloon") == 404 ]] || fail "/balloon over TCP"
[[ $(code -X PATCH -d '{"grab_lower_mib": 1}' "$url/usbd/targets") == 404 ]] || fail "PATCH /usbd/targets over TCP"
[[ $(code -X POST -d x "$url/metrics") == 405 ]] || fail "POST /metrics over TCP: $(code -X POST -d x "$url/metrics")"
[[ $(code -I "$url/metrics") == 200 ]] || fail "HEAD /metrics"
[[ $(curl -sf --unix-socket "$sock" http://localhost/usbd/targets | jq .grab_lower_mib) == 64 ]] || fail "the TCP endpoint changed a target"
# A client that says nothing is closed after the timeout, and scrapes go on meanwhile.
exec 7<>"/dev/tcp/127.0.0.1/$mport"
curl -sf "$url/metrics" >/dev/null || fail "a silent client blocked the scrape"
timeout 30 cat <&7 >/dev/null || fail "a silent client was not closed"
exec 7<&-
echo "ok: read-only, 404 elsewhere, silent clients closed"

# The dashboard: valid JSON, and every metric it queries is in /metrics.
jq -e '.panels | length > 0' "$DASH" >/dev/null || fail "$DASH is not a dashboard"
names=$(jq -r '.. | .expr? // empty, .definition? // empty' "$DASH" | grep -oE 'usbd_[a-z_]+' | sort -u)
[[ -n $names ]] || fail "the dashboard queries no usbd metric"
for m in $names; do
  grep -qE "^$m(\{| )" "$T_DIR/metrics" || fail "the dashboard queries $m, which /metrics lacks"
done
pass "metrics over TCP, promtool clean, dashboard names exist"
