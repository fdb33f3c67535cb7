#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"
#include "control/options.h"

#define PARSE(o, err, ...)                                                                                   \
	({                                                                                                   \
		char *argv_[] = { "usbd", __VA_ARGS__, NULL };                                               \
		options_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (o), (err), sizeof(err)); \
	})

static void parse_should_take_the_app_cgroup_and_defaults(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "app"), 0);
	assert_string_equal(o.app, "app");
	assert_null(o.domain);
	assert_string_equal(o.api_sock, USBD_DEFAULT_API_SOCK);
	assert_string_equal(o.spot_listen, USBD_DEFAULT_SPOT_LISTEN);
	assert_false(o.grab_lower.set);
	assert_true(o.deflate_on_oom);
	assert_int_equal(o.mode, BALLOON_PINNED);
}

static void parse_should_read_sizes_and_options(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "--domain", "prod", "--grab-lower", "1G", "--grab-upper=2048",
			       "--headroom", "256M", "--swap-target", "512", "--threshold", "1G",
			       "--balloon-mode", "reclaimable", "--no-deflate-on-oom", "--api-sock", "off",
			       "--spot-listen", "127.0.0.1:7000", "prod/app"), 0);
	assert_string_equal(o.domain, "prod");
	assert_true(o.grab_lower.set && o.grab_lower.bytes == GIB);
	assert_true(o.grab_upper.bytes == 2 * GIB);
	assert_true(o.headroom.bytes == 256 * MIB);
	assert_true(o.swap_target.bytes == 512 * MIB);
	assert_int_equal(o.mode, BALLOON_RECLAIMABLE);
	assert_false(o.deflate_on_oom);
	assert_string_equal(o.api_sock, "off");
	assert_string_equal(o.app, "prod/app");
}

static void parse_should_name_the_bad_option_and_value(void **state)
{
	struct options o;
	char err[256];

	assert_int_equal(PARSE(&o, err, "--grab-lower", "99999999999999999999", "app"), -EINVAL);
	assert_string_equal(err, "--grab-lower: '99999999999999999999' is too large");
	assert_int_equal(PARSE(&o, err, "--headroom", "1.5G", "app"), -EINVAL);
	assert_non_null(strstr(err, "--headroom: '1.5G' is not a size"));
	assert_int_equal(PARSE(&o, err, "--balloon-mode", "loose", "app"), -EINVAL);
	assert_non_null(strstr(err, "'loose'"));
	assert_int_equal(PARSE(&o, err, "--tick-ms", "5", "app"), -EINVAL);
	assert_int_equal(PARSE(&o, err, "--frobnicate", "app"), -EINVAL);
	assert_string_equal(err, "unknown option --frobnicate");
	assert_int_equal(PARSE(&o, err, "app", "extra"), -EINVAL);
	assert_string_equal(err, "unexpected argument 'extra' after APP_CGROUP");
	assert_int_equal(PARSE(&o, err, "--domain"), -EINVAL);
	assert_string_equal(err, "option --domain needs a value");
}

static void parse_should_require_an_app_cgroup_unless_asking_for_help(void **state)
{
	struct options o;
	char err[256];

	assert_int_equal(PARSE(&o, err, "--domain", "d"), -EINVAL);
	assert_non_null(strstr(err, "missing APP_CGROUP"));
	assert_int_equal(PARSE(&o, err, "--help"), 0);
	assert_true(o.help);
}

static void parse_should_take_the_app_as_a_unit_or_a_cgroup_but_not_both(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "--app-unit", "postgresql.service"), 0);
	assert_string_equal(o.app_unit, "postgresql.service");
	assert_null(o.app);
	assert_int_equal(PARSE(&o, err, "--app-unit=demo.service", "--domain", "d"), 0);
	assert_string_equal(o.app_unit, "demo.service");
	assert_int_equal(PARSE(&o, err, "--app-unit", "demo.service", "app"), -EINVAL);
	assert_string_equal(err, "APP_CGROUP 'app' and --app-unit name the app twice: give one of them");
	/* A config file's app gives way to --app-unit, its app_unit to APP_CGROUP. */
	options_defaults(&o);
	o.app = "from-file";
	assert_int_equal(options_parse_onto(3, (char *[]){ "usbd", "--app-unit", "u.service", NULL }, &o, err,
					    sizeof(err)), 0);
	assert_null(o.app);
	assert_int_equal(options_check(&o, err, sizeof(err)), 0);
	options_defaults(&o);
	o.app_unit = "from-file.service";
	assert_int_equal(options_parse_onto(2, (char *[]){ "usbd", "app", NULL }, &o, err, sizeof(err)), 0);
	assert_null(o.app_unit);
	o.app_unit = "both.service";
	assert_int_equal(options_check(&o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "app 'app' and app_unit 'both.service' name the app twice: give one of them");
}

static void parse_should_take_a_vsock_port_and_peer(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "app"), 0);
	assert_int_equal(o.api_vsock_port, 0);
	assert_int_equal(o.api_vsock_peer_cid, 2);
	assert_int_equal(PARSE(&o, err, "--api-vsock", "1024", "app"), 0);
	assert_int_equal(o.api_vsock_port, 1024);
	assert_int_equal(o.api_vsock_peer_cid, 2);
	assert_int_equal(PARSE(&o, err, "--api-vsock=4294967294", "--api-vsock-peer", "3", "app"), 0);
	assert_int_equal(o.api_vsock_port, 4294967294u);
	assert_int_equal(o.api_vsock_peer_cid, 3);
}

static void parse_should_refuse_bad_vsock_ports_and_peers(void **state)
{
	static const char *const ports[] = { "0", "4294967295", "-1", "1k", "", "x" };
	static const char *const cids[] = { "0", "4294967295", "two" };
	struct options o;
	char err[256], want[128];

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		assert_int_equal(PARSE(&o, err, "--api-vsock", (char *)ports[i], "app"), -EINVAL);
		snprintf(want, sizeof(want), "--api-vsock: '%s' is not a vsock port (1 to 4294967294)", ports[i]);
		assert_string_equal(err, want);
	}
	for (size_t i = 0; i < sizeof(cids) / sizeof(cids[0]); i++) {
		assert_int_equal(PARSE(&o, err, "--api-vsock", "5", "--api-vsock-peer", (char *)cids[i], "app"), -EINVAL);
		snprintf(want, sizeof(want), "--api-vsock-peer: '%s' is not a vsock CID (1 to 4294967294)", cids[i]);
		assert_string_equal(err, want);
	}
	assert_int_equal(PARSE(&o, err, "app", "--api-vsock"), -EINVAL);
	assert_string_equal(err, "option --api-vsock needs a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_should_take_a_vsock_port_and_peer),
		cmocka_unit_test(parse_should_refuse_bad_vsock_ports_and_peers),
		cmocka_unit_test(parse_should_take_the_app_cgroup_and_defaults),
		cmocka_unit_test(parse_should_read_sizes_and_options),
		cmocka_unit_test(parse_should_name_the_bad_option_and_value),
		cmocka_unit_test(parse_should_require_an_app_cgroup_unless_asking_for_help),
		cmocka_unit_test(parse_should_take_the_app_as_a_unit_or_a_cgroup_but_not_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
