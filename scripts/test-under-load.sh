#!/usr/bin/env bash
# The whole suite N times in a row (default 3) on a fresh clone of this repository's HEAD, with a CPU hog
# (`stress-ng --cpu 1`) running beside it: the suite must not depend on a quiet machine. As root on Debian 12.
# Prints one line per run (result and duration); stops at the first failure. Logs in $OUT (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=${OUT:-/tmp}/usbd-under-load.$$
command -v stress-ng >/dev/null || { apt-get update -q && apt-get install -y -q stress-ng; }
mkdir -p "$out"
git clone -q . "$out/clone"
echo "test-under-load: $(git -C "$out/clone" rev-parse --short HEAD), $runs runs, logs in $out"
stress-ng --cpu 1 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT
for i in $(seq 1 "$runs"); do
  rm -rf "$out/clone/build" "$out/clone/build-asan"
  t0=$SECONDS
  if (cd "$out/clone" && CI=true .ci/run) >"$out/run$i.log" 2>&1; then rc=pass; else rc=FAIL; fi
  echo "run $i: $rc in $((SECONDS - t0)) s; $(grep -E 'tests passed|test.sh:' "$out/run$i.log" | tr '\n' ' ')"
  [[ $rc == pass ]] || exit 1
done
