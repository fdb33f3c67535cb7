#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what it needs, builds, runs the unit and integration
# tests (the cgroup v2 ones in a Debian 12 guest it boots), then runs them again under AddressSanitizer +
# UndefinedBehaviorSanitizer (leaks are failures). Each part's duration is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
scripts/deps.sh
scripts/build.sh build
t1=$SECONDS
ctest --test-dir build --output-on-failure --timeout 600
t2=$SECONDS
scripts/build.sh build-asan -DUSBD_SANITIZE=ON -DCMAKE_C_COMPILER=clang
t3=$SECONDS
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 600
t4=$SECONDS
echo "test.sh: deps and build $((t1 - t0)) s, plain suite $((t2 - t1)) s, sanitizer build $((t3 - t2)) s," \
  "sanitizer suite $((t4 - t3)) s, total $((t4 - t0)) s"
