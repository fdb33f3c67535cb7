#!/usr/bin/env bash
# The spot store's consumers cannot grow the real balloon worker past its budget: 16 clients each holding an
# incomplete '*1048576' request with 2 MiB arguments, and an idle client that once sent a 1M-argument EXISTS.
# All client buffers come out of one budget, a share of the spot capacity (INFO spot_clients_budget): the worker's
# RSS grows by at most that, the clients over it get -OOM and are closed, the balloon keeps its chunks, and an idle
# client gives its big buffers back.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v redis-cli >/dev/null || skip "needs redis-tools"
flood=$(dirname "$0")/../helpers/spot_flood.py

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
port=$(free_port)
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 256M --spot-listen "127.0.0.1:$port" --api-sock off
info() { redis-cli -p "$port" INFO 2>/dev/null | tr -d '\r' | awk -F: -v k="$1" '$1 == k {print $2}'; }
ready() { [[ $(info spot_capacity) -ge $((256 << 20)) ]] 2>/dev/null; }
wait_for 60 "the spot store to hold 256 MiB" ready
worker=$(cat "$CGV1/$T_NAME/usbd-balloon/cgroup.procs")
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$worker/status"; }
peak() { awk '/^VmHWM/ {print $2 * 1024}' "/proc/$worker/status"; }
rss0=$(rss)

# 16 clients, up to 48 MiB of arguments each: 768 MiB if nothing stopped them.
exec 7> >(python3 "$flood" "$port" big 16 48 > "$T_DIR/big")
wait_for 150 "the flood to finish sending" bash -c "[[ \$(wc -l < '$T_DIR/big') -eq 16 ]]"
rss1=$(peak)
budget=$(info spot_clients_budget)
capacity=$(info spot_capacity)
oom=$(grep -c "OOM client memory budget exhausted" "$T_DIR/big" || true)
echo "16 flooding clients: worker RSS $(mib "$rss0") MiB, peak $(mib "$rss1") MiB, budget $(mib "${budget:-0}") MiB," \
  "$oom clients answered -OOM, spot capacity $(mib "${capacity:-0}") MiB"
exec 7>&-
slack=$((16 << 20))
grep -q __asan_init "$USBD" && slack=$((320 << 20))  # ASan's quarantine holds freed memory back (256 MiB)
(( rss1 - rss0 <= ${budget:-$((64 << 20))} + slack )) || fail "the worker grew by $(mib $((rss1 - rss0))) MiB, over its budget"
[[ -n $budget ]] || fail "INFO has no spot_clients_budget"
(( oom > 0 )) || fail "no flooding client was told -OOM: $(sort "$T_DIR/big" | uniq -c | head -3)"
(( capacity >= 256 << 20 )) || fail "the balloon was deflated by consumers: spot capacity $(mib "$capacity") MiB"
wait_for 30 "the flooders' buffers to be given back" bash -c \
  "(( \$(redis-cli -p $port INFO memory | tr -d '\r' | awk -F: '\$1 == \"spot_clients_memory\" {print \$2}') < 1 << 20 ))"

rss2=$(rss)
# One client sends EXISTS with 1,048,575 keys, then stays connected and idle.
exec 7> >(python3 "$flood" "$port" exists 1048575 > "$T_DIR/exists")
wait_for 60 "the EXISTS reply" grep -q . "$T_DIR/exists"
[[ $(cat "$T_DIR/exists") == ":0" ]] || fail "EXISTS answered '$(cat "$T_DIR/exists")'"
held=$(info spot_clients_memory)
clients=$(info connected_clients)
rss3=$(rss)
echo "an idle client after a 1M-argument EXISTS: client buffers hold $held bytes ($clients clients connected)," \
  "worker RSS $(mib "$rss2") -> $(mib "$rss3") MiB"
exec 7>&-
(( clients >= 2 )) || fail "the idle client is gone ($clients clients)"
(( rss3 - rss2 < slack / 2 )) || fail "an idle client keeps the worker $(mib $((rss3 - rss2))) MiB larger"
(( held < 1 << 20 )) || fail "an idle client's buffers still hold $held bytes"
[[ $(redis-cli -p "$port" SET k v) == OK ]] || fail "the store stopped answering"
pass "consumers held at most the budget ($(mib "$budget") MiB): RSS +$(mib $((rss1 - rss0))) MiB, balloon kept"
