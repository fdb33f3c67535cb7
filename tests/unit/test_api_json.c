/* Request body validators (src/api/request.h): good bodies and every error, with the exact message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/request.h"

/* Bodies are copied to the end of a page followed by an inaccessible one, so that any over-read crashes. */
static char *guard_base;
static size_t page;

static int setup_guard(void **state)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	guard_base = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED || mprotect(guard_base + page, page, PROT_NONE))
		return -1;
	return 0;
}

static int teardown_guard(void **state)
{
	return munmap(guard_base, 2 * page);
}

static const char *at_guard(const char *body)
{
	size_t len = strlen(body);

	assert_true(len <= page);
	return memcpy(guard_base + page - len, body, len);
}

enum which { PUT_BALLOON, PATCH_BALLOON, PATCH_STATS, PATCH_TARGETS };

/* Runs one validator on body; returns its result and leaves the message in err. */
static int run(enum which w, const char *body, char *err, size_t err_len)
{
	const char *b = at_guard(body);
	size_t len = strlen(body);
	struct api_balloon balloon;
	struct api_targets targets = { 0 };
	uint32_t amount;
	uint16_t interval;
	unsigned int mask;

	switch (w) {
	case PUT_BALLOON:
		return request_parse_balloon_put(b, len, &balloon, err, err_len);
	case PATCH_BALLOON:
		return request_parse_balloon_patch(b, len, &amount, err, err_len);
	case PATCH_STATS:
		return request_parse_stats_patch(b, len, &interval, err, err_len);
	case PATCH_TARGETS:
		return request_parse_targets_patch(b, len, &targets, &mask, err, err_len);
	}
	return 0;
}

struct bad_case {
	enum which which;
	const char *body;
	const char *message;
};

#define NOT_U32 "amount_mib: expected an unsigned 32-bit integer"

static const struct bad_case bad_cases[] = {
	{ PUT_BALLOON, "", "request body is empty: expected a JSON object" },
	{ PUT_BALLOON, " \r\n\t", "request body is empty: expected a JSON object" },
	{ PUT_BALLOON, "[]", "expected a JSON object" },
	{ PUT_BALLOON, "[1, 2]", "expected a JSON object" },
	{ PUT_BALLOON, "42", "invalid JSON at line 1, column 2: '[' or '{' expected near '42'" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true", "invalid JSON at line 1, column 40: "
								       "'}' expected near end of file" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true} x",
	  "invalid JSON at line 1, column 43: end of file expected near 'x'" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"amount_mib\": 2, \"deflate_on_oom\": true}",
	  "invalid JSON at line 1, column 30: duplicate object key near '\"amount_mib\"'" },
	{ PUT_BALLOON, "{\"amount_mib\": 99999999999999999999, \"deflate_on_oom\": true}",
	  "invalid JSON at line 1, column 35: too big integer near '99999999999999999999'" },
	{ PUT_BALLOON, "{\"amout_mib\": 1, \"deflate_on_oom\": true}", "unknown field 'amout_mib'" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"x\\u0001y\": 0}", "unknown field 'x?y'" },
	{ PUT_BALLOON, "{\"amount_mib\": -1, \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": 4294967296, \"deflate_on_oom\": true}",
	  NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": 1.0, \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": 1e3, \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": \"1\", \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": null, \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": true, \"deflate_on_oom\": true}", NOT_U32 },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": 1}", "deflate_on_oom: expected true or false" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": \"true\"}", "deflate_on_oom: expected true or false" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 65536}",
	  "stats_polling_interval_s: expected an unsigned 16-bit integer" },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": -1}",
	  "stats_polling_interval_s: expected an unsigned 16-bit integer" },
	{ PUT_BALLOON, "{\"deflate_on_oom\": true}", "missing field 'amount_mib'" },
	{ PUT_BALLOON, "{\"amount_mib\": 1}", "missing field 'deflate_on_oom'" },
	{ PUT_BALLOON, "{}", "missing field 'amount_mib'" },
	{ PATCH_BALLOON, "", "request body is empty: expected a JSON object" },
	{ PATCH_BALLOON, "{}", "missing field 'amount_mib'" },
	{ PATCH_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true}", "unknown field 'deflate_on_oom'" },
	{ PATCH_BALLOON, "{\"amount_mib\": -5}", NOT_U32 },
	{ PATCH_STATS, "{}", "missing field 'stats_polling_interval_s'" },
	{ PATCH_STATS, "{\"stats_polling_interval_s\": 65536}",
	  "stats_polling_interval_s: expected an unsigned 16-bit integer" },
	{ PATCH_STATS, "{\"stats_polling_interval_s\": 0.5}",
	  "stats_polling_interval_s: expected an unsigned 16-bit integer" },
	{ PATCH_STATS, "{\"amount_mib\": 1}", "unknown field 'amount_mib'" },
	{ PATCH_TARGETS, "{}", "expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, "
			       "headroom_mib, threshold_mib" },
	{ PATCH_TARGETS, "", "request body is empty: expected a JSON object" },
	{ PATCH_TARGETS, "{\"grab_lower\": 1}", "unknown field 'grab_lower'" },
	{ PATCH_TARGETS, "{\"headroom_mib\": -1}",
	  "headroom_mib: expected an unsigned integer number of MiB, at most 17592186044415" },
	{ PATCH_TARGETS, "{\"threshold_mib\": 17592186044416}",
	  "threshold_mib: expected an unsigned integer number of MiB, at most 17592186044415" },
	{ PATCH_TARGETS, "{\"swap_target_mib\": 2.5}",
	  "swap_target_mib: expected an unsigned integer number of MiB, at most 17592186044415" },
	{ PATCH_TARGETS, "{\"grab_upper_mib\": 1, \"grab_upper_mib\": 1}",
	  "invalid JSON at line 1, column 38: duplicate object key near '\"grab_upper_mib\"'" },
};

static void validators_should_refuse_bad_bodies_with_exact_messages(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char err[API_ERR_LEN] = "";
		int rc = run(bad_cases[i].which, bad_cases[i].body, err, sizeof(err));

		if (rc != -EINVAL || strcmp(err, bad_cases[i].message))
			fail_msg("case %zu body '%s': rc %d, message '%s', expected '%s'", i, bad_cases[i].body, rc,
				 err, bad_cases[i].message);
	}
}

static void put_balloon_should_accept_required_fields_and_default_the_interval(void **state)
{
	const char *body = " {\"deflate_on_oom\": true, \"amount_mib\": 100}\n";
	struct api_balloon b = { .stats_polling_interval_s = 9 };
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_balloon_put(at_guard(body), strlen(body), &b, err, sizeof(err)), 0);
	assert_int_equal(b.amount_mib, 100);
	assert_true(b.deflate_on_oom);
	assert_int_equal(b.stats_polling_interval_s, 0);
}

static void put_balloon_should_accept_the_largest_values(void **state)
{
	const char *body = "{\"amount_mib\": 4294967295, \"deflate_on_oom\": false, "
			   "\"stats_polling_interval_s\": 65535}";
	struct api_balloon b = { .deflate_on_oom = true };
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_balloon_put(at_guard(body), strlen(body), &b, err, sizeof(err)), 0);
	assert_int_equal(b.amount_mib, UINT32_MAX);
	assert_false(b.deflate_on_oom);
	assert_int_equal(b.stats_polling_interval_s, UINT16_MAX);
}

static void put_balloon_should_leave_the_output_alone_on_error(void **state)
{
	const char *body = "{\"amount_mib\": 5, \"deflate_on_oom\": 0}";
	struct api_balloon b = { .amount_mib = 77, .deflate_on_oom = true, .stats_polling_interval_s = 3 };
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_balloon_put(at_guard(body), strlen(body), &b, err, sizeof(err)), -EINVAL);
	assert_int_equal(b.amount_mib, 77);
	assert_true(b.deflate_on_oom);
	assert_int_equal(b.stats_polling_interval_s, 3);
}

static void parse_should_read_only_len_bytes_of_an_unterminated_body(void **state)
{
	const char *body = "{\"amount_mib\": 5}garbage";
	uint32_t amount = 0;
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_balloon_patch(at_guard(body), strlen("{\"amount_mib\": 5}"), &amount, err,
						     sizeof(err)), 0);
	assert_int_equal(amount, 5);
}

static void patch_balloon_and_stats_should_accept_zero(void **state)
{
	uint32_t amount = 9;
	uint16_t interval = 9;
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_balloon_patch(at_guard("{\"amount_mib\":0}"), 16, &amount, err, sizeof(err)), 0);
	assert_int_equal(amount, 0);
	assert_int_equal(request_parse_stats_patch(at_guard("{\"stats_polling_interval_s\":0}"), 30, &interval, err,
						   sizeof(err)), 0);
	assert_int_equal(interval, 0);
}

static void patch_targets_should_set_only_the_fields_present_and_their_bits(void **state)
{
	const char *body = "{\"grab_upper_mib\": 17592186044415, \"headroom_mib\": 0}";
	struct api_targets t = { 1, 2, 3, 4, 5 };
	unsigned int mask = 0;
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_targets_patch(at_guard(body), strlen(body), &t, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, API_TARGET_GRAB_UPPER | API_TARGET_HEADROOM);
	assert_true(t.grab_lower_mib == 1 && t.swap_target_mib == 3 && t.threshold_mib == 5);
	assert_true(t.grab_upper_mib == API_MIB_MAX);
	assert_true(t.headroom_mib == 0);
}

static void patch_targets_should_accept_every_field(void **state)
{
	const char *body = "{\"grab_lower_mib\": 1, \"grab_upper_mib\": 2, \"swap_target_mib\": 3, \"headroom_mib\": 4,"
			   " \"threshold_mib\": 5}";
	struct api_targets t = { 0 };
	unsigned int mask = 0;
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_targets_patch(at_guard(body), strlen(body), &t, &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, 0x1f);
	assert_true(t.grab_lower_mib == 1 && t.grab_upper_mib == 2 && t.swap_target_mib == 3 && t.headroom_mib == 4 &&
		    t.threshold_mib == 5);
}

static void unknown_field_names_should_be_shortened_in_messages(void **state)
{
	char body[200], err[API_ERR_LEN];
	uint32_t amount;

	snprintf(body, sizeof(body), "{\"%080d\": 1}", 0);
	assert_int_equal(request_parse_balloon_patch(at_guard(body), strlen(body), &amount, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown field '0000000000000000000000000000000000000000000000000000000000000000...'");
}

static void messages_should_be_truncated_to_the_err_buffer(void **state)
{
	char err[8];
	uint32_t amount;

	assert_int_equal(request_parse_balloon_patch(at_guard("{}"), 2, &amount, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(validators_should_refuse_bad_bodies_with_exact_messages),
		cmocka_unit_test(put_balloon_should_accept_required_fields_and_default_the_interval),
		cmocka_unit_test(put_balloon_should_accept_the_largest_values),
		cmocka_unit_test(put_balloon_should_leave_the_output_alone_on_error),
		cmocka_unit_test(parse_should_read_only_len_bytes_of_an_unterminated_body),
		cmocka_unit_test(patch_balloon_and_stats_should_accept_zero),
		cmocka_unit_test(patch_targets_should_set_only_the_fields_present_and_their_bits),
		cmocka_unit_test(patch_targets_should_accept_every_field),
		cmocka_unit_test(unknown_field_names_should_be_shortened_in_messages),
		cmocka_unit_test(messages_should_be_truncated_to_the_err_buffer),
	};
	return cmocka_run_group_tests(tests, setup_guard, teardown_guard);
}
