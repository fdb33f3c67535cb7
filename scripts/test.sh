#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what it needs, builds, runs the unit and integration
# tests, then runs them again under AddressSanitizer + UndefinedBehaviorSanitizer (leaks are failures).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
ctest --test-dir build --output-on-failure --timeout 600
scripts/build.sh build-asan -DUSBD_SANITIZE=ON -DCMAKE_C_COMPILER=clang
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 600
