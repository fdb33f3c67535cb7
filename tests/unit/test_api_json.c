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

enum which { PUT_BALLOON, PATCH_BALLOON, PATCH_STATS, PATCH_TARGETS, HINTING_START };

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
	bool ack;

	switch (w) {
	case PUT_BALLOON:
		return request_parse_balloon_put(b, len, &balloon, err, err_len);
	case PATCH_BALLOON:
		return request_parse_balloon_patch(b, len, &amount, err, err_len);
	case PATCH_STATS:
		return request_parse_stats_patch(b, len, &interval, err, err_len);
	case PATCH_TARGETS:
		return request_parse_targets_patch(b, len, &targets, &mask, err, err_len);
	case HINTING_START:
		return request_parse_hinting_start(b, len, &ack, err, err_len);
	}
	return 0;
}

struct bad_case {
	enum which which;
	const char *body;
	const char *message;
};

#define FC(msg) "An error occurred when deserializing the json body of a request: " msg
#define NOT_MIB "u64 of at most 17592186044415 (MiB)"

/*
 * Firecracker's cases: each message is what Firecracker v1.16.1 answers, produced by serde_json from Firecracker's
 * own struct definitions (src/vmm/src/vmm_config/balloon.rs: BalloonDeviceConfig, BalloonUpdateConfig,
 * BalloonUpdateStatsConfig; src/vmm/src/devices/virtio/balloon/device.rs: StartHintingCmd), with the prefix of
 * src/firecracker/src/api_server/parsed_request.rs (RequestError::SerdeJson). The router never passes an empty
 * body (that is "Empty PUT request."); the parser still answers it as serde_json does.
 */
static const struct bad_case bad_cases[] = {
	{ PUT_BALLOON, "",
	  FC("EOF while parsing a value at line 1 column 0.") },
	{ PUT_BALLOON, "42",
	  FC("invalid type: integer `42`, expected struct BalloonDeviceConfig at line 1 column 2.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true",
	  FC("EOF while parsing an object at line 1 column 40.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true} x",
	  FC("trailing characters at line 1 column 43.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"amount_mib\": 2, \"deflate_on_oom\": true}",
	  FC("duplicate field `amount_mib` at line 1 column 30.") },
	{ PUT_BALLOON, "{\"amout_mib\": 1, \"deflate_on_oom\": true}",
	  FC("unknown field `amout_mib`, expected one of `amount_mib`, `deflate_on_oom`, `stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` at line 1 column 12.") },
	{ PUT_BALLOON, "{\"amount_mib\": -1, \"deflate_on_oom\": true}",
	  FC("invalid value: integer `-1`, expected u32 at line 1 column 17.") },
	{ PUT_BALLOON, "{\"amount_mib\": 4294967296, \"deflate_on_oom\": true}",
	  FC("invalid value: integer `4294967296`, expected u32 at line 1 column 25.") },
	{ PUT_BALLOON, "{\"amount_mib\": 0.5, \"deflate_on_oom\": true}",
	  FC("invalid type: floating point `0.5`, expected u32 at line 1 column 18.") },
	{ PUT_BALLOON, "{\"amount_mib\": \"1\", \"deflate_on_oom\": true}",
	  FC("invalid type: string \"1\", expected u32 at line 1 column 18.") },
	{ PUT_BALLOON, "{\"amount_mib\": null, \"deflate_on_oom\": true}",
	  FC("invalid type: null, expected u32 at line 1 column 19.") },
	{ PUT_BALLOON, "{\"amount_mib\": true, \"deflate_on_oom\": true}",
	  FC("invalid type: boolean `true`, expected u32 at line 1 column 19.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": 1}",
	  FC("invalid type: integer `1`, expected a boolean at line 1 column 37.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": \"true\"}",
	  FC("invalid type: string \"true\", expected a boolean at line 1 column 42.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 65536}",
	  FC("invalid value: integer `65536`, expected u16 at line 1 column 75.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": -1}",
	  FC("invalid value: integer `-1`, expected u16 at line 1 column 72.") },
	{ PUT_BALLOON, "{\"deflate_on_oom\": true}",
	  FC("missing field `amount_mib` at line 1 column 24.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1}",
	  FC("missing field `deflate_on_oom` at line 1 column 17.") },
	{ PUT_BALLOON, "{}",
	  FC("missing field `amount_mib` at line 1 column 2.") },
	{ PUT_BALLOON, "{\"amount_mib\": \"a\\\"b\\\\c\\u0001d\", \"deflate_on_oom\": true}",
	  FC("invalid type: string \"a\\\"b\\\\c\\u{1}d\", expected u32 at line 1 column 31.") },
	{ PUT_BALLOON, "{\"amount_mib\": \"\\q\", \"deflate_on_oom\": true}",
	  FC("invalid escape at line 1 column 18.") },
	{ PUT_BALLOON, "{\"amount_mib\": \"abc",
	  FC("EOF while parsing a string at line 1 column 19.") },
	{ PUT_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": 0}",
	  FC("invalid type: integer `0`, expected a boolean at line 1 column 64.") },
	{ PUT_BALLOON, "{\"amount_mib\" : 1, \"x\" : 2}",
	  FC("unknown field `x`, expected one of `amount_mib`, `deflate_on_oom`, `stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` at line 1 column 23.") },
	{ PATCH_BALLOON, "",
	  FC("EOF while parsing a value at line 1 column 0.") },
	{ PATCH_BALLOON, "{}",
	  FC("missing field `amount_mib` at line 1 column 2.") },
	{ PATCH_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true}",
	  FC("unknown field `deflate_on_oom`, expected `amount_mib` at line 1 column 34.") },
	{ PATCH_BALLOON, "{\"amount_mib\": -5}",
	  FC("invalid value: integer `-5`, expected u32 at line 1 column 17.") },
	{ PATCH_BALLOON, "{\"amount_mib\": 1, \"amount_mib\": 2}",
	  FC("duplicate field `amount_mib` at line 1 column 30.") },
	{ PATCH_BALLOON, "{\"amount_mib\":-}",
	  FC("invalid number at line 1 column 16.") },
	{ PATCH_BALLOON, "{\"amount_mib\":1.}",
	  FC("invalid number at line 1 column 17.") },
	{ PATCH_BALLOON, "{\"amount_mib\":1e}",
	  FC("invalid number at line 1 column 17.") },
	{ PATCH_BALLOON, "{\"amount_mib\":--1}",
	  FC("invalid number at line 1 column 16.") },
	{ PATCH_STATS, "{}",
	  FC("missing field `stats_polling_interval_s` at line 1 column 2.") },
	{ PATCH_STATS, "{\"stats_polling_interval_s\": 65536}",
	  FC("invalid value: integer `65536`, expected u16 at line 1 column 34.") },
	{ PATCH_STATS, "{\"stats_polling_interval_s\": 0.5}",
	  FC("invalid type: floating point `0.5`, expected u16 at line 1 column 32.") },
	{ PATCH_STATS, "{\"amount_mib\": 1}",
	  FC("unknown field `amount_mib`, expected `stats_polling_interval_s` at line 1 column 13.") },
	{ HINTING_START, "{\"a\": {\"b\" 1}}",
	  FC("expected `:` at line 1 column 12.") },
	{ HINTING_START, "{\"a\": tx}",
	  FC("expected ident at line 1 column 8.") },
	{ PUT_BALLOON, "{\"amount_mib\": \"\\ud800\", \"deflate_on_oom\": true}",
	  FC("unexpected end of hex escape at line 1 column 23.") },
	{ PUT_BALLOON, "{\"amount_mib\": 99999999999999999999, \"deflate_on_oom\": true}",
	  FC("invalid type: floating point `1e20`, expected u32 at line 1 column 35.") },
	/* found by comparing this parser with serde_json on random mutations of these bodies */
	{ PATCH_STATS, "{\"st.ts_polling\\ud800\\interval_s\":1}",
	  FC("unexpected end of hex escape at line 1 column 23.") },
	{ PATCH_BALLOON, "{\"amount_mib\": 4e29496729999999999999999999995}",
	  FC("number out of range at line 1 column 27.") },
	{ HINTING_START, "{\"x\":[1,{\"a\":null},],\"acknowledge_on_stop\":true}",
	  FC("expected value at line 1 column 20.") },
	{ HINTING_START, "{\"x\":{\"a\":1,}}",
	  FC("key must be a string at line 1 column 13.") },
	{ PATCH_BALLOON, "{\"amount_m\\u00008f00ib\":1}",
	  FC("unknown field `amount_m?8f00ib`, expected `amount_mib` at line 1 column 23.") },
	/* usbd's refusal of a struct read from a JSON array (serde would accept one; request.h) */
	{ PUT_BALLOON, "[1, 2]", FC("invalid type: sequence, expected struct BalloonDeviceConfig at line 1 column 1.") },
	/* usbd's own /usbd/targets, under the same rules */
	{ PATCH_TARGETS, "{}", "expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, "
			       "headroom_mib, threshold_mib" },
	{ PATCH_TARGETS, "{\"grab_lower\": 1}",
	  FC("unknown field `grab_lower`, expected one of `grab_lower_mib`, `grab_upper_mib`, `swap_target_mib`, "
	     "`headroom_mib`, `threshold_mib` at line 1 column 13.") },
	{ PATCH_TARGETS, "{\"headroom_mib\": -1}", FC("invalid value: integer `-1`, expected " NOT_MIB " at line 1 column 19.") },
	{ PATCH_TARGETS, "{\"threshold_mib\": 17592186044416}",
	  FC("invalid value: integer `17592186044416`, expected " NOT_MIB " at line 1 column 32.") },
	{ PATCH_TARGETS, "{\"swap_target_mib\": 2.5}",
	  FC("invalid type: floating point `2.5`, expected " NOT_MIB " at line 1 column 23.") },
	{ PATCH_TARGETS, "{\"grab_upper_mib\": 1, \"grab_upper_mib\": 1}",
	  FC("duplicate field `grab_upper_mib` at line 1 column 38.") },
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

static void tenant_put_should_read_the_password_and_quota(void **state)
{
	const char *body = "{\"password\": \"p\\u00e9-\\\"x\", \"quota_mib\": 64}";
	struct api_tenant t = { .name = "kept" };
	char err[API_ERR_LEN];

	assert_int_equal(request_parse_tenant_put(at_guard(body), strlen(body), &t, err, sizeof(err)), 0);
	assert_string_equal(t.password, "p\xc3\xa9-\"x");
	assert_int_equal(t.quota_mib, 64);
	assert_string_equal(t.name, "kept");
	body = "{\"password\": \"pw\"}";
	assert_int_equal(request_parse_tenant_put(at_guard(body), strlen(body), &t, err, sizeof(err)), 0);
	assert_int_equal(t.quota_mib, 0);
}

static void tenant_put_should_refuse_without_echoing_the_password(void **state)
{
	static const struct {
		const char *body, *err;
	} cases[] = {
		{ "{\"quota_mib\": 1}", "missing field `password` at line 1 column 16." },
		{ "{\"password\": \"\"}", "invalid length 0, expected a string of 1 to 127 bytes at line 1 column 15." },
		{ "{\"password\": 5}", "invalid type: integer `5`, expected a string at line 1 column 14." },
		{ "{\"password\": \"secret\", \"quota_mib\": -1}",
		  "invalid value: integer `-1`, expected u64 of at most 17592186044415 (MiB) at line 1 column 38." },
		{ "{\"password\": \"secret\", \"extra\": 1}",
		  "unknown field `extra`, expected `password` or `quota_mib` at line 1 column 30." },
	};
	char body[300], err[API_ERR_LEN], want[API_ERR_LEN];
	struct api_tenant t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&t, 0, sizeof(t));
		assert_int_equal(request_parse_tenant_put(at_guard(cases[i].body), strlen(cases[i].body), &t, err,
							  sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "An error occurred when deserializing the json body of a request: %s",
			 cases[i].err);
		assert_string_equal(err, want);
		assert_null(strstr(err, "secret"));
		assert_string_equal(t.password, "");
	}
	/* 128 bytes: one too many, refused and not kept. */
	snprintf(body, sizeof(body), "{\"password\": \"%0128d\"}", 0);
	assert_int_equal(request_parse_tenant_put(at_guard(body), strlen(body), &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid length 128"));
	assert_string_equal(t.password, "");
}

static void unknown_field_names_should_be_shortened_in_messages(void **state)
{
	char body[200], err[API_ERR_LEN];
	uint32_t amount;

	snprintf(body, sizeof(body), "{\"%080d\": 1}", 0);
	assert_int_equal(request_parse_balloon_patch(at_guard(body), strlen(body), &amount, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FC("unknown field `0000000000000000000000000000000000000000000000000000000000000000...`, "
				    "expected `amount_mib` at line 1 column 83."));
}

static void messages_should_be_truncated_to_the_err_buffer(void **state)
{
	char err[8];
	uint32_t amount;

	assert_int_equal(request_parse_balloon_patch(at_guard("{}"), 2, &amount, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "An erro");
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
		cmocka_unit_test(tenant_put_should_read_the_password_and_quota),
		cmocka_unit_test(tenant_put_should_refuse_without_echoing_the_password),
		cmocka_unit_test(unknown_field_names_should_be_shortened_in_messages),
		cmocka_unit_test(messages_should_be_truncated_to_the_err_buffer),
	};
	return cmocka_run_group_tests(tests, setup_guard, teardown_guard);
}
