#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12 (as root). Idempotent: does nothing when
# everything is installed already.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev git curl procps util-linux iproute2
      libcmocka-dev libjansson-dev libncurses-dev
      redis-tools redis-server cgroup-tools tmux prometheus nutcracker netcat-openbsd jq python3 qemu-system-x86
      gnuplot-nox debhelper lintian fakeroot)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps Debian from starting the redis-server and prometheus services it installs: tests start
# their own instances on private ports.
policy=/usr/sbin/policy-rc.d
[[ -e $policy ]] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; trap 'rm -f "$policy"' EXIT; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
