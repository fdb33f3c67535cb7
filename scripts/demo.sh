#!/usr/bin/env bash
# The demo, as root on Debian 12 (cgroup v1 or v2, with or without systemd): installs what it needs, builds usbd,
# makes a 2 GiB domain cgroup with an app cgroup inside, starts usbd with a 1 GiB lower bound, runs a workload
# that grows and shrinks, shows the balloon following it on a live timeline (read from usbd's API with usbdctl),
# and ends by drawing the timeline into build/usbd-demo.png. Everything it made is removed at the end (or on
# Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null

# The hierarchy this host has: the v1 memory controller, or cgroup v2 with memory enabled at its root.
if [[ -f /sys/fs/cgroup/memory/cgroup.event_control ]]; then
  CG=/sys/fs/cgroup/memory V=1
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  CG=/sys/fs/cgroup V=2
else
  echo "demo: needs the memory controller (cgroup v1 at /sys/fs/cgroup/memory, or cgroup v2)" >&2
  exit 1
fi
DOMAIN=usbd-demo-$$
APP=$DOMAIN/app
TMP=$(mktemp -d /tmp/usbd-demo.XXXXXX)
LOG=$TMP/usbd.log
SOCK=$TMP/usbd.sock
PNG=build/usbd-demo.png
ctl() { build/usbdctl --sock "$SOCK" "$@"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "$CG/$APP" "$CG/$DOMAIN/usbd-balloon" "$CG/$DOMAIN"; do
    [[ -d $d ]] || continue
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
  cp "$LOG" build/usbd-demo.log 2>/dev/null || true
  rm -rf "$TMP"
  echo "demo: cleaned up (usbd's log: build/usbd-demo.log)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$CG/$DOMAIN"
if ((V == 1)); then
  echo $((2 << 30)) > "$CG/$DOMAIN/memory.limit_in_bytes"
else
  echo $((2 << 30)) > "$CG/$DOMAIN/memory.max"
  echo +memory > "$CG/$DOMAIN/cgroup.subtree_control"
fi
mkdir "$CG/$APP"
build/usbd --domain "$DOMAIN" "$APP" --grab-lower 1G --api-sock "$SOCK" --apps-sock off --spot-listen off \
  --harvest-journal "$TMP/harvest.journal" --status-interval 0 2>"$LOG" &
pids+=($!)
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
[[ -S $SOCK ]] || { echo "demo: usbd did not start:" >&2; cat "$LOG" >&2; exit 1; }
build/usbdctl --sock "$SOCK" record "$TMP/timeline" --interval-ms 250 --plot "$PNG" 2>>"$TMP/record.log" &
pids+=($!)
recorder=$!

# The producer's app: idle, then grows in steps to 1.3 GiB (more than the domain has free beside the balloon),
# then shrinks back.
bash -c 'echo $$ > "$0/cgroup.procs"; sleep 4; exec "$1" steps 300M:3 700M:3 1000M:3 1300M:4 600M:3 100M:4' \
  "$CG/$APP" "$PWD/build/helpers/workload" >/dev/null &
wl=$!
pids+=($wl)

mib() { echo $(( $1 >> 20 )); }
bar() { local n=$(( $1 >> 26 )) c=$2; printf "%${n}s" "" | tr ' ' "$c"; }
echo "domain $DOMAIN (cgroup v$V): 2048 MiB; usbd inflates toward 1024 MiB and gives memory back as the app grows"
printf "%6s %9s %9s %9s  %s\n" "time" "app MiB" "grab MiB" "free MiB" "(#: app, =: balloon, each mark 64 MiB)"
start=$SECONDS
while kill -0 "$wl" 2>/dev/null; do
  read -r app grab free < <(ctl --json status | jq -r '"\(.app_usage_bytes) \(.grab_bytes) \(.free_bytes)"')
  printf "%5ds %9d %9d %9d  %s%s\n" $((SECONDS - start)) "$(mib "$app")" "$(mib "$grab")" "$(mib "$free")" \
    "$(bar "$app" '#')" "$(bar "$grab" '=')"
  sleep 1
done
kill -INT "$recorder"
wait "$recorder" || { echo "demo: the picture could not be drawn:" >&2; cat "$TMP/record.log" >&2; }
echo
echo "usbd's decisions:"
grep -E "deflating|worker" "$LOG" | sed 's/^[^:]*usbd: //' | head -n 20
[[ -s $PNG ]] && echo "the timeline as a picture: $PNG (usbdctl record FILE --plot PNG draws the same from any usbd)"
