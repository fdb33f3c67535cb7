#!/usr/bin/env bash
# Spot memory pool: three usbd producers behind nutcracker (twemproxy) with ketama hashing. A client sees one
# store; when one producer deflates fully, exactly the keys that producer held are lost (misses, never wrong
# values) and the other producers' keys all survive.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v nutcracker >/dev/null || skip "needs nutcracker (Debian package nutcracker)"
command -v redis-cli >/dev/null || skip "needs redis-cli"

base=$((20000 + $$ % 10000))  # below the ephemeral port range (32768+), so no client socket holds it
proxy=$((base + 10))
pids=()
for i in 1 2 3; do
  mkcg "$T_NAME-$i" $((512 << 20))
  mkcg "$T_NAME-$i/app"
  "$USBD" "${USBD_PRIVATE[@]}" --state-file off --domain "$T_NAME-$i" "$T_NAME-$i/app" --grab-lower 128M --spot-listen "127.0.0.1:$((base + i))" \
    --api-sock "$T_DIR/api$i.sock" --apps-sock off --harvest-journal "$T_DIR/journal$i" --status-interval 0 \
    2>"$T_DIR/usbd$i.log" &
  T_PIDS+=($!)
done
for i in 1 2 3; do
  ready() { [[ $(timeout 5 redis-cli -p "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: '$1 == "spot_capacity" {print $2}') -ge $((128 << 20)) ]]; }
  wait_for 30 "producer $i to serve 128 MiB of spot memory" ready $((base + i))
done

cat > "$T_DIR/nutcracker.yml" <<YML
pool:
  listen: 127.0.0.1:$proxy
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  timeout: 2000
  servers:
   - 127.0.0.1:$((base + 1)):1 p1
   - 127.0.0.1:$((base + 2)):1 p2
   - 127.0.0.1:$((base + 3)):1 p3
YML
nutcracker -t -c "$T_DIR/nutcracker.yml" >/dev/null 2>&1 || fail "nutcracker refused its configuration"
nutcracker -c "$T_DIR/nutcracker.yml" -o "$T_DIR/nutcracker.log" &
T_PIDS+=($!)
wait_for 10 "nutcracker to listen" bash -c "timeout 5 redis-cli -p $proxy PING 2>/dev/null | grep -q PONG"

N=3000
# Every client call is bounded: a stuck peer must fail this test with a message, not hang it.
for k in $(seq $N); do echo "SET key:$k value-$k-$((k * 7919))"; done | timeout 120 redis-cli -p $proxy > "$T_DIR/set.out" ||
  fail "SETs through the proxy did not finish"
[[ $(grep -c '^OK$' "$T_DIR/set.out") == "$N" ]] || fail "not every SET through the proxy succeeded"
held=()
for i in 1 2 3; do held[$i]=$(timeout 10 redis-cli -p $((base + i)) DBSIZE); done
echo "keys per producer: ${held[1]} ${held[2]} ${held[3]}"
(( held[1] + held[2] + held[3] == N )) || fail "the producers hold ${held[*]} keys, not $N"
for i in 1 2 3; do (( held[i] > N / 10 )) || fail "ketama left producer $i almost empty (${held[i]})"; done

# Producer 2 takes all its memory back.
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' --unix-socket "$T_DIR/api2.sock" -X PUT http://localhost/balloon \
  -d '{"amount_mib": 0, "deflate_on_oom": true}')
[[ $code == 204 ]] || fail "PUT /balloon amount 0 answered $code"
empty() { [[ $(timeout 5 redis-cli -p "$((base + 2))" INFO | tr -d '\r' | awk -F: '$1 == "spot_capacity" {print $2}') == 0 ]]; }
wait_for 10 "producer 2 to deflate fully" empty

for k in $(seq $N); do echo "GET key:$k"; done | timeout 120 redis-cli -p $proxy > "$T_DIR/get.out" ||
  fail "GETs through the proxy did not finish"
hits=0 misses=0 wrong=0 k=0
while IFS= read -r line; do
  k=$((k + 1))
  if [[ -z $line ]]; then misses=$((misses + 1))
  elif [[ $line == "value-$k-$((k * 7919))" ]]; then hits=$((hits + 1))
  else wrong=$((wrong + 1)); fi
done < "$T_DIR/get.out"
echo "after producer 2 deflated: $hits hits, $misses misses, $wrong wrong"
(( wrong == 0 )) || fail "$wrong GETs returned a wrong value"
(( misses == held[2] )) || fail "lost $misses keys, but producer 2 held ${held[2]}"
(( hits == held[1] + held[3] )) || fail "only $hits of the other producers' $((held[1] + held[3])) keys survived"
pass "three producers behind nutcracker: one deflated fully and only its share of keys was lost"
