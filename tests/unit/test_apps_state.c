/* Unit tests of src/apps/state: the registry's record of its changes, repaired on a temporary v1-like tree. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apps/state.h"
#include "test_sys_tree.h"

struct fx {
	char dir[PATH_MAX], state[PATH_MAX * 2];
	struct cg_hier h;
};

static int setup(void **state)
{
	static struct fx fx;

	if (tree_make(fx.dir) || tree_mkdir(fx.dir, "dom") || tree_mkdir(fx.dir, "dom/app") ||
	    tree_mkdir(fx.dir, "dom/app/sub") || tree_mkdir(fx.dir, "dom/app/usbd-registered") ||
	    tree_put(fx.dir, "dom/memory.swappiness", "0\n") || tree_put(fx.dir, "dom/app/memory.swappiness", "0\n") ||
	    tree_put(fx.dir, "dom/app/sub/cgroup.procs", "") ||
	    tree_put(fx.dir, "dom/app/usbd-registered/cgroup.procs", "123\n") || cg_hier_open(&fx.h, fx.dir, 1))
		return -1;
	snprintf(fx.state, sizeof(fx.state), "%s/apps.sock.state", fx.dir);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tree_remove(fx->dir);
	return 0;
}

static void state_repair_should_move_apps_back_restore_swap_and_remove_the_state(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	assert_int_equal(tree_put(fx->dir, "apps.sock.state", "usbd-registry-state 1\nregistered dom/app/usbd-registered\n"
				  "swap 60 dom\nswap 37 dom/app\napp 123 dom/app/sub\n"), 0);
	assert_int_equal(state_repair(&fx->h, fx->state), 0);
	assert_true(tree_get(fx->dir, "dom/memory.swappiness", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "60");
	assert_true(tree_get(fx->dir, "dom/app/memory.swappiness", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "37");
	assert_true(tree_get(fx->dir, "dom/app/sub/cgroup.procs", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "123");
	assert_int_equal(access(fx->state, F_OK), -1);
	assert_int_equal(state_repair(&fx->h, fx->state), 0); /* none: nothing to do */
}

static void state_repair_should_refuse_a_malformed_state_and_change_nothing(void **state)
{
	static const char *const bad[] = {
		"usbd-registry-state 2\nregistered dom/app/usbd-registered\nswap 60 dom\n",
		"usbd-registry-state 1\nregistered dom/app\nswap 60 dom\n", /* not a registered cgroup */
		"usbd-registry-state 1\nregistered dom/app/usbd-registered\nswap 6x0 dom\n",
		"usbd-registry-state 1\nregistered dom/app/usbd-registered\nswap 60 dom\nmove 1 dom\n",
		"usbd-registry-state 1\nregistered dom/app/usbd-registered\nswap 60 dom", /* cut short */
		"usbd-registry-state 1\nregistered dom/app/usbd-registered\napp -1 dom\n",
	};
	struct fx *fx = *state;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tree_put(fx->dir, "apps.sock.state", bad[i]), 0);
		assert_int_equal(state_repair(&fx->h, fx->state), -EINVAL);
		assert_int_equal(access(fx->state, F_OK), -1);
		assert_true(tree_get(fx->dir, "dom/memory.swappiness", buf, sizeof(buf)) > 0);
		assert_string_equal(buf, "0\n");
		assert_true(tree_get(fx->dir, "dom/app/usbd-registered/cgroup.procs", buf, sizeof(buf)) > 0);
		assert_string_equal(buf, "123\n");
	}
}

static void state_write_should_record_the_scheme_and_the_registered_apps(void **state)
{
	struct fx *fx = *state;
	struct swap_saved saved[2] = { { .name = "dom", .old = "60" }, { .name = "dom/app", .old = "max" } };
	struct scheme s = { .saved = saved, .nsaved = 2 };
	struct app b = { .pid = 8, .registered = false }, a = { .pid = 7, .registered = true, .next = &b };
	char buf[512];

	snprintf(s.reg_cg.name, sizeof(s.reg_cg.name), "dom/app/usbd-registered");
	snprintf(a.from, sizeof(a.from), "dom/app/sub");
	assert_int_equal(state_write(fx->state, &s, &a), 0);
	assert_true(tree_get(fx->dir, "apps.sock.state", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "usbd-registry-state 1\nregistered dom/app/usbd-registered\nswap 60 dom\n"
				 "swap max dom/app\napp 7 dom/app/sub\n");
	snprintf(a.from, sizeof(a.from), "dom\nswap 0 x");
	assert_int_equal(state_write(fx->state, &s, &a), -EINVAL);
	assert_true(tree_get(fx->dir, "apps.sock.state", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "app 7 dom/app/sub\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(state_repair_should_move_apps_back_restore_swap_and_remove_the_state,
						setup, teardown),
		cmocka_unit_test_setup_teardown(state_repair_should_refuse_a_malformed_state_and_change_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(state_write_should_record_the_scheme_and_the_registered_apps, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
