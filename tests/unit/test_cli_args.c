#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/args.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])))

static struct cli_args args;
static char err[256];

static int parse(int argc, char *const argv[], const char *env)
{
	err[0] = '\0';
	return args_parse(argc, argv, env, &args, err, sizeof(err));
}

static void parse_should_use_the_default_socket_without_option_or_environment(void **state)
{
	char *const v[] = { "usbdctl", "status" };
	assert_int_equal(parse(ARGC(v), v, NULL), 0);
	assert_string_equal(args.sock, "/run/usbd/usbd.sock");
	assert_int_equal(args.cmd, CMD_STATUS);
	assert_false(args.json);
	assert_int_equal(parse(ARGC(v), v, ""), 0);
	assert_string_equal(args.sock, "/run/usbd/usbd.sock");
}

static void parse_should_prefer_the_sock_option_over_the_environment(void **state)
{
	char *const env_only[] = { "usbdctl", "status" };
	char *const spaced[] = { "usbdctl", "--sock", "/tmp/a.sock", "status" };
	char *const joined[] = { "usbdctl", "status", "--sock=/tmp/b.sock" };

	assert_int_equal(parse(ARGC(env_only), env_only, "/tmp/env.sock"), 0);
	assert_string_equal(args.sock, "/tmp/env.sock");
	assert_int_equal(parse(ARGC(spaced), spaced, "/tmp/env.sock"), 0);
	assert_string_equal(args.sock, "/tmp/a.sock");
	assert_int_equal(parse(ARGC(joined), joined, "/tmp/env.sock"), 0);
	assert_string_equal(args.sock, "/tmp/b.sock");
}

static void parse_should_refuse_sock_without_a_path(void **state)
{
	char *const missing[] = { "usbdctl", "status", "--sock" };
	char *const empty[] = { "usbdctl", "--sock=", "status" };

	assert_int_equal(parse(ARGC(missing), missing, NULL), -EINVAL);
	assert_string_equal(err, "--sock needs a PATH");
	assert_int_equal(parse(ARGC(empty), empty, NULL), -EINVAL);
	assert_string_equal(err, "--sock needs a PATH");
}

static void parse_should_take_a_vsock_address_in_place_of_the_socket(void **state)
{
	char *const spaced[] = { "usbdctl", "--vsock", "3:1024", "status" };
	char *const joined[] = { "usbdctl", "status", "--vsock=4294967294:4294967294" };
	char *const last_wins[] = { "usbdctl", "--vsock", "3:1024", "--sock", "/tmp/a.sock", "status" };

	assert_int_equal(parse(ARGC(spaced), spaced, "/tmp/env.sock"), 0);
	assert_string_equal(args.sock, "vsock:3:1024");
	assert_int_equal(parse(ARGC(joined), joined, NULL), 0);
	assert_string_equal(args.sock, "vsock:4294967294:4294967294");
	assert_int_equal(parse(ARGC(last_wins), last_wins, NULL), 0);
	assert_string_equal(args.sock, "/tmp/a.sock");
}

static void parse_should_refuse_a_bad_vsock_address(void **state)
{
	static const char *const bad[] = { "3", "3:", ":1024", "3:0", "3:x", "x:1", "4294967295:1", "3:4294967295",
					   "3:1024:5", "-3:1" };
	char *v[] = { "usbdctl", "--vsock", NULL, "status" };
	char *const missing[] = { "usbdctl", "status", "--vsock" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v[2] = (char *)bad[i];
		assert_int_equal(parse(ARGC(v), v, NULL), -EINVAL);
		assert_non_null(strstr(err, "--vsock"));
	}
	assert_int_equal(parse(ARGC(missing), missing, NULL), -EINVAL);
	assert_string_equal(err, "--vsock needs CID:PORT");
}

static void parse_should_accept_json_before_or_after_the_command(void **state)
{
	char *const before[] = { "usbdctl", "--json", "balloon" };
	char *const after[] = { "usbdctl", "balloon", "--json" };

	assert_int_equal(parse(ARGC(before), before, NULL), 0);
	assert_true(args.json);
	assert_int_equal(args.cmd, CMD_BALLOON);
	assert_int_equal(parse(ARGC(after), after, NULL), 0);
	assert_true(args.json);
}

static void parse_should_map_set_fields_to_whole_mib(void **state)
{
	char *const v[] = { "usbdctl", "set", "grab-lower=300M", "grab-upper=2G", "swap-target=512",
			    "headroom=1GiB", "threshold=0" };

	assert_int_equal(parse(ARGC(v), v, NULL), 0);
	assert_int_equal(args.cmd, CMD_SET);
	assert_int_equal(args.targets.mask, (1u << TARGET_COUNT) - 1);
	assert_int_equal(args.targets.mib[TARGET_GRAB_LOWER], 300);
	assert_int_equal(args.targets.mib[TARGET_GRAB_UPPER], 2048);
	assert_int_equal(args.targets.mib[TARGET_SWAP_TARGET], 512);
	assert_int_equal(args.targets.mib[TARGET_HEADROOM], 1024);
	assert_int_equal(args.targets.mib[TARGET_THRESHOLD], 0);
	assert_false(args.has_amount);
}

static void parse_should_set_only_the_fields_given(void **state)
{
	char *const v[] = { "usbdctl", "set", "headroom=2G" };

	assert_int_equal(parse(ARGC(v), v, NULL), 0);
	assert_int_equal(args.targets.mask, 1u << TARGET_HEADROOM);
}

static void parse_should_read_amount_as_firecrackers_amount_mib(void **state)
{
	char *const v[] = { "usbdctl", "set", "amount=1G" };
	char *const huge[] = { "usbdctl", "set", "amount=4096T" };

	assert_int_equal(parse(ARGC(v), v, NULL), 0);
	assert_true(args.has_amount);
	assert_int_equal(args.amount_mib, 1024);
	assert_int_equal(args.targets.mask, 0);
	assert_int_equal(parse(ARGC(huge), huge, NULL), -EINVAL);
	assert_string_equal(err, "amount: too large '4096T'");
}

static void parse_should_refuse_bad_assignments_with_the_reason(void **state)
{
	static const struct {
		const char *arg;
		const char *msg;
	} cases[] = {
		{ "grab-lowr=1G", "set: unknown field 'grab-lowr'" },
		{ "grab-lower", "set: expected FIELD=SIZE, got 'grab-lower'" },
		{ "=1G", "set: expected FIELD=SIZE, got '=1G'" },
		{ "grab-lower=", "grab-lower: not a size ''" },
		{ "grab-lower=-1", "grab-lower: not a size '-1'" },
		{ "grab-lower=1.5G", "grab-lower: not a size '1.5G'" },
		{ "grab-lower=1536K", "grab-lower: not a whole number of MiB '1536K'" },
		{ "headroom=99999999999999999999", "headroom: too large '99999999999999999999'" },
		{ "a-field-name-longer-than-thirty-two-bytes=1", "set: expected FIELD=SIZE, got "
								  "'a-field-name-longer-than-thirty-two-bytes=1'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *const v[] = { "usbdctl", "set", (char *)cases[i].arg };
		assert_int_equal(parse(ARGC(v), v, NULL), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

static void parse_should_refuse_a_field_given_twice(void **state)
{
	char *const v[] = { "usbdctl", "set", "grab-lower=1G", "grab-lower=2G" };
	char *const amounts[] = { "usbdctl", "set", "amount=1G", "amount=2G" };

	assert_int_equal(parse(ARGC(v), v, NULL), -EINVAL);
	assert_string_equal(err, "set: grab-lower given twice");
	assert_int_equal(parse(ARGC(amounts), amounts, NULL), -EINVAL);
	assert_string_equal(err, "set: amount given twice");
}

static void parse_should_refuse_set_with_nothing_or_amount_mixed_with_targets(void **state)
{
	char *const nothing[] = { "usbdctl", "set" };
	char *const mixed[] = { "usbdctl", "set", "amount=1G", "headroom=1G" };

	assert_int_equal(parse(ARGC(nothing), nothing, NULL), -EINVAL);
	assert_string_equal(err, "set: nothing to set");
	assert_int_equal(parse(ARGC(mixed), mixed, NULL), -EINVAL);
	assert_string_equal(err, "set: amount cannot be combined with other fields");
}

static void parse_should_read_stats_interval_as_whole_seconds_alone(void **state)
{
	char *const on[] = { "usbdctl", "set", "stats-interval=5" };
	char *const off[] = { "usbdctl", "set", "stats-interval=0" };
	char *const mixed[] = { "usbdctl", "set", "headroom=1G", "stats-interval=5" };
	char *const twice[] = { "usbdctl", "set", "stats-interval=1", "stats-interval=2" };
	static const char *const bad[] = { "stats-interval=", "stats-interval=-1", "stats-interval=65536",
					   "stats-interval=5s", "stats-interval=99999999999999999999999" };

	assert_int_equal(parse(ARGC(on), on, NULL), 0);
	assert_true(args.has_interval);
	assert_int_equal(args.interval_s, 5);
	assert_false(args.has_amount);
	assert_int_equal(args.targets.mask, 0);
	assert_int_equal(parse(ARGC(off), off, NULL), 0);
	assert_true(args.has_interval);
	assert_int_equal(args.interval_s, 0);
	assert_int_equal(parse(ARGC(mixed), mixed, NULL), -EINVAL);
	assert_string_equal(err, "set: stats-interval cannot be combined with other fields");
	assert_int_equal(parse(ARGC(twice), twice, NULL), -EINVAL);
	assert_string_equal(err, "set: stats-interval given twice");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const v[] = { "usbdctl", "set", (char *)bad[i] };
		char want[128];
		assert_int_equal(parse(ARGC(v), v, NULL), -EINVAL);
		snprintf(want, sizeof(want), "stats-interval: expected 0 to 65535 seconds, got '%s'", bad[i] + 15);
		assert_string_equal(err, want);
	}
}

static void parse_should_read_watch_with_and_without_seconds(void **state)
{
	char *const once[] = { "usbdctl", "stats" };
	char *const plain[] = { "usbdctl", "stats", "--watch" };
	char *const timed[] = { "usbdctl", "stats", "--watch", "5", "--json" };

	assert_int_equal(parse(ARGC(once), once, NULL), 0);
	assert_int_equal(args.watch_s, 0);
	assert_int_equal(parse(ARGC(plain), plain, NULL), 0);
	assert_int_equal(args.watch_s, 1);
	assert_int_equal(parse(ARGC(timed), timed, NULL), 0);
	assert_int_equal(args.watch_s, 5);
	assert_true(args.json);
}

static void parse_should_refuse_watch_periods_out_of_range_and_elsewhere(void **state)
{
	static const char *const bad[] = { "0", "3601", "5s", "99999999999999999999999" };
	char *const on_status[] = { "usbdctl", "status", "--watch" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const v[] = { "usbdctl", "stats", "--watch", (char *)bad[i] };
		assert_int_equal(parse(ARGC(v), v, NULL), -EINVAL);
		char want[128];
		snprintf(want, sizeof(want), "stats: --watch takes 1 to 3600 seconds, got '%s'", bad[i]);
		assert_string_equal(err, want);
	}
	assert_int_equal(parse(ARGC(on_status), on_status, NULL), -EINVAL);
	assert_string_equal(err, "unknown option '--watch'");
}

static void parse_should_refuse_unknown_commands_options_and_extra_words(void **state)
{
	char *const none[] = { "usbdctl" };
	char *const unknown[] = { "usbdctl", "stat" };
	char *const option[] = { "usbdctl", "--verbose", "status" };
	char *const extra[] = { "usbdctl", "status", "now" };

	assert_int_equal(parse(ARGC(none), none, NULL), -EINVAL);
	assert_string_equal(err, "no command given");
	assert_int_equal(parse(ARGC(unknown), unknown, NULL), -EINVAL);
	assert_string_equal(err, "unknown command 'stat'");
	assert_int_equal(parse(ARGC(option), option, NULL), -EINVAL);
	assert_string_equal(err, "unknown option '--verbose'");
	assert_int_equal(parse(ARGC(extra), extra, NULL), -EINVAL);
	assert_string_equal(err, "unexpected argument 'now'");
}

static void parse_should_take_help_as_a_command_or_an_option(void **state)
{
	char *const word[] = { "usbdctl", "help" };
	char *const option[] = { "usbdctl", "--sock", "/tmp/x", "-h", "bogus" };

	assert_int_equal(parse(ARGC(word), word, NULL), 0);
	assert_int_equal(args.cmd, CMD_HELP);
	/* Help stops the parse: what follows it is not checked. */
	assert_int_equal(parse(ARGC(option), option, NULL), 0);
	assert_int_equal(args.cmd, CMD_HELP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_should_use_the_default_socket_without_option_or_environment),
		cmocka_unit_test(parse_should_prefer_the_sock_option_over_the_environment),
		cmocka_unit_test(parse_should_refuse_sock_without_a_path),
		cmocka_unit_test(parse_should_take_a_vsock_address_in_place_of_the_socket),
		cmocka_unit_test(parse_should_refuse_a_bad_vsock_address),
		cmocka_unit_test(parse_should_accept_json_before_or_after_the_command),
		cmocka_unit_test(parse_should_map_set_fields_to_whole_mib),
		cmocka_unit_test(parse_should_set_only_the_fields_given),
		cmocka_unit_test(parse_should_read_amount_as_firecrackers_amount_mib),
		cmocka_unit_test(parse_should_refuse_bad_assignments_with_the_reason),
		cmocka_unit_test(parse_should_refuse_a_field_given_twice),
		cmocka_unit_test(parse_should_refuse_set_with_nothing_or_amount_mixed_with_targets),
		cmocka_unit_test(parse_should_read_stats_interval_as_whole_seconds_alone),
		cmocka_unit_test(parse_should_read_watch_with_and_without_seconds),
		cmocka_unit_test(parse_should_refuse_watch_periods_out_of_range_and_elsewhere),
		cmocka_unit_test(parse_should_refuse_unknown_commands_options_and_extra_words),
		cmocka_unit_test(parse_should_take_help_as_a_command_or_an_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
