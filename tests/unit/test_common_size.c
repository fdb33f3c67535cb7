#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"

static void parse_should_read_plain_numbers_as_mib(void **state)
{
	uint64_t b = 0;
	assert_int_equal(size_parse("512", &b), 0);
	assert_true(b == 512 * MIB);
	assert_int_equal(size_parse("0", &b), 0);
	assert_true(b == 0);
}

static void parse_should_accept_binary_suffixes_in_any_case(void **state)
{
	uint64_t b = 0;
	assert_int_equal(size_parse("64K", &b), 0);
	assert_true(b == 64 * KIB);
	assert_int_equal(size_parse("2g", &b), 0);
	assert_true(b == 2 * GIB);
	assert_int_equal(size_parse("1GiB", &b), 0);
	assert_true(b == GIB);
	assert_int_equal(size_parse("3MB", &b), 0);
	assert_true(b == 3 * MIB);
	assert_int_equal(size_parse("1T", &b), 0);
	assert_true(b == TIB);
}

static void parse_should_refuse_garbage_and_leave_output_alone(void **state)
{
	static const char *const bad[] = { "", "-1", "1.5G", "G", "12X", "1GG", " 1", "1 ", "0x10", "1Gi", NULL };
	for (int i = 0; bad[i]; i++) {
		uint64_t b = 77;
		assert_int_equal(size_parse(bad[i], &b), -EINVAL);
		assert_true(b == 77);
	}
	assert_int_equal(size_parse(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void parse_should_report_overflow(void **state)
{
	uint64_t b = 77;
	assert_int_equal(size_parse("18446744073709551616", &b), -ERANGE);
	assert_int_equal(size_parse("17592186044416", &b), -ERANGE); /* 2^44 MiB = 2^64 bytes */
	assert_int_equal(size_parse("16777216T", &b), -ERANGE);
	assert_true(b == 77);
	assert_int_equal(size_parse("17592186044415", &b), 0);
	assert_true(b == (UINT64_C(17592186044415) << 20));
}

static void format_should_use_short_human_units(void **state)
{
	char buf[16];
	assert_string_equal(size_format(0, buf, sizeof(buf)), "0");
	assert_string_equal(size_format(512 * KIB, buf, sizeof(buf)), "512K");
	assert_string_equal(size_format(3 * GIB / 2, buf, sizeof(buf)), "1.5G");
	assert_string_equal(size_format(UINT64_MAX, buf, sizeof(buf)), "16E");
}

static void saturating_arithmetic_should_clamp(void **state)
{
	assert_true(sat_sub(1, 2) == 0);
	assert_true(sat_add(UINT64_MAX, 1) == UINT64_MAX);
	assert_true(round_up(UINT64_MAX, 2 * MIB) == round_down(UINT64_MAX, 2 * MIB));
	assert_true(round_up(1, 2 * MIB) == 2 * MIB);
	assert_true(round_down(3 * MIB, 2 * MIB) == 2 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_should_read_plain_numbers_as_mib),
		cmocka_unit_test(parse_should_accept_binary_suffixes_in_any_case),
		cmocka_unit_test(parse_should_refuse_garbage_and_leave_output_alone),
		cmocka_unit_test(parse_should_report_overflow),
		cmocka_unit_test(format_should_use_short_human_units),
		cmocka_unit_test(saturating_arithmetic_should_clamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
