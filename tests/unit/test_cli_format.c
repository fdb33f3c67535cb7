#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/format.h"

static char buf[128];

static const char *value(const char *json, enum fmt_kind kind)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	format_value(v, kind, buf, sizeof(buf));
	json_decref(v);
	return buf;
}

static void value_should_show_sizes_in_human_units(void **state)
{
	assert_string_equal(value("1610612736", FMT_BYTES), "1.5G");
	assert_string_equal(value("0", FMT_BYTES), "0");
	assert_string_equal(value("300", FMT_MIB), "300M");
	assert_string_equal(value("262144", FMT_PAGES), "1G");
}

static void value_should_saturate_absurd_mib_and_page_counts(void **state)
{
	assert_string_equal(value("9223372036854775807", FMT_MIB), "16E");
	assert_string_equal(value("9223372036854775807", FMT_PAGES), "16E");
}

static void value_should_show_counts_booleans_and_text_as_they_are(void **state)
{
	assert_string_equal(value("42", FMT_COUNT), "42");
	assert_string_equal(value("true", FMT_BOOL), "yes");
	assert_string_equal(value("false", FMT_BOOL), "no");
	assert_string_equal(value("\"critical\"", FMT_TEXT), "critical");
	assert_string_equal(value("\"\"", FMT_TEXT), "-");
	assert_string_equal(value("\"\"", FMT_DOMAIN), "host");
	assert_string_equal(value("\"producer\"", FMT_DOMAIN), "producer");
}

static void text_should_not_pass_control_characters_to_the_terminal(void **state)
{
	assert_string_equal(value("\"a\\u001b[2Jb\\n\\u007f\"", FMT_TEXT), "a?[2Jb??");
	assert_string_equal(value("\"d\\t\"", FMT_DOMAIN), "d?");
	assert_string_equal(value("\"caf\u00e9\"", FMT_TEXT), "caf\u00e9");
}

static void value_should_show_a_dash_for_missing_or_mistyped_values(void **state)
{
	assert_string_equal(format_value(NULL, FMT_BYTES, buf, sizeof(buf)), "-");
	assert_string_equal(format_value(NULL, FMT_DEFLATION, buf, sizeof(buf)), "-");
	assert_string_equal(value("-5", FMT_BYTES), "-");
	assert_string_equal(value("-5", FMT_COUNT), "-");
	assert_string_equal(value("1.5", FMT_COUNT), "-");
	assert_string_equal(value("\"12\"", FMT_BYTES), "-");
	assert_string_equal(value("1", FMT_BOOL), "-");
	assert_string_equal(value("7", FMT_TEXT), "-");
	assert_string_equal(value("null", FMT_DOMAIN), "-");
}

static void value_should_describe_the_last_deflation(void **state)
{
	assert_string_equal(value("null", FMT_DEFLATION), "never");
	assert_string_equal(
		value("{\"reason\": \"app_growth\", \"bytes\": 67108864, \"age_ms\": 75000}", FMT_DEFLATION),
		"app_growth, 64M, 1m15s ago");
	assert_string_equal(value("{\"reason\": \"oom\", \"bytes\": 0, \"age_ms\": 5}", FMT_DEFLATION),
			    "oom, 0, 5ms ago");
	assert_string_equal(value("{\"reason\": \"oom\", \"bytes\": 1}", FMT_DEFLATION), "-");
	assert_string_equal(value("{\"bytes\": 1, \"age_ms\": 1}", FMT_DEFLATION), "-");
}

static void age_should_pick_the_two_largest_units(void **state)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0ms" },	     { 999, "999ms" },	    { 1000, "1s" },	  { 59999, "59s" },
		{ 60000, "1m00s" },  { 307000, "5m07s" },  { 3599999, "59m59s" }, { 3600000, "1h00m" },
		{ 11040000, "3h04m" }, { 86400000, "1d00h" }, { 190800000, "2d05h" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(format_age(cases[i].ms, buf, sizeof(buf)), cases[i].text);
}

static void value_should_truncate_to_the_buffer_and_terminate(void **state)
{
	char small[4];
	json_t *v = json_string("a-long-cgroup-name");

	format_value(v, FMT_TEXT, small, sizeof(small));
	assert_string_equal(small, "a-l");
	json_decref(v);
}

/* Runs fn on the JSON text and returns what it printed (free it). */
static char *printed(void (*fn)(FILE *, const json_t *), const char *json)
{
	json_t *obj = json_loads(json, 0, NULL);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(obj);
	assert_non_null(f);
	fn(f, obj);
	assert_int_equal(fclose(f), 0);
	json_decref(obj);
	return out;
}

static void status_should_print_one_aligned_line_per_field(void **state)
{
	char *out = printed(format_status, "{\"grab_bytes\": 268435456, \"pressure\": \"medium\", \"domain\": \"\","
					   " \"last_deflation\": null, \"worker_restarts\": 3}");

	assert_non_null(strstr(out, "grab                 256M\n"));
	assert_non_null(strstr(out, "pressure             medium\n"));
	assert_non_null(strstr(out, "domain               host\n"));
	assert_non_null(strstr(out, "last deflation       never\n"));
	assert_non_null(strstr(out, "worker restarts      3\n"));
	assert_non_null(strstr(out, "swap                 -\n"));
	assert_int_equal(out[0], 'g');
	free(out);
}

static void stats_should_show_pages_and_memory_as_sizes(void **state)
{
	char *out = printed(format_stats, "{\"target_pages\": 131072, \"free_memory\": 2147483648, \"oom_kill\": 2}");

	assert_non_null(strstr(out, "target               512M\n"));
	assert_non_null(strstr(out, "free memory          2G\n"));
	assert_non_null(strstr(out, "oom kills            2\n"));
	free(out);
}

static void balloon_should_show_amount_as_a_size(void **state)
{
	char *out = printed(format_balloon,
			    "{\"amount_mib\": 1024, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 5}");

	assert_string_equal(out, "amount               1G\n"
				 "deflate on oom       no\n"
				 "stats interval (s)   5\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(value_should_show_sizes_in_human_units),
		cmocka_unit_test(value_should_saturate_absurd_mib_and_page_counts),
		cmocka_unit_test(value_should_show_counts_booleans_and_text_as_they_are),
		cmocka_unit_test(text_should_not_pass_control_characters_to_the_terminal),
		cmocka_unit_test(value_should_show_a_dash_for_missing_or_mistyped_values),
		cmocka_unit_test(value_should_describe_the_last_deflation),
		cmocka_unit_test(age_should_pick_the_two_largest_units),
		cmocka_unit_test(value_should_truncate_to_the_buffer_and_terminate),
		cmocka_unit_test(status_should_print_one_aligned_line_per_field),
		cmocka_unit_test(stats_should_show_pages_and_memory_as_sizes),
		cmocka_unit_test(balloon_should_show_amount_as_a_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
