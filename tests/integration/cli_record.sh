#!/usr/bin/env bash
# usbdctl record against a real usbd: samples of app usage, grab and free memory, one line each, the balloon's
# inflation visible in them; --plot draws them with gnuplot; bad names and a missing daemon are refused cleanly.
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v gnuplot >/dev/null || fail "gnuplot is missing (scripts/deps.sh installs gnuplot-nox)"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
start_usbd --domain "$T_NAME" "$T_NAME/app" --grab-lower 128M --api-sock "$sock" --spot-listen off
wait_for 10 "the API socket" test -S "$sock"

"$USBDCTL" --sock "$sock" record "$T_DIR/rec" --seconds 4 --interval-ms 200 --plot "$T_DIR/rec.png" \
  2>"$T_DIR/record.log" || fail "usbdctl record failed: $(cat "$T_DIR/record.log")"
head -1 "$T_DIR/rec" | grep -q '^# seconds app_mib grab_mib free_mib grab_lower_mib grab_upper_mib$' ||
  fail "no header: $(head -1 "$T_DIR/rec")"
lines=$(grep -vc '^#' "$T_DIR/rec")
(( lines >= 5 )) || fail "only $lines samples in 4 s at 200 ms"
awk '!/^#/ && NF != 6 { bad = 1 } END { exit bad }' "$T_DIR/rec" || fail "a sample without six fields: $(cat "$T_DIR/rec")"
awk '!/^#/ && $5 != 128 { bad = 1 } END { exit bad }' "$T_DIR/rec" || fail "the lower bound is not 128 MiB in every sample"
awk '!/^#/ && $3 >= 128 { seen = 1 } END { exit !seen }' "$T_DIR/rec" || fail "the samples never show the balloon at 128 MiB"
[[ $(head -c 8 "$T_DIR/rec.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "--plot wrote no PNG"
pass "record: $lines samples, the balloon reaching 128 MiB, drawn into a PNG"

rc=0; "$USBDCTL" --sock "$sock" record "$T_DIR/x" --seconds 1 --plot "$T_DIR/it's.png" 2>"$T_DIR/err" || rc=$?
[[ $rc == 2 ]] && grep -q "quotes" "$T_DIR/err" || fail "a quote in --plot's name: exit $rc, $(cat "$T_DIR/err")"
rc=0; "$USBDCTL" --sock "$T_DIR/nobody.sock" record "$T_DIR/y" --seconds 1 2>"$T_DIR/err" || rc=$?
[[ $rc == 3 ]] || fail "no daemon: exit $rc, expected 3: $(cat "$T_DIR/err")"
rc=0; "$USBDCTL" --sock "$sock" record 2>"$T_DIR/err" || rc=$?
[[ $rc == 2 ]] && grep -q "which FILE" "$T_DIR/err" || fail "record without FILE: exit $rc, $(cat "$T_DIR/err")"
pass "record refuses a quoted plot name (2), a missing daemon (3), a missing FILE (2)"
