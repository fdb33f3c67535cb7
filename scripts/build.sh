#!/usr/bin/env bash
# Builds usbd into ./build (or $1) with warnings as errors. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DUSBD_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
