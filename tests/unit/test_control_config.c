/* Unit tests of src/control/config.c (the config file) and of the targets' layers it feeds (ctl_targets.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"
#include "control/config.h"
#include "control/state.h"
#include "control/ctl_targets.h"

static void config_should_read_both_sections(void **state)
{
	struct config_hold hold;
	struct options o;
	char err[256] = "";
	const char *text = "{\"balloon\": {\"amount_mib\": 512, \"deflate_on_oom\": false, "
			   "\"stats_polling_interval_s\": 5, \"free_page_hinting\": false, \"free_page_reporting\": false},"
			   " \"usbd\": {\"app\": \"prod/app\", \"domain\": \"prod\", \"headroom\": \"256M\", \"threshold\": 1024,"
			   " \"balloon_mode\": \"reclaimable\", \"tick_ms\": 50, \"status_interval_s\": 0, \"verbosity\": -1,"
			   " \"metrics_listen\": \"127.0.0.1:9753\", \"state_file\": \"off\", \"no_events\": true,"
			   " \"no_reflex\": true,"
			   " \"api_vsock\": 5000, \"api_vsock_peer\": 3}}";

	options_defaults(&o);
	assert_int_equal(config_parse(text, strlen(text), &o, &hold, err, sizeof(err)), 0);
	assert_string_equal(o.app, "prod/app");
	assert_string_equal(o.domain, "prod");
	assert_true(o.config_targets[TARGET_GRAB_LOWER].set && o.config_targets[TARGET_GRAB_LOWER].bytes == 512 * MIB);
	assert_true(o.config_targets[TARGET_GRAB_UPPER].bytes == 512 * MIB);
	assert_true(o.config_targets[TARGET_HEADROOM].bytes == 256 * MIB);
	assert_true(o.config_targets[TARGET_THRESHOLD].bytes == GIB);
	assert_false(o.config_targets[TARGET_SWAP_TARGET].set);
	assert_false(o.grab_lower.set); /* the flags' fields stay the flags' */
	assert_false(o.deflate_on_oom);
	assert_int_equal(o.stats_interval_s, 5);
	assert_int_equal(o.mode, BALLOON_RECLAIMABLE);
	assert_int_equal(o.tick_ms, 50);
	assert_int_equal(o.status_interval_s, 0);
	assert_int_equal(o.verbosity, -1);
	assert_string_equal(o.metrics_listen, "127.0.0.1:9753");
	assert_string_equal(o.state_file, "off");
	assert_true(o.no_events);
	assert_true(o.no_reflex);
	assert_int_equal(o.api_vsock_port, 5000);
	assert_int_equal(o.api_vsock_peer_cid, 3);
	config_release(&hold);
}

/* Every refusal names the key and leaves the options as they were. */
static void config_should_refuse_with_the_key_named(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "[]", "config: the file must hold one JSON object" },
		{ "{\"usbd\": {\"tick_ms\": 100,}}", "config: line 1, column 26: string or '}' expected near '}'" },
		{ "{\"usbd\": {}, \"extra\": 1}", "config: unknown key 'extra' (the sections are 'balloon' and 'usbd')" },
		{ "{\"usbd\": {\"tickms\": 100}}", "config: unknown key 'usbd.tickms'" },
		{ "{\"usbd\": []}", "config: usbd must be an object" },
		{ "{\"usbd\": {\"tick_ms\": 5}}", "config: usbd.tick_ms must be a number from 10 to 10000" },
		{ "{\"usbd\": {\"api_vsock\": 0}}", "config: usbd.api_vsock must be a number from 1 to 4294967294" },
		{ "{\"usbd\": {\"tick_ms\": \"100\"}}", "config: usbd.tick_ms must be a number from 10 to 10000" },
		{ "{\"usbd\": {\"tick_ms\": 100.0}}", "config: usbd.tick_ms must be a number from 10 to 10000" },
		{ "{\"usbd\": {\"domain\": 7}}", "config: usbd.domain must be a non-empty string" },
		{ "{\"usbd\": {\"domain\": \"\"}}", "config: usbd.domain must be a non-empty string" },
		{ "{\"usbd\": {\"grab_lower\": \"1.5G\"}}",
		  "config: usbd.grab_lower must be a size: a number of MiB, or a string like \"4G\"" },
		{ "{\"usbd\": {\"grab_lower\": -1}}",
		  "config: usbd.grab_lower must be a size: a number of MiB, or a string like \"4G\"" },
		{ "{\"usbd\": {\"headroom\": 99999999999999999}}", "config: usbd.headroom is too large" },
		{ "{\"usbd\": {\"deflate_on_oom\": 1}}", "config: usbd.deflate_on_oom must be true or false" },
		{ "{\"usbd\": {\"balloon_mode\": \"locked\"}}", "config: usbd.balloon_mode must be \"pinned\" or \"reclaimable\"" },
		{ "{\"usbd\": {\"verbosity\": 2}}", "config: usbd.verbosity must be -1 (warnings only), 0 (info) or 1 (debug)" },
		{ "{\"balloon\": {\"amount_mib\": 4294967296}}",
		  "config: balloon.amount_mib must be a number of MiB from 0 to 4294967295" },
		{ "{\"balloon\": {\"free_page_hinting\": true}}",
		  "config: balloon.free_page_hinting must be false: usbd has no guest driver to hint or report free pages to" },
		{ "{\"balloon\": {\"stats_polling_interval_s\": 65536}}",
		  "config: balloon.stats_polling_interval_s must be a number from 0 to 65535" },
		{ "{\"balloon\": {\"amount_mib\": 1}, \"usbd\": {\"grab_upper\": 2}}",
		  "config: balloon.amount_mib and usbd.grab_upper both set it: keep one" },
		{ "{\"usbd\": {\"tick_ms\": 100, \"tick_ms\": 200}}",
		  "config: line 1, column 35: duplicate object key near '\"tick_ms\"'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o, before;
		struct config_hold hold = { (void *)1 };
		char err[256] = "";

		options_defaults(&o);
		before = o;
		assert_int_equal(config_parse(cases[i].text, strlen(cases[i].text), &o, &hold, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_memory_equal(&o, &before, sizeof(o));
		assert_null(hold.doc);
	}
}

/* Defaults, then the config file, then the command line over it: what main() does. */
static void flags_should_override_the_config_file(void **state)
{
	const char *text = "{\"usbd\": {\"app\": \"cfg/app\", \"tick_ms\": 50, \"api_sock\": \"/tmp/cfg.sock\"}}";
	char *argv[] = { "usbd", "--tick-ms", "200", NULL };
	struct config_hold hold;
	struct options o;
	char err[256] = "";

	options_defaults(&o);
	assert_int_equal(config_parse(text, strlen(text), &o, &hold, err, sizeof(err)), 0);
	assert_int_equal(options_parse_onto(3, argv, &o, err, sizeof(err)), 0);
	assert_int_equal(options_check(&o, err, sizeof(err)), 0);
	assert_int_equal(o.tick_ms, 200);
	assert_string_equal(o.app, "cfg/app");
	assert_string_equal(o.api_sock, "/tmp/cfg.sock");
	config_release(&hold);
}

/* A controller with a domain of `total` bytes and its options, as far as ctl_targets_init reads them. */
static int init_targets(struct ctl *c, const struct options *o, uint64_t total, char *err, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->state.dirfd = -1;
	c->opt = *o;
	c->opt.state_file = "off";
	c->dom.total = total;
	return ctl_targets_init(c, err, len);
}

/* The same bad value gets the same text whether it came by a flag, the config file or the API (targets_update). */
static void a_bad_target_should_get_one_text_by_every_door(void **state)
{
	char *argv[] = { "usbd", "--grab-lower", "5G", "app", NULL };
	const char *text = "{\"usbd\": {\"grab_lower\": \"5G\"}}";
	char by_flag[256] = "", by_config[256] = "", by_api[256] = "";
	struct targets cur, change = { { [TARGET_GRAB_LOWER] = 5 * GIB } };
	struct config_hold hold;
	struct options o;
	static struct ctl c;

	assert_int_equal(options_parse(4, argv, &o, by_flag, sizeof(by_flag)), 0);
	assert_int_equal(init_targets(&c, &o, 4 * GIB, by_flag, sizeof(by_flag)), -EINVAL);
	options_defaults(&o);
	assert_int_equal(config_parse(text, strlen(text), &o, &hold, by_config, sizeof(by_config)), 0);
	assert_int_equal(init_targets(&c, &o, 4 * GIB, by_config, sizeof(by_config)), -EINVAL);
	targets_defaults(&cur, 4 * GIB);
	assert_int_equal(targets_update(&cur, &change, TARGET_BIT(TARGET_GRAB_LOWER), 4 * GIB, &cur, by_api,
					sizeof(by_api)), -EINVAL);
	assert_string_equal(by_flag, "grab_lower (5G) is larger than the domain (4G)");
	assert_string_equal(by_config, by_flag);
	assert_string_equal(by_api, by_flag);
	config_release(&hold);
}

/* Precedence: command line > state file > config file > defaults, and each target says where it came from. */
static void layers_should_stack_and_name_their_source(void **state)
{
	char *argv[] = { "usbd", "--headroom", "100M", "app", NULL };
	const char *text = "{\"usbd\": {\"grab_lower\": \"1G\", \"headroom\": \"200M\", \"threshold\": \"300M\"}}";
	struct config_hold hold;
	struct options o;
	static struct ctl c;
	char err[256] = "";

	options_defaults(&o);
	assert_int_equal(config_parse(text, strlen(text), &o, &hold, err, sizeof(err)), 0);
	assert_int_equal(options_parse_onto(4, argv, &o, err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(init_targets(&c, &o, 4 * GIB, err, sizeof(err)), 0);
	assert_true(c.tg.v[TARGET_GRAB_LOWER] == GIB);
	assert_true(c.tg.v[TARGET_HEADROOM] == 100 * MIB);
	assert_true(c.tg.v[TARGET_THRESHOLD] == 300 * MIB);
	assert_string_equal(target_source_name(c.tg_src[TARGET_GRAB_LOWER]), "config-file");
	assert_string_equal(target_source_name(c.tg_src[TARGET_HEADROOM]), "command-line");
	assert_string_equal(target_source_name(c.tg_src[TARGET_SWAP_TARGET]), "default");
	ctl_targets_set_at_run_time(&c, TARGET_BIT(TARGET_THRESHOLD));
	assert_string_equal(target_source_name(c.tg_src[TARGET_THRESHOLD]), "api");
	assert_int_equal(c.saved_mask, TARGET_BIT(TARGET_THRESHOLD));
	assert_false(c.due.save_targets); /* --state-file off */
	config_release(&hold);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_should_read_both_sections),
		cmocka_unit_test(config_should_refuse_with_the_key_named),
		cmocka_unit_test(flags_should_override_the_config_file),
		cmocka_unit_test(a_bad_target_should_get_one_text_by_every_door),
		cmocka_unit_test(layers_should_stack_and_name_their_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
