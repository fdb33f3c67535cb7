/* Unit tests of src/sys/cgroup_v2.c on a fixture v2 tree: what it reads, and the exact bytes it writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/size.h"
#include "sys/cgroup.h"
#include "test_sys_tree.h"
#include "test_sys_fixture.h"

static int setup(void **state)
{
	static const char *const files[][2] = {
		{ "app/memory.current", "201326592\n" }, { "app/memory.max", "max\n" },
		{ "app/memory.swap.current", "4096\n" }, { "app/memory.swap.max", "max\n" },
		{ "app/memory.reclaim", "" }, { "app/memory.pressure", "" },
		{ "app/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n" },
	};

	return fx_setup(state, 2, files, sizeof(files) / sizeof(files[0]), "sys/cgroup_v2/memory.stat");
}

static void oom_count_should_sum_oom_and_oom_kill_but_not_other_counters(void **state)
{
	struct fx *fx = *state;
	uint64_t n = 0;

	assert_int_equal(cg_oom_count(&fx->app, &n), 0);
	assert_true(n == 2);
	/* memory.high being crossed changes memory.events, but is no OOM */
	assert_int_equal(tree_put(fx->dir, "app/memory.events", "low 0\nhigh 9\nmax 3\noom 1\noom_kill 1\n"), 0);
	assert_int_equal(cg_oom_count(&fx->app, &n), 0);
	assert_true(n == 2);
	assert_int_equal(tree_put(fx->dir, "app/memory.events", "low 0\nhigh 9\nmax 4\noom 2\noom_kill 2\n"), 0);
	assert_int_equal(cg_oom_count(&fx->app, &n), 0);
	assert_true(n == 4);
}

static void usage_should_read_memory_current(void **state)
{
	struct fx *fx = *state;
	uint64_t b;

	assert_int_equal(cg_usage(&fx->app, &b), 0);
	assert_true(b == 192 * MIB);
}

static void limit_should_read_max_as_unlimited_and_numbers_as_bytes(void **state)
{
	struct fx *fx = *state;
	uint64_t b;

	assert_int_equal(cg_limit(&fx->app, &b), 0);
	assert_true(b == CG_UNLIMITED);
	assert_int_equal(tree_put(fx->dir, "app/memory.max", "536870912\n"), 0);
	assert_int_equal(cg_limit(&fx->app, &b), 0);
	assert_true(b == 512 * MIB);
}

static void set_limit_should_write_the_number_or_max(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(cg_set_limit(&fx->app, 256 * MIB), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.max", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "268435456");
	assert_int_equal(cg_set_limit(&fx->app, CG_UNLIMITED), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.max", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "max");
	assert_int_equal(cg_set_limit(&fx->app, 0), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.max", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
}

static void stat_should_parse_memory_stat_and_swap_current(void **state)
{
	struct fx *fx = *state;
	struct cg_stat st;

	assert_int_equal(cg_stat(&fx->app, &st), 0);
	assert_true(st.anon == 134217728);
	assert_true(st.file == 52428800);
	assert_true(st.active_anon == 34603008);
	assert_true(st.inactive_anon == 100663296);
	assert_true(st.active_file == 20971520);
	assert_true(st.inactive_file == 31457280);
	assert_true(st.unevictable == 65536);
	assert_true(st.pgfault == 987654);
	assert_true(st.pgmajfault == 321);
	assert_true(st.workingset_refault == 17 + 400);
	assert_true(st.anon_thp == 67108864);
	assert_true(st.swap == 4096);
}

static void swap_should_be_zero_without_swap_accounting_but_fail_for_a_removed_cgroup(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX * 2];
	struct cg_stat st;
	uint64_t b = 77;

	assert_int_equal(cg_swap(&fx->app, &b), 0);
	assert_true(b == 4096);
	snprintf(path, sizeof(path), "%s/memory.swap.current", fx->app.path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cg_swap(&fx->app, &b), 0);
	assert_true(b == 0);
	assert_int_equal(cg_stat(&fx->app, &st), 0);
	assert_true(st.swap == 0 && st.anon == 134217728);
	strcat(fx->app.path, "/gone");
	assert_int_equal(cg_swap(&fx->app, &b), -ENOENT);
	assert_int_equal(cg_stat(&fx->app, &st), -ENOENT);
}

static void stat_parse_should_refuse_garbage_and_ignore_unknown_lines(void **state)
{
	static const char *const bad[] = { "", "file 1\n", "anon 1\n", "anon x\nfile 1\n", "anon 1\nfile 1 2\n",
					   "anon 1\nfile 1\npgfault 99999999999999999999\n", NULL };
	struct cg_stat st = { .anon = 77 };

	for (int i = 0; bad[i]; i++)
		assert_int_equal(cg_stat_parse_v2(bad[i], &st), -EINVAL);
	assert_true(st.anon == 77);
	assert_int_equal(cg_stat_parse_v2("anon 5\n\xff\xfe zz\nfile 6\nanon_thpx 9\nfuture_field -1\n", &st), 0);
	assert_true(st.anon == 5 && st.file == 6 && st.anon_thp == 0);
}

static void set_swap_allowed_should_write_swap_max(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(fx->h.ops->set_swap_allowed(&fx->app, false), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.swap.max", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(fx->h.ops->set_swap_allowed(&fx->app, true), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.swap.max", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "max");
}

static void reclaim_should_write_the_byte_count(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(fx->h.ops->reclaim(&fx->app, 64 * MIB), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.reclaim", buf, sizeof(buf)), 8);
	assert_string_equal(buf, "67108864");
	assert_int_equal(fx->h.ops->reclaim(&fx->app, UINT64_MAX), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.reclaim", buf, sizeof(buf)), 20);
	assert_string_equal(buf, "18446744073709551615");
	assert_int_equal(tree_put(fx->dir, "app/memory.reclaim", ""), 0);
	strcat(fx->app.path, "/gone");
	assert_int_equal(fx->h.ops->reclaim(&fx->app, MIB), -ENOENT);
}

static void psi_trigger_format_should_give_one_line_per_level(void **state)
{
	char buf[32];

	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_LOW, buf, sizeof(buf)), 18);
	assert_string_equal(buf, "some 50000 1000000");
	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_MEDIUM, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "some 100000 1000000");
	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_CRITICAL, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "full 100000 1000000");
}

static void psi_trigger_format_should_refuse_no_level_and_short_buffers(void **state)
{
	char buf[19];

	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_NONE, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_psi_trigger_format((enum cg_pressure)7, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_MEDIUM, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_psi_trigger_format(CG_PRESSURE_LOW, buf, sizeof(buf)), 18);
}

static void pressure_open_should_write_the_trigger_with_its_nul_and_keep_the_fd(void **state)
{
	struct fx *fx = *state;
	char buf[64];
	int fd = fx->h.ops->pressure_open(&fx->app, CG_PRESSURE_CRITICAL);

	assert_true(fd >= 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.pressure", buf, sizeof(buf)), 20);
	assert_memory_equal(buf, "full 100000 1000000\0", 20);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}

static void pressure_open_should_leak_nothing_on_failure(void **state)
{
	struct fx *fx = *state;
	int before = open_fd_count();

	assert_int_equal(fx->h.ops->pressure_open(&fx->app, CG_PRESSURE_NONE), -EINVAL);
	assert_int_equal(tree_put(fx->dir, "app/gone", ""), 0);
	strcat(fx->app.path, "/gone");
	assert_int_equal(fx->h.ops->pressure_open(&fx->app, CG_PRESSURE_MEDIUM), -ENOTDIR);
	assert_int_equal(fx->h.ops->oom_open(&fx->app), -ENOTDIR);
	assert_int_equal(open_fd_count(), before);
}

static void usage_threshold_should_not_be_supported(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx->h.ops->usage_threshold_open(&fx->app, 64 * MIB), -ENOTSUP);
}

static void oom_open_should_return_memory_events_already_read(void **state)
{
	struct fx *fx = *state;
	char buf[256];
	ssize_t size = tree_get(fx->dir, "app/memory.events", buf, sizeof(buf));
	int fd = fx->h.ops->oom_open(&fx->app);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), size);
	assert_int_equal(cg_notify_ack(fd), 0);
	close(fd);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(usage_should_read_memory_current),
		T(oom_count_should_sum_oom_and_oom_kill_but_not_other_counters),
		T(limit_should_read_max_as_unlimited_and_numbers_as_bytes),
		T(set_limit_should_write_the_number_or_max),
		T(stat_should_parse_memory_stat_and_swap_current),
		T(swap_should_be_zero_without_swap_accounting_but_fail_for_a_removed_cgroup),
		cmocka_unit_test(stat_parse_should_refuse_garbage_and_ignore_unknown_lines),
		T(set_swap_allowed_should_write_swap_max),
		T(reclaim_should_write_the_byte_count),
		cmocka_unit_test(psi_trigger_format_should_give_one_line_per_level),
		cmocka_unit_test(psi_trigger_format_should_refuse_no_level_and_short_buffers),
		T(pressure_open_should_write_the_trigger_with_its_nul_and_keep_the_fd),
		T(pressure_open_should_leak_nothing_on_failure),
		T(usage_threshold_should_not_be_supported),
		T(oom_open_should_return_memory_events_already_read),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
