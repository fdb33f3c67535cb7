#!/usr/bin/env bash
# log_format: the real programs' stderr lines. Under journald (stderr is the stream $JOURNAL_STREAM names) a line
# starts with its syslog priority and carries no time; in a file it starts with the local time, never an epoch.
source "$(dirname "$0")/lib.sh"

stream_id() { stat -c '%d:%i' "$1"; }

# usbdctl's usage error (an error line) written into a file that $JOURNAL_STREAM names, as systemd would.
: >"$T_DIR/journal"
JOURNAL_STREAM=$(stream_id "$T_DIR/journal") "$USBDCTL" --bogus 2>>"$T_DIR/journal" && fail "usbdctl accepted --bogus"
head -1 "$T_DIR/journal" | grep -qx "<3>usbdctl: error: unknown option '--bogus'" ||
  fail "journal line: $(head -1 "$T_DIR/journal")"
# The same environment inherited by a process whose stderr went elsewhere: not the journal.
JOURNAL_STREAM=$(stream_id "$T_DIR/journal") "$USBDCTL" --bogus 2>"$T_DIR/plain" && fail "usbdctl accepted --bogus"
head -1 "$T_DIR/plain" | grep -qx "usbdctl: error: unknown option '--bogus'" || fail "plain line: $(head -1 "$T_DIR/plain")"

# usbd's refusal to run unprivileged, logged with a timestamp into a file: the local time, to the millisecond.
command -v setpriv >/dev/null || skip "needs setpriv"
TZ=UTC0 setpriv --reuid=65534 --regid=65534 --clear-groups "$USBD" app 2>"$T_DIR/usbd.log" && fail "usbd ran as nobody"
line=$(head -1 "$T_DIR/usbd.log")
[[ $line =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2})\.[0-9]{3}\ usbd:\ error:\ usbd\ must\ run\ as\ root ]] ||
  fail "usbd's line: $line"
# The time is now's (UTC here), not an epoch: within a day of date's.
stamp=$(date -u -d "${BASH_REMATCH[1]}" +%s) now=$(date +%s)
(( stamp > now - 86400 && stamp < now + 86400 )) || fail "usbd's time ${BASH_REMATCH[1]} is not today's"
pass "journal: <3> and no time; file: local time in milliseconds ($line)"
