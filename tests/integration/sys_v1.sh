#!/bin/bash
# sys_v1: src/sys's cgroup interface against the real cgroup v1 memory controller, through helpers/cg_probe:
# usage-threshold, pressure and OOM notifications on a 256 MiB cgroup, limits and stats read back from the
# kernel, create/resolve/move/remove, and the refusal of ".." and missing names. The cgroups live under
# usbd-test-<pid>-sys_v1 and are removed on any exit (lib.sh's trap).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_v1

PROBE=$HELPERS/cg_probe
[[ -x $PROBE ]] || fail "missing $PROBE (build the cg_probe target)"

mkcg "$T_NAME"
"$PROBE" events "$T_NAME" || fail "cg_probe events"
"$PROBE" lifecycle "$T_NAME" || fail "cg_probe lifecycle"
# The probe removed what it made; only the parent the script made is left.
[[ -z $(find "$CGV1/$T_NAME" -mindepth 1 -type d) ]] || fail "cg_probe left cgroups behind"
pass "sys_v1"
