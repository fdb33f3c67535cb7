/*
 * Unit tests of the harvester's executor, journal and step mechanisms (src/harvest) against fixture
 * trees: temporary directories of regular files standing in for a v1 or v2 cgroup, opened with
 * cg_hier_open(root_override, version). The bytes each mechanism writes are checked exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/size.h"
#include "harvest/harvest.h"
#include "harvest/journal.h"
#include "sys/procfs.h"
#include "test_sys_tree.h"

#define POLL_LIMIT 3000          /* 10 ms polls: a stuck thread fails the test after 30 s instead of hanging it */

struct fixture {
	char root[PATH_MAX], journal[PATH_MAX + 32];
	struct cg_hier hier;
	struct cgroup app;
	struct harvester *hv;
	struct harvest_input in;
	struct harvest_journal_file jf;  /* the journal claimed by the test itself, when `claimed` */
	bool claimed;
};

static struct fixture fx;

static void sleep_10ms(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* A v1 or v2 "app" cgroup using 1 GiB, with a 3 GiB limit (v1) or no memory.high (v2). */
static int setup_version(int version, bool with_reclaim)
{
	char proc[PATH_MAX + 8];

	memset(&fx, 0, sizeof(fx));
	if (tree_make(fx.root) || tree_mkdir(fx.root, "app") || tree_mkdir(fx.root, "proc") ||
	    tree_put(fx.root, "proc/meminfo", "MemTotal: 8388608 kB\nMemFree: 4194304 kB\nSwapFree: 4194304 kB\n"))
		return -1;
	snprintf(fx.journal, sizeof(fx.journal), "%s/harvest.journal", fx.root);
	if (version == 1) {
		if (tree_put(fx.root, "app/memory.usage_in_bytes", "1073741824\n") ||
		    tree_put(fx.root, "app/memory.limit_in_bytes", "3221225472\n") ||
		    tree_put(fx.root, "app/memory.stat", "total_rss 1073741824\ntotal_cache 0\ntotal_swap 0\n"))
			return -1;
	} else {
		if (tree_put(fx.root, "app/memory.current", "1073741824\n") ||
		    tree_put(fx.root, "app/memory.high", "max\n") ||
		    (with_reclaim && tree_put(fx.root, "app/memory.reclaim", "")))
			return -1;
	}
	if (cg_hier_open(&fx.hier, fx.root, version) || cg_resolve(&fx.hier, "app", &fx.app))
		return -1;
	fx.in = (struct harvest_input){ .usage = GIB, .target = 512 * MIB, .calm = true };
	snprintf(proc, sizeof(proc), "%s/proc", fx.root);
	procfs_set_root(proc);
	return 0;
}

static int setup_v1(void **state) { return setup_version(1, false); }
static int setup_v2(void **state) { return setup_version(2, true); }
static int setup_v2_without_reclaim(void **state) { return setup_version(2, false); }

static int teardown(void **state)
{
	harvest_close(fx.hv);
	fx.hv = NULL;
	if (fx.claimed)
		harvest_journal_release(&fx.jf);
	fx.claimed = false;
	procfs_set_root(NULL);
	tree_remove(fx.root);
	return 0;
}

static void claim_journal(void)
{
	assert_int_equal(harvest_journal_claim(&fx.jf, fx.journal), 0);
	fx.claimed = true;
}

static void release_journal(void)
{
	harvest_journal_release(&fx.jf);
	fx.claimed = false;
}

/* Leaves a journal behind as a crashed process would: written under the lock, which is then dropped. */
static void put_journal(const struct harvest_journal *j)
{
	claim_journal();
	assert_int_equal(harvest_journal_write(&fx.jf, j), 0);
	release_journal();
}

/* Opens a harvester with default parameters on the fixture's journal (which repairs it); returns harvest_open(). */
static int open_default(void)
{
	struct harvest_config cfg;

	harvest_config_defaults(&cfg);
	cfg.app = fx.app;
	cfg.journal_path = fx.journal;
	return harvest_open(&fx.hv, &cfg);
}

/* fixed_step > 0: every step is that size (step_min = step_max: no slow start). */
static void open_harvester_with(uint64_t timeout_ms, uint64_t fixed_step)
{
	struct harvest_config cfg;

	harvest_config_defaults(&cfg);
	cfg.app = fx.app;
	cfg.journal_path = fx.journal;
	cfg.step_timeout_ms = timeout_ms;
	cfg.params.stable_window_ms = 1000;
	if (fixed_step)
		cfg.params.step_min = cfg.params.step_max = fixed_step;
	assert_int_equal(harvest_open(&fx.hv, &cfg), 0);
	assert_int_equal(harvest_start(fx.hv), 0);
}

static void open_harvester(uint64_t timeout_ms)
{
	open_harvester_with(timeout_ms, 0);
}

/* Ticks (synthetic time, 100 ms apart) until the harvester hands out a step. */
static void tick_until_stepping(void)
{
	struct harvest_status st;

	for (int i = 0; i < 100; i++) {
		fx.in.now_ms += 100;
		harvest_tick(fx.hv, &fx.in);
		harvest_status(fx.hv, &st);
		if (!strcmp(st.state, "stepping"))
			return;
	}
	fail_msg("the harvester never stepped");
}

/* Ticks until `steps` steps have ended; returns the status. */
static struct harvest_status tick_until_steps(uint64_t steps)
{
	struct harvest_status st;

	for (int i = 0; i < POLL_LIMIT; i++) {
		fx.in.now_ms += 10;
		harvest_tick(fx.hv, &fx.in);
		harvest_status(fx.hv, &st);
		if (st.steps >= steps)
			return st;
		sleep_10ms();
	}
	fail_msg("no step ended");
	return st;
}

/* Polls until file `rel` of the tree reads `want`. */
static void wait_for_content(const char *rel, const char *want)
{
	char buf[256] = "";

	for (int i = 0; i < POLL_LIMIT; i++) {
		if (tree_get(fx.root, rel, buf, sizeof(buf)) >= 0 && !strcmp(buf, want))
			return;
		sleep_10ms();
	}
	fail_msg("%s reads '%s', not '%s'", rel, buf, want);
}

static void assert_content(const char *rel, const char *want)
{
	char buf[256] = "";

	assert_true(tree_get(fx.root, rel, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
}

static void assert_no_journal(void)
{
	assert_int_equal(access(fx.journal, F_OK), -1);
}

static void v2_step_should_write_the_step_to_memory_reclaim(void **state)
{
	struct harvest_status st;

	open_harvester(1000);
	tick_until_stepping();
	st = tick_until_steps(1);
	assert_int_equal(st.last_step_error, 0);
	assert_content("app/memory.reclaim", "8388608");
	assert_content("app/memory.high", "max\n");
	assert_no_journal();
}

static void v2_step_without_memory_reclaim_should_lower_memory_high_then_restore_it(void **state)
{
	open_harvester(60000);
	tick_until_stepping();
	/* usage - step: 1 GiB - 8 MiB (the slow start's first step) */
	wait_for_content("app/memory.high", "1065353216");
	assert_content("harvest.journal", "usbd-harvest-journal 1\ncgroup app\nknob high\nprevious max\n");
	/* the kernel's part: usage falls */
	assert_int_equal(tree_put(fx.root, "app/memory.current", "1065353216\n"), 0);
	fx.in.usage = 1065353216;
	assert_int_equal(tick_until_steps(1).last_step_bytes, 8 * MIB);
	assert_content("app/memory.high", "max");
	assert_no_journal();
}

static void v1_step_should_lower_the_limit_in_slices_then_restore_it(void **state)
{
	struct harvest_status st;

	open_harvester_with(60000, 64 * MIB);
	tick_until_stepping();
	/* 1 GiB - 64 MiB, reached by eight 8 MiB slices */
	wait_for_content("app/memory.limit_in_bytes", "1006632960");
	assert_content("harvest.journal", "usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 3221225472\n");
	assert_int_equal(tree_put(fx.root, "app/memory.usage_in_bytes", "1000000000\n"), 0);
	st = tick_until_steps(1);
	assert_int_equal(st.last_step_error, 0);
	assert_int_equal(st.last_step_bytes, GIB - 1000000000);
	assert_int_equal(st.harvested, GIB - 1000000000);
	assert_content("app/memory.limit_in_bytes", "3221225472");
	assert_no_journal();
}

static void v1_step_should_restore_the_limit_after_its_timeout(void **state)
{
	struct harvest_status st;

	open_harvester(200);
	tick_until_stepping();
	st = tick_until_steps(1);
	assert_int_equal(st.last_step_error, -ETIMEDOUT);
	assert_content("app/memory.limit_in_bytes", "3221225472");
	assert_no_journal();
}

static void step_should_not_lower_anything_when_the_journal_cannot_be_written(void **state)
{
	struct harvest_status st;
	char path[sizeof(fx.journal) + 8];

	/* The journal's directory (made by the open) removed under the harvester: nothing can be created in it. */
	snprintf(fx.journal, sizeof(fx.journal), "%s/jdir/harvest.journal", fx.root);
	open_harvester(60000);
	snprintf(path, sizeof(path), "%s.lock", fx.journal);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/jdir", fx.root);
	assert_int_equal(rmdir(path), 0);
	tick_until_stepping();
	st = tick_until_steps(1);
	assert_int_equal(st.last_step_error, -ENOENT);
	assert_content("app/memory.limit_in_bytes", "3221225472\n");
}

static void step_should_wait_while_the_host_has_no_free_swap(void **state)
{
	struct harvest_status st;

	assert_int_equal(tree_put(fx.root, "proc/meminfo", "MemTotal: 8388608 kB\nMemFree: 4194304 kB\nSwapFree: 0 kB\n"), 0);
	open_harvester(60000);
	for (int i = 0; i < 100; i++) {
		fx.in.now_ms += 100;
		harvest_tick(fx.hv, &fx.in);
	}
	harvest_status(fx.hv, &st);
	assert_string_equal(st.state, "no_swap");
	assert_int_equal(st.steps, 0);
	assert_content("app/memory.limit_in_bytes", "3221225472\n");
	assert_int_equal(tree_put(fx.root, "proc/meminfo", "MemTotal: 8388608 kB\nMemFree: 4194304 kB\nSwapFree: 4194304 kB\n"), 0);
	tick_until_stepping();
	/* The step is under way once its journal exists (teardown's close restores the limit). */
	for (int i = 0; i < POLL_LIMIT && access(fx.journal, F_OK); i++)
		sleep_10ms();
	assert_int_equal(access(fx.journal, F_OK), 0);
}

static void close_should_restore_the_limit_of_a_step_in_flight(void **state)
{
	open_harvester(600000);
	tick_until_stepping();
	wait_for_content("app/memory.limit_in_bytes", "1065353216");
	harvest_close(fx.hv);
	fx.hv = NULL;
	assert_content("app/memory.limit_in_bytes", "3221225472");
	assert_no_journal();
}

/* A swapoff empties the host's free swap at once: a step under way ends at its next slice and puts the limit back. */
static void step_should_end_when_free_swap_runs_out_mid_step(void **state)
{
	struct harvest_status st;

	open_harvester_with(60000, 64 * MIB);
	tick_until_stepping();
	for (int i = 0; i < POLL_LIMIT && access(fx.journal, F_OK); i++)
		sleep_10ms();
	assert_int_equal(access(fx.journal, F_OK), 0);
	assert_int_equal(tree_put(fx.root, "proc/meminfo", "MemTotal: 8388608 kB\nMemFree: 4194304 kB\nSwapFree: 0 kB\n"), 0);
	st = tick_until_steps(1);
	assert_int_equal(st.last_step_error, -EAGAIN);
	assert_content("app/memory.limit_in_bytes", "3221225472");
	assert_no_journal();
}

/* The lock is what tells a running harvester's step in flight from a crashed one's: the step is left alone. */
static void open_should_refuse_a_journal_another_process_holds(void **state)
{
	struct harvest_journal j = { .cgroup = "app", .knob = HARVEST_KNOB_LIMIT, .previous = 3 * GIB };

	claim_journal();
	assert_int_equal(harvest_journal_write(&fx.jf, &j), 0);
	assert_int_equal(tree_put(fx.root, "app/memory.limit_in_bytes", "1006632960\n"), 0);
	assert_int_equal(open_default(), -EBUSY);
	fx.hv = NULL;
	assert_content("app/memory.limit_in_bytes", "1006632960\n");
	assert_content("harvest.journal", "usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 3221225472\n");
	/* Once the holder is gone, the next open is the owner and repairs. */
	release_journal();
	assert_int_equal(open_default(), 0);
	assert_content("app/memory.limit_in_bytes", "3221225472");
	assert_no_journal();
}

/* Opening a harvester on a journal in dir (made unsafe by the caller) fails with -EPERM and creates nothing there. */
static void assert_directory_refused(const char *dir)
{
	char entry[sizeof(fx.journal) + 8];

	assert_int_equal(open_default(), -EPERM);
	fx.hv = NULL;
	snprintf(entry, sizeof(entry), "%s.lock", fx.journal);
	assert_int_equal(access(entry, F_OK), -1);
	assert_int_equal(access(fx.journal, F_OK), -1);
	assert_int_equal(access(dir, F_OK), 0);
}

static void open_should_refuse_a_directory_others_may_write_or_own(void **state)
{
	char dir[PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/jdir", fx.root);
	snprintf(fx.journal, sizeof(fx.journal), "%s/harvest.journal", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	assert_directory_refused(dir);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_directory_refused(dir);
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_directory_refused(dir);
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	assert_int_equal(open_default(), 0);
}

static void open_should_make_a_missing_directory_only_its_owner_may_write(void **state)
{
	struct stat st;
	char dir[PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/new", fx.root);
	snprintf(fx.journal, sizeof(fx.journal), "%s/harvest.journal", dir);
	assert_int_equal(open_default(), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
}

static void open_should_refuse_bad_params(void **state)
{
	struct harvest_config cfg;

	harvest_config_defaults(&cfg);
	cfg.app = fx.app;
	cfg.journal_path = fx.journal;
	cfg.params.step_min = 0;
	assert_int_equal(harvest_open(&fx.hv, &cfg), -EINVAL);
	harvest_config_defaults(&cfg);
	cfg.app = fx.app;
	cfg.journal_path = fx.journal;
	cfg.step_timeout_ms = 0;
	assert_int_equal(harvest_open(&fx.hv, &cfg), -EINVAL);
	fx.hv = NULL;
}

static void repair_should_restore_the_journalled_limit_and_remove_the_journal(void **state)
{
	struct harvest_journal j = { .cgroup = "app", .knob = HARVEST_KNOB_LIMIT, .previous = 2 * GIB };

	assert_int_equal(tree_put(fx.root, "app/memory.limit_in_bytes", "104857600\n"), 0);
	put_journal(&j);
	assert_int_equal(open_default(), 0);
	assert_content("app/memory.limit_in_bytes", "2147483648");
	assert_no_journal();
}

static void repair_should_write_unlimited_as_v1_spells_it(void **state)
{
	struct harvest_journal j = { .cgroup = "app", .knob = HARVEST_KNOB_LIMIT, .previous = CG_UNLIMITED };

	put_journal(&j);
	assert_int_equal(open_default(), 0);
	assert_content("app/memory.limit_in_bytes", "-1");
}

static void repair_should_do_nothing_without_a_journal(void **state)
{
	assert_int_equal(open_default(), 0);
	assert_content("app/memory.limit_in_bytes", "3221225472\n");
}

static void repair_should_drop_a_journal_whose_cgroup_is_gone(void **state)
{
	struct harvest_journal j = { .cgroup = "gone", .knob = HARVEST_KNOB_LIMIT, .previous = GIB };

	put_journal(&j);
	assert_int_equal(open_default(), 0);
	assert_no_journal();
}

static void repair_should_refuse_and_remove_a_malformed_journal(void **state)
{
	assert_int_equal(tree_put(fx.root, "harvest.journal", "usbd-harvest-journal 1\ncgroup app\nknob limit\n"), 0);
	assert_int_equal(open_default(), 0);
	assert_no_journal();
	assert_content("app/memory.limit_in_bytes", "3221225472\n");
}

/* A symlink at the journal is never followed: not read (its target is not obeyed), not removed. */
static void repair_should_refuse_a_journal_that_is_a_symlink(void **state)
{
	char target[PATH_MAX + 16];

	assert_int_equal(tree_put(fx.root, "elsewhere", "usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 1\n"), 0);
	snprintf(target, sizeof(target), "%s/elsewhere", fx.root);
	assert_int_equal(symlink(target, fx.journal), 0);
	assert_int_equal(open_default(), -ELOOP);
	fx.hv = NULL;
	assert_content("app/memory.limit_in_bytes", "3221225472\n");
	claim_journal();
	assert_int_equal(harvest_journal_read(&fx.jf, &(struct harvest_journal){ 0 }), -ELOOP);
	assert_int_equal(readlink(fx.journal, target, sizeof(target)) > 0, 1);
}

/* A link planted at JOURNAL.tmp (to a root-owned file, say) is replaced, never written through. */
static void journal_write_should_not_follow_a_planted_temporary_link(void **state)
{
	struct harvest_journal j = { .cgroup = "app", .knob = HARVEST_KNOB_LIMIT, .previous = 1 };
	char target[PATH_MAX + 16], tmp[PATH_MAX + 64];
	struct stat st;

	assert_int_equal(tree_put(fx.root, "victim", "precious\n"), 0);
	snprintf(target, sizeof(target), "%s/victim", fx.root);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx.journal);
	assert_int_equal(symlink(target, tmp), 0);
	claim_journal();
	assert_int_equal(harvest_journal_write(&fx.jf, &j), 0);
	assert_content("victim", "precious\n");
	assert_content("harvest.journal", "usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 1\n");
	assert_int_equal(lstat(fx.journal, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(tmp, &st), -1);
}

static void journal_should_round_trip_and_leave_no_temporary_file(void **state)
{
	struct harvest_journal in = { .cgroup = "a/b c", .knob = HARVEST_KNOB_HIGH, .previous = 12345 }, out;
	char tmp[PATH_MAX + 64];

	claim_journal();
	assert_int_equal(harvest_journal_write(&fx.jf, &in), 0);
	assert_content("harvest.journal", "usbd-harvest-journal 1\ncgroup a/b c\nknob high\nprevious 12345\n");
	assert_int_equal(harvest_journal_read(&fx.jf, &out), 0);
	assert_string_equal(out.cgroup, "a/b c");
	assert_int_equal(out.knob, HARVEST_KNOB_HIGH);
	assert_int_equal(out.previous, 12345);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx.journal);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(harvest_journal_remove(&fx.jf), 0);
	assert_int_equal(harvest_journal_remove(&fx.jf), 0);
	assert_int_equal(harvest_journal_read(&fx.jf, &out), -ENOENT);
}

static void journal_should_refuse_a_name_with_a_newline(void **state)
{
	struct harvest_journal j = { .cgroup = "a\nprevious 1", .knob = HARVEST_KNOB_LIMIT, .previous = 1 };

	claim_journal();
	assert_int_equal(harvest_journal_write(&fx.jf, &j), -EINVAL);
	assert_no_journal();
}

static void journal_read_should_refuse_damaged_files(void **state)
{
	static const char *const bad[] = {
		"",
		"usbd-harvest-journal 2\ncgroup app\nknob limit\nprevious 1\n",
		"usbd-harvest-journal 1\ncgroup app\nknob middle\nprevious 1\n",
		"usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious -1\n",
		"usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 99999999999999999999\n",
		"usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 1x\n",
		"usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 1",
		"usbd-harvest-journal 1\ncgroup app\nknob limit\nprevious 1\nextra\n",
	};
	struct harvest_journal j;
	char big[HARVEST_JOURNAL_MAX + 16];

	claim_journal();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tree_put(fx.root, "harvest.journal", bad[i]), 0);
		assert_int_equal(harvest_journal_read(&fx.jf, &j), -EINVAL);
	}
	memset(big, 'a', sizeof(big));
	assert_int_equal(tree_put_bytes(fx.root, "harvest.journal", big, sizeof(big)), 0);
	assert_int_equal(harvest_journal_read(&fx.jf, &j), -EINVAL);
	assert_int_equal(tree_put_bytes(fx.root, "harvest.journal", "usbd-harvest-journal 1\0\n", 24), 0);
	assert_int_equal(harvest_journal_read(&fx.jf, &j), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(v2_step_should_write_the_step_to_memory_reclaim, setup_v2, teardown),
		cmocka_unit_test_setup_teardown(v2_step_without_memory_reclaim_should_lower_memory_high_then_restore_it,
						setup_v2_without_reclaim, teardown),
		cmocka_unit_test_setup_teardown(v1_step_should_lower_the_limit_in_slices_then_restore_it, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(v1_step_should_restore_the_limit_after_its_timeout, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(step_should_wait_while_the_host_has_no_free_swap, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(step_should_end_when_free_swap_runs_out_mid_step, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(step_should_not_lower_anything_when_the_journal_cannot_be_written,
						setup_v1, teardown),
		cmocka_unit_test_setup_teardown(close_should_restore_the_limit_of_a_step_in_flight, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(open_should_refuse_a_journal_another_process_holds, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(open_should_refuse_a_directory_others_may_write_or_own, setup_v1,
						teardown),
		cmocka_unit_test_setup_teardown(open_should_make_a_missing_directory_only_its_owner_may_write, setup_v1,
						teardown),
		cmocka_unit_test_setup_teardown(open_should_refuse_bad_params, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_restore_the_journalled_limit_and_remove_the_journal,
						setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_write_unlimited_as_v1_spells_it, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_do_nothing_without_a_journal, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_drop_a_journal_whose_cgroup_is_gone, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_refuse_and_remove_a_malformed_journal, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(repair_should_refuse_a_journal_that_is_a_symlink, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(journal_write_should_not_follow_a_planted_temporary_link, setup_v1,
						teardown),
		cmocka_unit_test_setup_teardown(journal_should_round_trip_and_leave_no_temporary_file, setup_v1,
						teardown),
		cmocka_unit_test_setup_teardown(journal_should_refuse_a_name_with_a_newline, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(journal_read_should_refuse_damaged_files, setup_v1, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
