#!/bin/sh
# Guest side of bench/bench_harvest_vm.sh: three ways to bring an app's cold memory to a swap target on cgroup v2,
# on the same app, in the same guest:
#   usbd:     usbd --domain D D/app --swap-target TARGET (the harvester; on v2 it writes memory.reclaim)
#   original: the original balloon's loop, once per second: memory.max = memory.current - 64 MiB, then max
#   senpai:   a senpai-like probe: every second, if the app cgroup's PSI (memory.pressure "some" total) grew by
#             less than PSI_US in that second, memory.high = memory.current - 1 %; otherwise memory.high is raised
#             by 1 % per PSI_US of stall (at most 10 %). Set back to max once at the target.
# Each run: a domain D (memory.max 640 MiB) with D/app running harvest_app --busy (VMBENCH_APP_MIB, its first
# VMBENCH_HOT_PCT % hot), and AT THE SAME TIME an identical app in a second domain that nothing harvests (the
# pair: both see the same emulation noise, so their throughput ratio means something). Printed per run, as
# "VMBENCH RESULT harvest ..." lines: seconds from the first swapped page to target - 4 MiB, the swap at the end,
# the app cgroup's major faults (memory.stat pgmajfault) from the method's start to the end of the after window
# (the app touches only its hot set, and its status counts a pass's faults only once the pass ends, which a
# thrashing pass can put off for tens of seconds), and the hot-loop throughput ratio harvested / pair over the windows
# wait (method started .. first swapped page), during (.. target) and after (VMBENCH_AFTER_S more seconds).
# Both apps share vCPU 1; everything else (this script, the methods, usbd, the samplers) runs on vCPU 0, so the
# pair shares its vCPU's emulation noise. A stall of the harvested app hands the vCPU to the other app: stalls
# count about twice in the ratio (pessimistic), CPU costs in the app once.
. /vmtests/lib.sh
. /vmtests/run.conf

APP_MIB=${VMBENCH_APP_MIB:-256}
HOT_MIB=$((APP_MIB * ${VMBENCH_HOT_PCT:-20} / 100))
TARGET_MIB=${VMBENCH_TARGET_MIB:-128}
AFTER_S=${VMBENCH_AFTER_S:-20}
ROUNDS=${VMBENCH_ROUNDS:-2}
PSI_US=${VMBENCH_PSI_US:-10000}
GOAL=$(((TARGET_MIB - 4) << 20))
DOM_MAX=$((640 << 20))

swap_on
taskset -p 1 $$ > /dev/null || fail "taskset"  # CPU masks: busybox may lack -c
[ -f "$CG/memory.pressure" ] || fail "no $CG/memory.pressure: this kernel has no PSI (CONFIG_PSI, psi=1)"

# swap_of CG: memory.swap.current (fails loudly if the kernel does not account swap per cgroup).
swap_of() {
	[ -f "$CG/$1/memory.swap.current" ] || fail "no $CG/$1/memory.swap.current (swap accounting is off)"
	cat "$CG/$1/memory.swap.current"
}
field() { tr ' ' '\n' < "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# sampler STATUS CG OUT: every 0.2 s appends "t_ms hot_ops hot_majflt swap_bytes".
sampler() {
	while :; do
		awk -v sw="$(cat "$CG/$2/memory.swap.current" 2>/dev/null || echo 0)" '
			{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
			END { if (f["t_ms"] != "") print f["t_ms"], f["hot_ops"], f["hot_majflt"], sw }' "$1" >> "$3" \
			2>/dev/null || true
		sleep 0.2
	done
}

# rate SAMPLES FROM TO: "ops_per_s" over the samples inside [FROM, TO] (absolute ms).
rate() {
	awk -v a="$2" -v b="$3" '
		$1 >= a && ta == "" { ta = $1; oa = $2 }
		$1 <= b { tb = $1; ob = $2 }
		END { if (ta == "" || tb <= ta) print 0; else printf "%.0f\n", (ob - oa) * 1000 / (tb - ta) }' "$1"
}
ratio() { awk -v h="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", h / n; else print "nan" }'; }

original() {  # APP_CG: the original balloon's loop until the goal
	local cur
	while [ "$(swap_of "$1")" -lt "$GOAL" ]; do
		cur=$(cat "$CG/$1/memory.current")
		echo $((cur - (64 << 20))) > "$CG/$1/memory.max" 2>/dev/null || true
		echo max > "$CG/$1/memory.max"
		sleep 1
	done
}

senpai() {  # APP_CG: 1 % memory.high probes gated on the cgroup's PSI, until the goal
	local prev now delta cur high up
	prev=$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' "$CG/$1/memory.pressure")
	high=$(cat "$CG/$1/memory.current")
	while [ "$(swap_of "$1")" -lt "$GOAL" ]; do
		sleep 1
		now=$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' "$CG/$1/memory.pressure")
		delta=$((now - prev))
		prev=$now
		cur=$(cat "$CG/$1/memory.current")
		if [ "$delta" -le "$PSI_US" ]; then
			high=$((cur - cur / 100))
		else
			up=$((delta / PSI_US))
			[ "$up" -le 10 ] || up=10
			high=$((high + high / 100 * up))
		fi
		echo "$high" > "$CG/$1/memory.high"
	done
	echo max > "$CG/$1/memory.high"
}

# run METHOD ROUND
run() {
	local m=$1 r=$2 d=$T_NAME-$1-$2 p=$T_NAME-pair-$1-$2 hp pp hs ps mp t0 t1 t2 tu sw f0 hf a b w rh rp line
	mkcg "$d" "$DOM_MAX"
	mkcg "$d/app"
	mkcg "$p" "$DOM_MAX"
	mkcg "$p/app"
	start_in_cg "$d/app" taskset 2 "$HELPERS/harvest_app" --busy --hot "${HOT_MIB}M" --status "$T_DIR/$d.st" \
		"${APP_MIB}M"
	hp=$LAST_PID
	start_in_cg "$p/app" taskset 2 "$HELPERS/harvest_app" --busy --hot "${HOT_MIB}M" --status "$T_DIR/$p.st" \
		"${APP_MIB}M"
	pp=$LAST_PID
	for x in "$d" "$p"; do
		wait_for 300 "the app to hold $APP_MIB MiB" \
			sh -c "grep -q 'size=$((APP_MIB << 20)) growing=0' $T_DIR/$x.st 2>/dev/null"
	done
	: > "$T_DIR/$d.smp"
	: > "$T_DIR/$p.smp"
	sampler "$T_DIR/$d.st" "$d/app" "$T_DIR/$d.smp" &
	hs=$!
	sampler "$T_DIR/$p.st" "$p/app" "$T_DIR/$p.smp" &
	ps=$!
	T_PIDS="$T_PIDS $hs $ps"
	sleep 1
	tu=$(field "$T_DIR/$d.st" t_ms)
	f0=$(cg_key "$d/app" memory.stat pgmajfault)
	case $m in
	usbd)
		start_usbd --domain "$d" "$d/app" --swap-target "${TARGET_MIB}M" --harvest-journal "$T_DIR/journal" \
			--api-sock off --spot-listen off
		mp=$USBD_PID ;;
	original) original "$d/app" & mp=$! ;;
	senpai) senpai "$d/app" & mp=$! ;;
	esac
	T_PIDS="$T_PIDS $mp"
	reached() { [ "$(swap_of "$d/app")" -ge "$GOAL" ]; }
	wait_for 900 "$m to bring the swap to $((GOAL >> 20)) MiB" reached
	sleep $((AFTER_S + 1))
	kill "$hs" "$ps"
	kill -0 "$hp" && kill -0 "$pp" || fail "$m: an app died (OOM?): $(cat "$CG/$d/app/memory.events" | tr '\n' ' ')"
	sw=$(swap_of "$d/app")
	hf=$(($(cg_key "$d/app" memory.stat pgmajfault) - f0))
	kill "$mp" 2>/dev/null || true
	wait "$mp" 2>/dev/null || true
	USBD_PID=
	[ ! -f "$T_DIR/journal" ] || fail "usbd left its harvest journal behind"
	set -- $(awk -v tu="$tu" -v goal="$GOAL" -v after=$((AFTER_S * 1000)) '
		$4 > 0 && t0 == "" { t0 = $1 - tu }
		$4 >= goal && t1 == "" { t1 = $1 - tu }
		END { if (t1 == "") print "x"; else print t0, t1, t1 + after }' "$T_DIR/$d.smp")
	[ "$1" != x ] || fail "$m: the samples never show the target"
	t0=$1 t1=$2 t2=$3
	line="VMBENCH RESULT harvest method=$m round=$r seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
	line="$line swap_mib=$((sw >> 20)) majflt=$hf"
	for w in wait during after; do
		case $w in wait) a=0 b=$t0 ;; during) a=$t0 b=$t1 ;; after) a=$t1 b=$t2 ;; esac
		rh=$(rate "$T_DIR/$d.smp" $((tu + a)) $((tu + b)))
		rp=$(rate "$T_DIR/$p.smp" $((tu + a)) $((tu + b)))
		line="$line ${w}_ms=$((b - a)) ${w}_ratio=$(ratio "$rh" "$rp")"
	done
	echo "$line"
	[ "$m" != usbd ] || grep -E "harvest" "$T_DIR/usbd.log" | tail -n 3 || true
	kill "$hp" "$pp"
	wait "$hp" "$pp" 2>/dev/null || true
	for x in "$d/app" "$d" "$p/app" "$p"; do
		echo 1 > "$CG/$x/cgroup.kill"
		for _ in $(seq 30); do rmdir "$CG/$x" 2>/dev/null && break; sleep 0.1; done
	done
}

echo "app $APP_MIB MiB, $HOT_MIB MiB hot, target $TARGET_MIB MiB, $ROUNDS rounds; swap: $(grep -E 'SwapTotal' /proc/meminfo)"
for r in $(seq "$ROUNDS"); do
	case $((r % 3)) in
	1) order="usbd original senpai" ;;
	2) order="original senpai usbd" ;;
	0) order="senpai usbd original" ;;
	esac
	for m in $order; do run "$m" "$r"; done
done
pass "benchmark done"
