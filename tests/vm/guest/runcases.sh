# The guest's case loop, shared by the busybox init and the Debian guest's run-cases (POSIX sh; sourced).
# vm_run_cases CGROOT: runs each case of $VMTEST_CASES under a bound of
# $VMTEST_TIMEOUT seconds, printing "VMTEST BEGIN name", the case's output, then one verdict line
# ("VMTEST PASS|FAIL|SKIP name ..."), and finally "VMTEST DONE pass=N fail=N skip=N". A case that leaves a cgroup
# behind under CGROOT fails, and the cgroup is killed and removed so the next case starts clean.

vm_cgroups_now() { find "$1" -mindepth 1 -type d | sort; }

# vm_case CASE: the command running CASE: a guest case (/vmtests/cases/CASE.sh, POSIX sh) or, in the Debian guest,
# an integration test (/vmtests/integration/CASE.sh, bash, the same script that runs on cgroup v1 on the host).
vm_case() {
	if [ -f "/vmtests/cases/$1.sh" ]; then
		echo "sh /vmtests/cases/$1.sh"
	else
		echo "bash /vmtests/integration/$1.sh"
	fi
}

vm_run_cases() {
	local root=$1 before c rc took t0 left d pass=0 fail=0 skip=0
	before=$(vm_cgroups_now "$root")
	for c in $VMTEST_CASES; do
		echo "VMTEST BEGIN $c"
		t0=$(cut -d. -f1 /proc/uptime)
		timeout "$VMTEST_TIMEOUT" $(vm_case "$c")
		rc=$?
		took="$(($(cut -d. -f1 /proc/uptime) - t0)) s"
		left=$(vm_cgroups_now "$root" | grep -vxF "$before")
		if [ -n "$left" ]; then
			echo "VMTEST: $c left cgroups behind: $left"
			for d in $(echo "$left" | sort -r); do
				echo 1 > "$d/cgroup.kill"
				sleep 0.2
				rmdir "$d"
			done
			[ "$rc" = 0 ] && rc=1
		fi
		case $rc in
		0) echo "VMTEST PASS $c ($took)"; pass=$((pass + 1)) ;;
		77) echo "VMTEST SKIP $c ($took)"; skip=$((skip + 1)) ;;
		124|143) echo "VMTEST FAIL $c (timed out after ${VMTEST_TIMEOUT}s)"; fail=$((fail + 1)) ;;
		*) echo "VMTEST FAIL $c (exit $rc, $took)"; fail=$((fail + 1)) ;;
		esac
	done
	echo "VMTEST DONE pass=$pass fail=$fail skip=$skip"
}
