#!/usr/bin/env bash
# Spot store under load: 10,000 concurrent RESP clients (the store's default cap: 9,998 load clients beside the
# watcher and a spare), each answered, plus pipelined floods, while another client
# keeps being served and the worker's memory stays bounded.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null || skip "needs redis-tools"

(( $(ulimit -n) >= 12000 )) || ulimit -n 12000 || skip "cannot raise the open-file limit to 12000 (10,000 clients)"
mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
port=$((20000 + $$ % 10000))  # below the ephemeral port range (32768+)
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 256M --spot-listen "127.0.0.1:$port" --api-sock off
capacity() { redis-cli -p "$port" INFO 2>/dev/null | tr -d '\r' | awk -F: '$1 == "spot_capacity" {print $2}'; }
ready() { [[ $(capacity) -ge $((256 << 20)) ]] 2>/dev/null; }
wait_for 60 "the spot store to hold 256 MiB" ready
worker=$(cat "$CGV1/$T_NAME/usbd-balloon/cgroup.procs")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$worker/status"; }
rss0=$(rss)

# A watcher that must keep getting PONGs while the load runs.
( fails=0; for _ in $(seq 200); do redis-cli -p "$port" PING 2>/dev/null | grep -q PONG || fails=$((fails + 1)); sleep 0.05; done
  echo "$fails" > "$T_DIR/watch" ) &
watch=$!

python3 - "$port" 9998 > "$T_DIR/clients" <<'PY'
import selectors, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
sel, socks, ok = selectors.DefaultSelector(), [], 0
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex(("127.0.0.1", port)); socks.append(s)
    sel.register(s, selectors.EVENT_WRITE, i)
pending, got, deadline = set(range(n)), {}, time.time() + 120
while pending and time.time() < deadline:
    for key, ev in sel.select(1):
        s, i = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE:
            try:
                s.send(b"SET k%d v%d\r\nGET k%d\r\n" % (i, i, i)); sel.modify(s, selectors.EVENT_READ, i)
            except OSError:
                sel.unregister(s); pending.discard(i)
        else:
            try:
                data = s.recv(256)
            except OSError:
                data = b""
            got[i] = got.get(i, b"") + data
            want = b"+OK\r\n$%d\r\nv%d\r\n" % (len(b"v%d" % i), i)
            if got[i] == want or not data:
                ok += got[i] == want; sel.unregister(s); pending.discard(i)
print(ok)
for s in socks: s.close()
PY
served=$(cat "$T_DIR/clients")
echo "9,998 concurrent clients: $served answered exactly"
(( served == 9998 )) || fail "only $served of 9998 concurrent clients were answered"

# Pipelined floods: many commands per round trip, and one client that sends much more than it reads.
redis-benchmark -p "$port" -c 50 -n 200000 -P 64 -t set,get -d 64 -q > "$T_DIR/flood" 2>&1 || fail "redis-benchmark failed: $(cat "$T_DIR/flood")"
grep -E "requests per second" "$T_DIR/flood" | tr '\r' '\n' | grep -E "^(SET|GET)" | tail -2
python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
try:
    for _ in range(2000):
        s.sendall(b"PING\r\n" * 1000)   # never reads: the server must drop it, not buffer without bound
except OSError:
    pass
PY
wait "$watch"
fails=$(cat "$T_DIR/watch")
(( fails == 0 )) || fail "the watcher missed $fails of 200 PINGs during the load"
kill -0 "$worker" || fail "the worker died under load"
[[ $(redis-cli -p "$port" PING) == PONG ]] || fail "the store stopped answering"
rss1=$(rss)
echo "worker RSS: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB after"
# The balloon's chunks are part of the RSS; the load may add the index and client buffers, not unbounded growth.
bound=262144
grep -q __asan_init "$USBD" && bound=786432  # ASan's quarantine holds freed memory back (256 MiB by default)
(( rss1 - rss0 < bound )) || fail "the worker grew by $(((rss1 - rss0) / 1024)) MiB under load"
pass "10,000 concurrent clients (the cap) served, pipelined floods survived, the watcher never waited, memory bounded"
