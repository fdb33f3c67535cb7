#!/bin/bash
# redis_tests: runs Redis 7.0.15's own test files against spot memory in external-server mode, from a copy of Redis's
# sources in /tmp (never in this repository), and counts per file what ran, passed, failed and was skipped, and why.
# Not part of the suite (it fetches Redis's sources and takes minutes). Needs tclsh (apt-get install tcl), git or
# apt-get source, and a built tests/helpers/spot_server.
#   tests/external/redis_tests.sh [BUILD_DIR [REDIS_SRC]]
# REDIS_SRC: a Redis 7.0.15 source tree; without it one is made in /tmp/redis-7.0.15 from $REDIS_GIT (a clone of
# github.com/redis/redis, tag 7.0.15; default: cloned into /tmp), or from `apt-get source redis` as a fallback.
#
# How a case is counted: "ok" passed; "skip" was not run because its tags need what an external server cannot give
# (external:skip, needs:debug, needs:repl, needs:config-*, needs:save, needs:other-server...: Redis's own external-mode
# rule, and the tags below); "unimplemented" failed with Redis's "unknown command" (lists, sets, sorted sets,
# scripting, DEBUG, OBJECT FREQ...: docs/SPOT.md says what spot memory has); "failed" is everything else: a bug, or
# a difference docs/SPOT.md lists. With --durable an exception fails one case instead of ending the file.
set -u
BUILD=$(realpath "${1:-build}")
SRC=${2:-/tmp/redis-7.0.15}
SERVER=$BUILD/helpers/spot_server
FILES=(unit/type/string unit/type/incr unit/type/hash unit/expire unit/keyspace unit/protocol unit/multi
	unit/info-command)
# Tags whose cases need a server the harness starts itself, or Redis internals.
TAGS=(-needs:debug -needs:repl -needs:config-maxmemory -needs:save -needs:reset -needs:pfdebug -needs:latency
	-needs:other-server -needs:config-resetstat -slow)

command -v tclsh >/dev/null || { echo "redis_tests: install tcl (apt-get install tcl)"; exit 1; }
[[ -x $SERVER ]] || { echo "redis_tests: build $SERVER first"; exit 1; }
if [[ ! -x $SRC/runtest ]]; then
	mkdir -p "$SRC"
	if [[ -n ${REDIS_GIT:-} ]] || git clone -q --depth 1 --branch 7.0.15 https://github.com/redis/redis "$SRC.git" \
		2>/dev/null; then
		git -C "${REDIS_GIT:-$SRC.git}" archive 7.0.15 | tar -x -C "$SRC"
	else
		(cd /tmp && apt-get source -q redis >/dev/null) && cp -a /tmp/redis-7.0.15*/. "$SRC/"
	fi
fi
[[ -x $SRC/runtest ]] || { echo "redis_tests: no Redis 7.0.15 sources in $SRC"; exit 1; }

port=$((16500 + $$ % 1000))
"$SERVER" --listen "127.0.0.1:$port" --chunks 128 </dev/null >/tmp/redis_tests.spot.out 2>/tmp/redis_tests.spot.log &
spid=$!
trap 'kill $spid 2>/dev/null' EXIT
for _ in $(seq 1 50); do [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done

tags=$(IFS=' '; echo "${TAGS[*]}")
printf '%-20s %5s %5s %5s %13s %5s\n' file cases ok failed unimplemented skip
for f in "${FILES[@]}"; do
	log=/tmp/redis_tests.$(basename "$f").log
	(cd "$SRC" && timeout 900 ./runtest --host 127.0.0.1 --port "$port" --singledb --durable --single "$f" \
		--tags "$tags" --timeout 120 2>&1) | sed 's/\x1b\[[0-9;]*m//g' >"$log"
	okn=$(grep -c '^\[ok\]' "$log")
	skip=$(grep -c '^\[ignore\]\|^\[skip\]' "$log")
	# A failed case is printed as "[err]: NAME in FILE" followed by its reason.
	unimpl=$(awk '/^\[err\]/ { err = 1; next } err && /unknown command|unknown subcommand/ { n++; err = 0 }
		/^\[/ { err = 0 } END { print n + 0 }' "$log")
	errn=$(grep -c '^\[err\]' "$log")
	printf '%-20s %5d %5d %5d %13d %5d\n' "$f" $((okn + errn)) "$okn" $((errn - unimpl)) "$unimpl" "$skip"
done
echo "logs: /tmp/redis_tests.*.log (each failed case: grep -A3 '^\[err\]')"
