#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/targets.h"

static void lookup_should_find_each_field_by_its_command_line_name(void **state)
{
	assert_int_equal(target_lookup("grab-lower"), TARGET_GRAB_LOWER);
	assert_int_equal(target_lookup("grab-upper"), TARGET_GRAB_UPPER);
	assert_int_equal(target_lookup("swap-target"), TARGET_SWAP_TARGET);
	assert_int_equal(target_lookup("headroom"), TARGET_HEADROOM);
	assert_int_equal(target_lookup("threshold"), TARGET_THRESHOLD);
	assert_int_equal(target_lookup("grab_lower"), TARGET_GRAB_LOWER); /* the config file's spelling */
	assert_int_equal(target_lookup("grab"), -ENOENT);
	assert_int_equal(target_lookup(""), -ENOENT);
}

static void descriptions_should_name_the_api_fields(void **state)
{
	assert_string_equal(target_descs[TARGET_GRAB_LOWER].mib_key, "grab_lower_mib");
	assert_string_equal(target_descs[TARGET_SWAP_TARGET].bytes_key, "swap_target_bytes");
	assert_string_equal(target_descs[TARGET_THRESHOLD].mib_key, "threshold_mib");
}

static void size_mib_should_accept_whole_mib_only(void **state)
{
	uint64_t mib = 77;

	assert_int_equal(target_size_mib("0", &mib), 0);
	assert_true(mib == 0);
	assert_int_equal(target_size_mib("2048K", &mib), 0);
	assert_true(mib == 2);
	assert_int_equal(target_size_mib("16T", &mib), 0);
	assert_true(mib == 16u * 1024 * 1024);
	mib = 77;
	assert_int_equal(target_size_mib("1K", &mib), -EDOM);
	assert_int_equal(target_size_mib("1.5G", &mib), -EINVAL);
	assert_int_equal(target_size_mib("99999999999T", &mib), -ERANGE);
	assert_true(mib == 77);
}

static void patch_body_should_hold_exactly_the_masked_fields(void **state)
{
	struct target_patch p = { .mask = (1u << TARGET_GRAB_UPPER) | (1u << TARGET_HEADROOM) };
	char *body;

	p.mib[TARGET_GRAB_LOWER] = 5;
	p.mib[TARGET_GRAB_UPPER] = 2048;
	p.mib[TARGET_HEADROOM] = 0;
	body = target_patch_body(&p);
	assert_non_null(body);
	assert_string_equal(body, "{\"grab_upper_mib\":2048,\"headroom_mib\":0}");
	free(body);
}

static void patch_body_should_carry_the_largest_mib_count_exactly(void **state)
{
	struct target_patch p = { .mask = 1u << TARGET_SWAP_TARGET };
	char *body;

	p.mib[TARGET_SWAP_TARGET] = UINT64_MAX >> 20;
	body = target_patch_body(&p);
	assert_string_equal(body, "{\"swap_target_mib\":17592186044415}");
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_should_find_each_field_by_its_command_line_name),
		cmocka_unit_test(descriptions_should_name_the_api_fields),
		cmocka_unit_test(size_mib_should_accept_whole_mib_only),
		cmocka_unit_test(patch_body_should_hold_exactly_the_masked_fields),
		cmocka_unit_test(patch_body_should_carry_the_largest_mib_count_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
