#!/usr/bin/env bash
# The demo, as root on Debian 12: installs what it needs, builds usbd, makes a 2 GiB domain cgroup with an
# app cgroup inside, starts usbd with a 1 GiB lower bound, runs a workload that grows and shrinks, and shows
# the balloon following it on a live timeline. Everything it made is removed at the end (or on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null

CG=/sys/fs/cgroup/memory
DOMAIN=usbd-demo-$$
APP=$DOMAIN/app
LOG=$(mktemp /tmp/usbd-demo.XXXXXX.log)
[[ -f $CG/cgroup.event_control ]] || { echo "demo: needs the cgroup v1 memory controller at $CG" >&2; exit 1; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "$CG/$APP" "$CG/$DOMAIN/usbd-balloon" "$CG/$DOMAIN"; do
    [[ -d $d ]] || continue
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
  echo "demo: cleaned up (usbd's log: $LOG)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$CG/$DOMAIN" "$CG/$APP"
echo $((2 << 30)) > "$CG/$DOMAIN/memory.limit_in_bytes"
build/usbd --domain "$DOMAIN" "$APP" --grab-lower 1G --api-sock off --spot-listen off --status-interval 0 \
  2>"$LOG" &
pids+=($!)

# The producer's app: idle, then grows in steps to 1.3 GiB (more than the domain has free beside the balloon),
# then shrinks back.
bash -c 'echo $$ > "$0/cgroup.procs"; sleep 4; exec "$1" steps 300M:3 700M:3 1000M:3 1300M:4 600M:3 100M:4' \
  "$CG/$APP" "$PWD/build/helpers/workload" >/dev/null &
wl=$!
pids+=($wl)

mib() { echo $(( $1 >> 20 )); }
bar() { local n=$(( $1 >> 26 )) c=$2; printf "%${n}s" "" | tr ' ' "$c"; }
echo "domain $DOMAIN: 2048 MiB; usbd inflates toward 1024 MiB and gives memory back as the app grows"
printf "%6s %9s %9s %9s  %s\n" "time" "app MiB" "grab MiB" "free MiB" "(#: app, =: balloon, each mark 64 MiB)"
start=$SECONDS
while kill -0 "$wl" 2>/dev/null; do
  app=$(cat "$CG/$APP/memory.usage_in_bytes")
  grab=$(cat "$CG/$DOMAIN/usbd-balloon/memory.usage_in_bytes" 2>/dev/null || echo 0)
  used=$(cat "$CG/$DOMAIN/memory.usage_in_bytes")
  inact=$(awk '$1 == "total_inactive_file" {print $2}' "$CG/$DOMAIN/memory.stat")
  free=$(( (2 << 30) - used + inact ))
  printf "%5ds %9d %9d %9d  %s%s\n" $((SECONDS - start)) "$(mib "$app")" "$(mib "$grab")" "$(mib "$free")" \
    "$(bar "$app" '#')" "$(bar "$grab" '=')"
  sleep 1
done
echo
echo "usbd's decisions:"
grep -E "deflating|worker" "$LOG" | sed 's/^[0-9.]* //' | head -n 20
