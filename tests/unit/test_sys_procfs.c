/* Unit tests of src/sys/procfs: parsers on fixtures copied from a real /proc, the root redirect, bad input. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/size.h"
#include "sys/procfs.h"

static char fixture_proc[PATH_MAX];

static int setup(void **state)
{
	const char *fx = getenv("USBD_FIXTURES");

	if (!fx)
		return -1;
	snprintf(fixture_proc, sizeof(fixture_proc), "%s/sys/proc", fx);
	procfs_set_root(fixture_proc);
	return 0;
}

static int teardown(void **state)
{
	procfs_set_root(NULL);
	return 0;
}

static void meminfo_read_should_convert_kb_to_bytes(void **state)
{
	struct meminfo m;

	assert_int_equal(meminfo_read(&m), 0);
	assert_true(m.total == UINT64_C(24683620) * KIB);
	assert_true(m.free == UINT64_C(24347996) * KIB);
	assert_true(m.available == UINT64_C(24342440) * KIB);
	assert_true(m.buffers == 7088 * KIB);
	assert_true(m.cached == 161656 * KIB);
	assert_true(m.swap_total == 4194300 * KIB);
	assert_true(m.swap_free == 4000000 * KIB);
	assert_true(m.anon_huge == 10240 * KIB);
	assert_true(m.hugepage_size == 2 * MIB);
}

static void meminfo_parse_should_keep_hugepage_counts_as_counts(void **state)
{
	struct meminfo m;

	assert_int_equal(meminfo_read(&m), 0);
	assert_true(m.hugepages_total == 8);
	assert_true(m.hugepages_free == 5);
}

static void meminfo_parse_should_not_confuse_similar_names(void **state)
{
	/* "SwapCached" must not land in "Cached", nor "MemTotalX" in "MemTotal". */
	struct meminfo m;

	assert_int_equal(meminfo_parse("MemTotal: 4 kB\nMemTotalX: 9 kB\nMemFree: 1 kB\nSwapCached: 7 kB\n", &m), 0);
	assert_true(m.total == 4 * KIB);
	assert_true(m.free == KIB);
	assert_true(m.cached == 0);
}

static void meminfo_parse_should_leave_unreported_fields_zero(void **state)
{
	struct meminfo m;

	memset(&m, 0xff, sizeof(m));
	assert_int_equal(meminfo_parse("MemTotal: 100 kB\nMemFree: 50 kB", &m), 0);
	assert_true(m.total == 100 * KIB);
	assert_true(m.free == 50 * KIB);
	assert_true(m.available == 0 && m.swap_total == 0 && m.hugepage_size == 0);
}

static void meminfo_parse_should_refuse_overflowing_numbers(void **state)
{
	struct meminfo m = { .total = 77 };

	/* Fits in 64 bits, but not once scaled from kB to bytes. */
	assert_int_equal(meminfo_parse("MemTotal: 18014398509481984 kB\nMemFree: 1 kB\n", &m), -EINVAL);
	assert_int_equal(meminfo_parse("MemTotal: 18446744073709551616\nMemFree: 1 kB\n", &m), -EINVAL);
	assert_int_equal(meminfo_parse("MemTotal: 99999999999999999999999999999 kB\nMemFree: 1\n", &m), -EINVAL);
	assert_true(m.total == 77);
	/* The largest value that does fit is accepted. */
	assert_int_equal(meminfo_parse("MemTotal: 18014398509481983 kB\nMemFree: 1 kB\n", &m), 0);
	assert_true(m.total == UINT64_C(18014398509481983) * KIB);
}

static void meminfo_parse_should_refuse_garbage(void **state)
{
	static const char *const bad[] = {
		"", "\n\n", "hello world", "MemTotal: 1 kB\n", "MemFree: 1 kB\n",
		"MemTotal: -1 kB\nMemFree: 1 kB\n", "MemTotal: kB\nMemFree: 1 kB\n",
		"MemTotal: 12x kB\nMemFree: 1 kB\n",
		"MemTotal: 1 MB\nMemFree: 1 kB\n", "MemTotal:\nMemFree: 1 kB\n", NULL,
	};
	struct meminfo m = { .total = 77 };

	for (int i = 0; bad[i]; i++) {
		assert_int_equal(meminfo_parse(bad[i], &m), -EINVAL);
		assert_true(m.total == 77);
	}
}

static void meminfo_parse_should_ignore_unknown_lines_whatever_they_hold(void **state)
{
	struct meminfo m;
	const char buf[] = "MemTotal: 8 kB\n\x01\xff\xfe garbage ::: \n: 5\nWeird: -3 zB\nMemFree: 2 kB\n";

	assert_int_equal(meminfo_parse(buf, &m), 0);
	assert_true(m.total == 8 * KIB && m.free == 2 * KIB);
}

static void vmstat_read_should_pick_the_counters_and_sum_allocstall(void **state)
{
	struct vmstat v;

	assert_int_equal(vmstat_read(&v), 0);
	assert_true(v.pswpin == 11);
	assert_true(v.pswpout == 22);
	assert_true(v.pgmajfault == 33);
	assert_true(v.pgfault == 44);
	assert_true(v.oom_kill == 55);
	assert_true(v.allocstall == 66 + 77 + 88 + 99 + 110);
	assert_true(v.pgscan_kswapd == 121);
	assert_true(v.pgscan_direct == 132);
	assert_true(v.pgsteal_kswapd == 143);
	assert_true(v.pgsteal_direct == 154);
	assert_true(v.htlb_buddy_alloc_success == 165);
	assert_true(v.htlb_buddy_alloc_fail == 176);
	assert_true(v.workingset_refault_anon == 187);
	assert_true(v.pglazyfreed == 198);
}

static void vmstat_parse_should_not_take_pglazyfree_for_pglazyfreed(void **state)
{
	struct vmstat v;

	assert_int_equal(vmstat_parse("pgfault 1\npglazyfree 9\npglazyfreed 3\npgscan_direct_throttle 5\n", &v), 0);
	assert_true(v.pglazyfreed == 3);
	assert_true(v.pgscan_direct == 0);
}

static void vmstat_parse_should_saturate_the_allocstall_sum(void **state)
{
	struct vmstat v;

	assert_int_equal(vmstat_parse("pgfault 1\nallocstall_dma 18446744073709551615\nallocstall_normal 5\n", &v), 0);
	assert_true(v.allocstall == UINT64_MAX);
}

static void vmstat_parse_should_refuse_garbage(void **state)
{
	static const char *const bad[] = { "", "nr_free_pages 5\n", "pgfault\n", "pgfault 1 2\n", "pgfault 0x10\n",
					   "pgfault 1\npswpin 99999999999999999999\n", NULL };
	struct vmstat v = { .pgfault = 77 };

	for (int i = 0; bad[i]; i++)
		assert_int_equal(vmstat_parse(bad[i], &v), -EINVAL);
	assert_true(v.pgfault == 77);
}

static void pid_status_read_should_report_bytes(void **state)
{
	struct pid_status s;

	assert_int_equal(pid_status_read(4242, &s), 0);
	assert_true(s.vm_rss == 512 * MIB);
	assert_true(s.vm_swap == MIB);
	assert_true(s.vm_locked == 2 * MIB);
}

static void pid_status_read_should_say_enoent_for_a_missing_pid(void **state)
{
	struct pid_status s;

	assert_int_equal(pid_status_read(4243, &s), -ENOENT);
}

static void pid_status_parse_should_accept_kernel_threads_without_vm_lines(void **state)
{
	struct pid_status s = { .vm_rss = 77 };

	assert_int_equal(pid_status_parse("Name:\tkthreadd\nState:\tS (sleeping)\nPid:\t2\nPPid:\t0\n", &s), 0);
	assert_true(s.vm_rss == 0 && s.vm_swap == 0 && s.vm_locked == 0);
	assert_int_equal(pid_status_parse("Name:\tx\nVmRSS:\t4 kB\n", &s), -EINVAL);
}

static void psi_read_should_parse_averages_as_hundredths(void **state)
{
	struct psi p;

	assert_int_equal(psi_read(NULL, &p), 0);
	assert_int_equal(p.some_avg10, 123);
	assert_int_equal(p.some_avg60, 50);
	assert_true(p.some_total_us == 123456);
	assert_int_equal(p.full_avg10, 10000);
	assert_int_equal(p.full_avg60, 0);
	assert_true(p.full_total_us == 98765);
}

static void psi_read_should_take_an_explicit_path(void **state)
{
	char path[PATH_MAX + 32];
	struct psi p;

	snprintf(path, sizeof(path), "%s/pressure/memory", fixture_proc);
	procfs_set_root("/nonexistent");
	assert_int_equal(psi_read("", &p), -ENOENT);
	assert_int_equal(psi_read(path, &p), 0);
	assert_int_equal(p.some_avg10, 123);
	procfs_set_root(fixture_proc);
}

static void psi_parse_should_accept_odd_precision_and_a_missing_full_line(void **state)
{
	struct psi p;

	assert_int_equal(psi_parse("some avg10=7 avg60=0.5 avg300=1.999 total=0\n", &p), 0);
	assert_int_equal(p.some_avg10, 700);
	assert_int_equal(p.some_avg60, 50);
	assert_int_equal(p.full_avg10, 0);
	assert_int_equal(psi_parse("some avg10=1.239 avg60=0.00 total=5 future=x\n", &p), 0);
	assert_int_equal(p.some_avg10, 123);
}

static void psi_parse_should_refuse_garbage(void **state)
{
	static const char *const bad[] = {
		"", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "some avg10=0.00 avg60=0.00\n",
		"some avg10=x avg60=0.00 avg300=0.00 total=0\n", "some avg10=1. avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=99999999999.00 avg60=0 total=0\n", "some avg10=1.00 avg60=0.00 total=-1\n",
		"some avg10=1.00avg60=0.00 total=1\n", "some avg10=0 avg60=0 total=18446744073709551616\n",
		"some avg10=0 avg60=0 total=1\nfull avg10=0\n", NULL,
	};
	struct psi p = { .some_avg10 = 77 };

	for (int i = 0; bad[i]; i++) {
		assert_int_equal(psi_parse(bad[i], &p), -EINVAL);
		assert_int_equal(p.some_avg10, 77);
	}
}

static void set_root_should_redirect_every_reader(void **state)
{
	char dir[] = "/tmp/usbd-test-procfs-XXXXXX", path[PATH_MAX];
	struct meminfo m;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("MemTotal: 3 kB\nMemFree: 2 kB\n", f);
	assert_int_equal(fclose(f), 0);
	procfs_set_root(dir);
	assert_string_equal(procfs_root(), dir);
	assert_int_equal(meminfo_read(&m), 0);
	assert_true(m.total == 3 * KIB);
	assert_int_equal(vmstat_read(&(struct vmstat){ 0 }), -ENOENT);
	unlink(path);
	rmdir(dir);
	procfs_set_root(NULL);
	assert_string_equal(procfs_root(), "/proc");
	procfs_set_root(fixture_proc);
}

static void readers_should_refuse_files_larger_than_their_buffer(void **state)
{
	char dir[] = "/tmp/usbd-test-procfs-XXXXXX", path[PATH_MAX];
	struct meminfo m;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("MemTotal: 3 kB\nMemFree: 2 kB\n", f);
	for (int i = 0; i < 2000; i++)
		fputs("Filler: 0 kB\n", f);
	assert_int_equal(fclose(f), 0);
	procfs_set_root(dir);
	assert_int_equal(meminfo_read(&m), -EFBIG);
	unlink(path);
	rmdir(dir);
	procfs_set_root(fixture_proc);
}

static void read_small_file_should_truncate_and_terminate(void **state)
{
	char path[PATH_MAX + 32], buf[8];

	snprintf(path, sizeof(path), "%s/meminfo", fixture_proc);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(read_small_file(path, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "MemTota");
	assert_int_equal(read_small_file("/nonexistent/usbd", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(read_small_file(path, buf, 0), -EINVAL);
}

static void readers_should_work_on_this_machine(void **state)
{
	struct meminfo m;
	struct vmstat v;
	struct pid_status s;

	procfs_set_root(NULL);
	assert_int_equal(meminfo_read(&m), 0);
	assert_true(m.total > 0 && m.free <= m.total);
	assert_int_equal(vmstat_read(&v), 0);
	assert_true(v.pgfault > 0);
	assert_int_equal(pid_status_read(0, &s), 0);
	assert_true(s.vm_rss > 0);
	assert_int_equal(pid_status_read(getpid(), &s), 0);
	assert_true(s.vm_rss > 0);
	procfs_set_root(fixture_proc);
}

static void pid_memcg_parse_should_find_the_memory_line_of_v1_and_the_v2_line(void **state)
{
	const char *v1 = "12:pids:/user.slice\n5:cpu,memory:/a/b\n0::/x\n";
	const char *v2 = "1:name=systemd:/y\n0::/dom/app\n";
	char name[64];

	assert_int_equal(pid_memcg_parse(v1, 1, name, sizeof(name)), 0);
	assert_string_equal(name, "a/b");
	assert_int_equal(pid_memcg_parse(v2, 2, name, sizeof(name)), 0);
	assert_string_equal(name, "dom/app");
	assert_int_equal(pid_memcg_parse("3:memory:/\n", 1, name, sizeof(name)), 0);
	assert_string_equal(name, "");
}

static void pid_memcg_parse_should_refuse_lookalikes_and_short_buffers(void **state)
{
	char name[4];

	assert_int_equal(pid_memcg_parse("5:memoryx:/a\n4:xmemory:/b\n", 1, name, sizeof(name)), -ENOENT);
	assert_int_equal(pid_memcg_parse("10::/a\n", 2, name, sizeof(name)), -ENOENT);
	assert_int_equal(pid_memcg_parse("garbage", 1, name, sizeof(name)), -ENOENT);
	assert_int_equal(pid_memcg_parse("5:memory:/abcd\n", 1, name, sizeof(name)), -ENAMETOOLONG);
}

static void pid_maps_read_should_read_this_process_whole_and_respect_the_cap(void **state)
{
	char *maps = NULL;

	procfs_set_root(NULL);
	assert_int_equal(pid_maps_read(getpid(), 16 * MIB, &maps), 0);
	assert_non_null(strstr(maps, "[stack]"));
	free(maps);
	assert_int_equal(pid_maps_read(getpid(), 64, &maps), -E2BIG);
	procfs_set_root(fixture_proc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(meminfo_read_should_convert_kb_to_bytes),
		cmocka_unit_test(meminfo_parse_should_keep_hugepage_counts_as_counts),
		cmocka_unit_test(meminfo_parse_should_not_confuse_similar_names),
		cmocka_unit_test(meminfo_parse_should_leave_unreported_fields_zero),
		cmocka_unit_test(meminfo_parse_should_refuse_overflowing_numbers),
		cmocka_unit_test(meminfo_parse_should_refuse_garbage),
		cmocka_unit_test(meminfo_parse_should_ignore_unknown_lines_whatever_they_hold),
		cmocka_unit_test(vmstat_read_should_pick_the_counters_and_sum_allocstall),
		cmocka_unit_test(vmstat_parse_should_not_take_pglazyfree_for_pglazyfreed),
		cmocka_unit_test(vmstat_parse_should_saturate_the_allocstall_sum),
		cmocka_unit_test(vmstat_parse_should_refuse_garbage),
		cmocka_unit_test(pid_status_read_should_report_bytes),
		cmocka_unit_test(pid_status_read_should_say_enoent_for_a_missing_pid),
		cmocka_unit_test(pid_status_parse_should_accept_kernel_threads_without_vm_lines),
		cmocka_unit_test(psi_read_should_parse_averages_as_hundredths),
		cmocka_unit_test(psi_read_should_take_an_explicit_path),
		cmocka_unit_test(psi_parse_should_accept_odd_precision_and_a_missing_full_line),
		cmocka_unit_test(psi_parse_should_refuse_garbage),
		cmocka_unit_test(set_root_should_redirect_every_reader),
		cmocka_unit_test(readers_should_refuse_files_larger_than_their_buffer),
		cmocka_unit_test(read_small_file_should_truncate_and_terminate),
		cmocka_unit_test(readers_should_work_on_this_machine),
		cmocka_unit_test(pid_memcg_parse_should_find_the_memory_line_of_v1_and_the_v2_line),
		cmocka_unit_test(pid_memcg_parse_should_refuse_lookalikes_and_short_buffers),
		cmocka_unit_test(pid_maps_read_should_read_this_process_whole_and_respect_the_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
