/* Unit tests of src/sys/cgroup_v1.c on a fixture v1 tree: total_* stat fields, limits, event registration. */
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
		{ "app/memory.usage_in_bytes", "134217728\n" },
		{ "app/memory.limit_in_bytes", "9223372036854771712\n" },
		{ "app/memory.swappiness", "60\n" },
		{ "app/memory.pressure_level", "" },
		{ "app/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n" },
		{ "app/cgroup.event_control", "" },
	};

	return fx_setup(state, 1, files, sizeof(files) / sizeof(files[0]), "sys/cgroup_v1/memory.stat");
}

static void stat_should_use_the_hierarchical_total_fields(void **state)
{
	struct fx *fx = *state;
	struct cg_stat st;

	/* The fixture's non-total lines (rss 9732096, cache 9256960, ...) describe the cgroup alone. */
	assert_int_equal(cg_stat(&fx->app, &st), 0);
	assert_true(st.anon == 18391040);
	assert_true(st.file == 172888064);
	assert_true(st.active_anon == 1593344);
	assert_true(st.inactive_anon == 8515584);
	assert_true(st.active_file == 29954048);
	assert_true(st.inactive_file == 133836800);
	assert_true(st.unevictable == 17297408);
	assert_true(st.swap == 4 * MIB);
	assert_true(st.pgfault == 1942383);
	assert_true(st.pgmajfault == 1324);
	assert_true(st.anon_thp == 4 * MIB);
	assert_true(st.workingset_refault == 12 + 91506);
}

static void stat_parse_should_read_swap_thp_and_the_old_single_refault_counter(void **state)
{
	struct cg_stat st;

	assert_int_equal(cg_stat_parse_v1("rss 1\ncache 2\nswap 3\nworkingset_refault 4\ntotal_rss 10\n"
					  "total_cache 20\ntotal_swap 30\ntotal_rss_huge 2097152\n"
					  "total_workingset_refault 40\n", &st), 0);
	assert_true(st.anon == 10 && st.file == 20 && st.swap == 30 && st.anon_thp == 2 * MIB);
	assert_true(st.workingset_refault == 40);
}

static void stat_parse_should_refuse_garbage(void **state)
{
	static const char *const bad[] = { "", "rss 1\ncache 2\n", "total_rss 1\n", "total_rss 1\ntotal_cache x\n",
					   "total_rss 1\ntotal_cache 2\ntotal_swap -1\n", NULL };
	struct cg_stat st = { .anon = 77 };

	for (int i = 0; bad[i]; i++)
		assert_int_equal(cg_stat_parse_v1(bad[i], &st), -EINVAL);
	assert_true(st.anon == 77);
}

static void swap_should_be_total_swap(void **state)
{
	struct fx *fx = *state;
	uint64_t b = 77;

	assert_int_equal(cg_swap(&fx->app, &b), 0);
	assert_true(b == 4 * MIB);
	assert_int_equal(tree_put(fx->dir, "app/memory.stat", "swap 5\ntotal_rss 1\ntotal_cache 2\ntotal_swap 8192\n"),
			 0);
	assert_int_equal(cg_swap(&fx->app, &b), 0);
	assert_true(b == 8192);
}

static void usage_should_read_usage_in_bytes(void **state)
{
	struct fx *fx = *state;
	uint64_t b;

	assert_int_equal(cg_usage(&fx->app, &b), 0);
	assert_true(b == 128 * MIB);
}

static void limit_should_read_the_v1_unlimited_value_as_unlimited(void **state)
{
	struct fx *fx = *state;
	uint64_t b;

	assert_int_equal(cg_limit(&fx->app, &b), 0);
	assert_true(b == CG_UNLIMITED);
	assert_int_equal(tree_put(fx->dir, "app/memory.limit_in_bytes", "268435456\n"), 0);
	assert_int_equal(cg_limit(&fx->app, &b), 0);
	assert_true(b == 256 * MIB);
	/* One page below the unlimited value is a real (if absurd) limit. */
	assert_int_equal(tree_put(fx->dir, "app/memory.limit_in_bytes", "9223372036854767616\n"), 0);
	assert_int_equal(cg_limit(&fx->app, &b), 0);
	assert_true(b == UINT64_C(9223372036854767616));
}

static void set_limit_should_write_minus_one_for_unlimited(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(cg_set_limit(&fx->app, CG_UNLIMITED), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.limit_in_bytes", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "-1");
	assert_int_equal(cg_set_limit(&fx->app, 256 * MIB), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.limit_in_bytes", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "268435456");
}

static void set_swap_allowed_should_write_swappiness(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(fx->h.ops->set_swap_allowed(&fx->app, false), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.swappiness", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(fx->h.ops->set_swap_allowed(&fx->app, true), 0);
	assert_int_equal(tree_get(fx->dir, "app/memory.swappiness", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "60");
}

static void reclaim_should_not_be_supported(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx->h.ops->reclaim(&fx->app, MIB), -ENOTSUP);
}

/* Checks cgroup.event_control holds "<efd> <some fd><suffix>" for the returned eventfd, and that the other fd
 * was closed again. */
static void assert_registered(struct fx *fx, int efd, const char *suffix)
{
	char buf[128], want[128];
	int fd;

	assert_true(efd >= 0);
	assert_true(is_eventfd(efd));
	assert_int_equal(fcntl(efd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(fcntl(efd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_true(tree_get(fx->dir, "app/cgroup.event_control", buf, sizeof(buf)) > 0);
	assert_int_equal(sscanf(buf, "%*d %d", &fd), 1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	snprintf(want, sizeof(want), "%d %d%s", efd, fd, suffix);
	assert_string_equal(buf, want);
}

static void pressure_open_should_register_an_eventfd_per_level(void **state)
{
	static const char *const names[] = { "", " low", " medium", " critical" };
	struct fx *fx = *state;
	int before = open_fd_count();

	for (int level = CG_PRESSURE_LOW; level <= CG_PRESSURE_CRITICAL; level++) {
		int efd = fx->h.ops->pressure_open(&fx->app, (enum cg_pressure)level);
		assert_registered(fx, efd, names[level]);
		close(efd);
	}
	assert_int_equal(open_fd_count(), before);
}

static void usage_threshold_open_should_register_the_byte_count(void **state)
{
	struct fx *fx = *state;
	int efd = fx->h.ops->usage_threshold_open(&fx->app, 64 * MIB);

	assert_registered(fx, efd, " 67108864");
	close(efd);
}

static void oom_open_should_register_without_arguments(void **state)
{
	struct fx *fx = *state;
	int efd = fx->h.ops->oom_open(&fx->app);

	assert_registered(fx, efd, "");
	close(efd);
}

static void event_open_should_leak_nothing_on_failure(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX * 2];
	int before = open_fd_count();

	assert_int_equal(fx->h.ops->pressure_open(&fx->app, CG_PRESSURE_NONE), -EINVAL);
	assert_int_equal(fx->h.ops->pressure_open(&fx->app, (enum cg_pressure)9), -EINVAL);
	snprintf(path, sizeof(path), "%s/memory.oom_control", fx->app.path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fx->h.ops->oom_open(&fx->app), -ENOENT);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", fx->app.path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fx->h.ops->usage_threshold_open(&fx->app, MIB), -ENOENT);
	assert_int_equal(open_fd_count(), before);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(stat_should_use_the_hierarchical_total_fields),
		cmocka_unit_test(stat_parse_should_read_swap_thp_and_the_old_single_refault_counter),
		cmocka_unit_test(stat_parse_should_refuse_garbage),
		T(swap_should_be_total_swap),
		T(usage_should_read_usage_in_bytes),
		T(limit_should_read_the_v1_unlimited_value_as_unlimited),
		T(set_limit_should_write_minus_one_for_unlimited),
		T(set_swap_allowed_should_write_swappiness),
		T(reclaim_should_not_be_supported),
		T(pressure_open_should_register_an_eventfd_per_level),
		T(usage_threshold_open_should_register_the_byte_count),
		T(oom_open_should_register_without_arguments),
		T(event_open_should_leak_nothing_on_failure),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
