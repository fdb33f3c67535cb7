/* Unit tests of src/sys/oom_score: the writer, pointed at a temporary /proc through procfs' root. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sys/oom_score.h"
#include "sys/procfs.h"
#include "test_sys_tree.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	if (tree_make(dir) || tree_mkdir(dir, "77") || tree_mkdir(dir, "self") ||
	    tree_put(dir, "77/oom_score_adj", "0\n") || tree_put(dir, "self/oom_score_adj", "0\n"))
		return -1;
	procfs_set_root(dir);
	return 0;
}

static int teardown(void **state)
{
	procfs_set_root(NULL);
	tree_remove(dir);
	return 0;
}

static void oom_score_set_should_write_the_value_of_a_pid_or_of_self(void **state)
{
	char buf[16];

	assert_int_equal(oom_score_set(77, -900), 0);
	assert_int_equal(tree_get(dir, "77/oom_score_adj", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "-900");
	assert_int_equal(oom_score_set(0, OOM_SCORE_ADJ_MAX), 0);
	assert_int_equal(tree_get(dir, "self/oom_score_adj", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "1000");
}

static void oom_score_set_should_refuse_a_value_out_of_range_and_write_nothing(void **state)
{
	char buf[16];

	assert_int_equal(oom_score_set(77, 1001), -EINVAL);
	assert_int_equal(oom_score_set(77, -1001), -EINVAL);
	assert_int_equal(tree_get(dir, "77/oom_score_adj", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "0\n");
}

static void oom_score_set_should_say_enoent_for_a_missing_pid(void **state)
{
	assert_int_equal(oom_score_set(78, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(oom_score_set_should_write_the_value_of_a_pid_or_of_self, setup,
						teardown),
		cmocka_unit_test_setup_teardown(oom_score_set_should_refuse_a_value_out_of_range_and_write_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(oom_score_set_should_say_enoent_for_a_missing_pid, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
