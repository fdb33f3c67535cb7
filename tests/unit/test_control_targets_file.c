/* Unit tests of src/control/state.c: the targets' state file, its format, its directory check and atomic replace. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/size.h"
#include "control/targets_file.h"

static void format_then_parse_should_keep_only_the_fields_set(void **state)
{
	struct targets t = { { [TARGET_GRAB_LOWER] = GIB, [TARGET_HEADROOM] = 3 * MIB } }, back;
	unsigned mask = TARGET_BIT(TARGET_GRAB_LOWER) | TARGET_BIT(TARGET_HEADROOM), got;
	char buf[STATE_MAX_BYTES], err[128] = "";
	int n = state_format(&t, mask, buf, sizeof(buf));

	assert_true(n > 0);
	assert_string_equal(buf, "{\n  \"grab_lower_bytes\": 1073741824,\n  \"headroom_bytes\": 3145728\n}\n");
	assert_int_equal(state_parse(buf, &back, &got, err, sizeof(err)), 0);
	assert_int_equal(got, mask);
	assert_true(back.v[TARGET_GRAB_LOWER] == GIB && back.v[TARGET_HEADROOM] == 3 * MIB);
	assert_int_equal(state_format(&t, 0, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "{}\n");
	assert_int_equal(state_format(&t, mask, buf, 10), -ENOSPC);
}

static void parse_should_refuse_with_the_key_named(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "[]", "not a JSON object" },
		{ "{\"grab_lower\": 1}", "unknown key 'grab_lower'" },
		{ "{\"grab_lower_bytes\": -1}", "grab_lower_bytes must be a number of bytes" },
		{ "{\"grab_lower_bytes\": \"1G\"}", "grab_lower_bytes must be a number of bytes" },
		{ "{", "line 1, column 1: string or '}' expected near end of file" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct targets t = { { 7 } };
		unsigned mask = 99;
		char err[128] = "";

		assert_int_equal(state_parse(cases[i].text, &t, &mask, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(mask, 99);
		assert_true(t.v[0] == 7);
	}
}

static char dir[64];

static void make_dir(mode_t mode)
{
	snprintf(dir, sizeof(dir), "/tmp/usbd-state-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, mode), 0);
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void save_then_load_should_survive_and_leave_no_temp_file(void **state)
{
	struct targets t = { { [TARGET_THRESHOLD] = 5 * MIB } }, back;
	struct state_file sf;
	char path[128], tmp[140], err[256] = "";
	unsigned mask;

	make_dir(0700);
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(state_open(&sf, path, err, sizeof(err)), 0);
	assert_int_equal(state_load(&sf, &back, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, 0); /* none yet */
	/* A symlink planted at the temporary name is removed, never written through. */
	assert_int_equal(symlink("/etc/passwd", tmp), 0);
	assert_int_equal(state_save(&sf, &t, TARGET_BIT(TARGET_THRESHOLD)), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(state_load(&sf, &back, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, TARGET_BIT(TARGET_THRESHOLD));
	assert_true(back.v[TARGET_THRESHOLD] == 5 * MIB);
	state_close(&sf);
	remove_dir();
}

static void load_should_not_follow_a_symlink(void **state)
{
	struct state_file sf;
	struct targets t;
	char path[128], err[256] = "", want[512];
	unsigned mask;

	make_dir(0700);
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(state_open(&sf, path, err, sizeof(err)), 0);
	assert_int_equal(state_load(&sf, &t, &mask, err, sizeof(err)), -ELOOP);
	snprintf(want, sizeof(want), "state file %s: is a symlink (not followed)", path);
	assert_string_equal(err, want);
	state_close(&sf);
	remove_dir();
}

static void open_should_refuse_a_directory_others_may_write(void **state)
{
	struct state_file sf;
	char path[128], err[256] = "", want[512];

	make_dir(0777);
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	assert_int_equal(state_open(&sf, path, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "--state-file %s: its directory %s belongs to uid %u with mode 0777: it must belong "
		 "to root and be writable by nobody else", path, dir, (unsigned)geteuid());
	assert_string_equal(err, want);
	assert_int_equal(sf.dirfd, -1);
	assert_int_equal(state_open(&sf, "off", err, sizeof(err)), 0);
	assert_int_equal(sf.dirfd, -1);
	remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_then_parse_should_keep_only_the_fields_set),
		cmocka_unit_test(parse_should_refuse_with_the_key_named),
		cmocka_unit_test(save_then_load_should_survive_and_leave_no_temp_file),
		cmocka_unit_test(load_should_not_follow_a_symlink),
		cmocka_unit_test(open_should_refuse_a_directory_others_may_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
