/* Request routing (src/api/route.h) against an in-memory backend: codes, bodies, and what reaches the backend. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/route.h"

struct fake {
	struct api_balloon balloon;
	struct api_targets targets;
	unsigned int targets_mask;
	int setter_calls;
	int fail_rc;			/* returned by every callback when non-zero */
	int balloon_rc;			/* returned by get_balloon alone (-ENODEV: no balloon) */
	const char *fail_msg;
	bool spot;			/* the status has a spot store */
};

static int failing(struct fake *f, char *err, size_t len)
{
	if (f->fail_msg)
		snprintf(err, len, "%s", f->fail_msg);
	return f->fail_rc;
}

static int get_balloon(void *ctx, struct api_balloon *out, char *err, size_t len)
{
	*out = ((struct fake *)ctx)->balloon;
	return ((struct fake *)ctx)->balloon_rc ? ((struct fake *)ctx)->balloon_rc : failing(ctx, err, len);
}

static int put_balloon(void *ctx, const struct api_balloon *cfg, char *err, size_t len)
{
	struct fake *f = ctx;

	f->setter_calls++;
	if (f->fail_rc)
		return failing(f, err, len);
	f->balloon = *cfg;
	return 0;
}

static int patch_balloon(void *ctx, uint32_t amount_mib, char *err, size_t len)
{
	struct fake *f = ctx;

	f->setter_calls++;
	f->balloon.amount_mib = amount_mib;
	return failing(f, err, len);
}

static int get_stats(void *ctx, struct api_balloon_stats *out, char *err, size_t len)
{
	*out = (struct api_balloon_stats){ .target_pages = 256, .free_memory_bytes = 4096 };
	return failing(ctx, err, len);
}

static int set_stats_interval(void *ctx, uint16_t interval_s, char *err, size_t len)
{
	struct fake *f = ctx;

	f->setter_calls++;
	f->balloon.stats_polling_interval_s = interval_s;
	return failing(f, err, len);
}

static int get_targets(void *ctx, struct api_targets *out, char *err, size_t len)
{
	*out = ((struct fake *)ctx)->targets;
	return failing(ctx, err, len);
}

static int patch_targets(void *ctx, const struct api_targets *t, unsigned int mask, char *err, size_t len)
{
	struct fake *f = ctx;

	f->setter_calls++;
	f->targets = *t;
	f->targets_mask = mask;
	return failing(f, err, len);
}

static int get_status(void *ctx, struct api_status *out, char *err, size_t len)
{
	*out = (struct api_status){ .grab_bytes = 5, .pressure = API_PRESSURE_MEDIUM, .worker_pid = 42 };
	snprintf(out->app_cgroup, sizeof(out->app_cgroup), "app");
	if (((struct fake *)ctx)->spot) {
		out->has_spot = true;
		out->spot = (struct api_spot){ .used_bytes = 1, .keys = 2, .clients = 3, .commands = 4, .hits = 5,
					       .misses = 6, .evictions = 7, .lost_keys = 8, .lost_bytes = 9 };
		out->spot_nusers = 1;
		snprintf(out->spot_users[0].name, sizeof(out->spot_users[0].name), "al\"ice");
		out->spot_users[0].spot = (struct api_spot){ .keys = 1, .hits = 2, .quota_bytes = 3,
							     .quota_refused = 4 };
	}
	return failing(ctx, err, len);
}

static struct api_tenant tenant_put;
static char tenant_deleted[API_TENANT_NAME_LEN];

static int list_tenants(void *ctx, struct api_tenant *out, size_t *n, char *err, size_t len)
{
	out[0] = (struct api_tenant){ .name = "alice", .quota_mib = 64 };
	out[1] = (struct api_tenant){ .name = "bob" };
	*n = 2;
	return failing(ctx, err, len);
}

static int put_tenant(void *ctx, const struct api_tenant *t, char *err, size_t len)
{
	((struct fake *)ctx)->setter_calls++;
	tenant_put = *t;
	return failing(ctx, err, len);
}

static int del_tenant(void *ctx, const char *name, char *err, size_t len)
{
	((struct fake *)ctx)->setter_calls++;
	snprintf(tenant_deleted, sizeof(tenant_deleted), "%s", name);
	return failing(ctx, err, len);
}

#define FC "An error occurred when deserializing the json body of a request: "

static struct fake fake;
static const struct api_backend backend = {
	.ctx = &fake, .get_balloon = get_balloon, .put_balloon = put_balloon, .patch_balloon = patch_balloon,
	.get_stats = get_stats, .set_stats_interval = set_stats_interval, .get_targets = get_targets,
	.patch_targets = patch_targets, .get_status = get_status, .list_tenants = list_tenants,
	.put_tenant = put_tenant, .del_tenant = del_tenant,
};

static int reset(void **state)
{
	fake = (struct fake){ .balloon = { .amount_mib = 64, .deflate_on_oom = true } };
	return 0;
}

/* Routes one request and checks the status and the whole body (NULL: no body). */
static void expect(const char *method, const char *path, const char *body, unsigned int status, const char *reply)
{
	struct route_reply r;

	assert_int_equal(route_request(&backend, method, path, body, strlen(body), &r), 0);
	assert_int_equal(r.status, status);
	if (reply) {
		assert_non_null(r.body);
		assert_string_equal(r.body, reply);
		assert_int_equal(r.len, strlen(reply));
		assert_string_equal(r.content_type, ROUTE_JSON);
	} else {
		assert_null(r.body);
	}
	free(r.body);
}

static void get_balloon_should_answer_200_with_the_configuration(void **state)
{
	expect("GET", "/balloon", "", 200,
	       "{\"amount_mib\":64,\"deflate_on_oom\":true,\"stats_polling_interval_s\":0,\"free_page_hinting\":false,"
	       "\"free_page_reporting\":false}");
}

static void put_balloon_should_answer_204_and_reach_the_backend(void **state)
{
	expect("PUT", "/balloon", "{\"amount_mib\": 10, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 2}",
	       204, NULL);
	assert_int_equal(fake.setter_calls, 1);
	assert_int_equal(fake.balloon.amount_mib, 10);
	assert_false(fake.balloon.deflate_on_oom);
	assert_int_equal(fake.balloon.stats_polling_interval_s, 2);
}

static void bad_bodies_should_answer_400_without_reaching_the_backend(void **state)
{
	expect("PUT", "/balloon", "{\"amount_mib\": 10}", 400,
	       "{\"fault_message\":\"" FC "missing field `deflate_on_oom` at line 1 column 18.\"}");
	expect("PATCH", "/balloon", "", 400, "{\"fault_message\":\"Empty PATCH request.\"}");
	expect("PUT", "/balloon", "", 400, "{\"fault_message\":\"Empty PUT request.\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 70000}", 400,
	       "{\"fault_message\":\"" FC "invalid value: integer `70000`, expected u16 at line 1 column 34.\"}");
	expect("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": true}", 400,
	       "{\"fault_message\":\"free_page_hinting is not supported: usbd's balloon is a process holding memory, "
	       "there is no guest driver to hint free pages\"}");
	expect("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_reporting\": true}", 400,
	       "{\"fault_message\":\"free_page_reporting is not supported: usbd's balloon is a process holding memory, "
	       "there is no guest driver to report free pages\"}");
	expect("PATCH", "/usbd/targets", "{}", 400,
	       "{\"fault_message\":\"expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, "
	       "headroom_mib, threshold_mib\"}");
	assert_int_equal(fake.setter_calls, 0);
	assert_int_equal(fake.balloon.amount_mib, 64);
}

static void backend_refusals_should_become_fault_messages(void **state)
{
	fake.fail_rc = -EINVAL;
	fake.fail_msg = "amount_mib: 9000 MiB is larger than the domain";
	expect("PATCH", "/balloon", "{\"amount_mib\": 9000}", 400,
	       "{\"fault_message\":\"amount_mib: 9000 MiB is larger than the domain\"}");
	fake.fail_msg = NULL;
	fake.fail_rc = -EIO;
	expect("GET", "/usbd/status", "", 400, "{\"fault_message\":\"Input/output error\"}");
}

/* Firecracker's texts for the two errors the backend reports by code alone (api.h). */
static void backend_codes_should_become_firecrackers_texts(void **state)
{
	fake.fail_rc = -E2BIG;
	expect("PUT", "/balloon", "{\"amount_mib\": 9000, \"deflate_on_oom\": true}", 400,
	       "{\"fault_message\":\"Balloon config error: Amount of pages requested is too large.\"}");
	expect("PATCH", "/balloon", "{\"amount_mib\": 9000}", 400,
	       "{\"fault_message\":\"Balloon update error: Balloon: Requested memory should be less than 9000MiB\"}");
	fake.fail_rc = -ENODEV;
	expect("GET", "/balloon", "", 400,
	       "{\"fault_message\":\"Internal VMM error: Failed perform action on device: Device not found\"}");
	expect("GET", "/balloon/statistics", "", 400,
	       "{\"fault_message\":\"Internal VMM error: Failed perform action on device: Device not found\"}");
	expect("PATCH", "/balloon", "{\"amount_mib\": 1}", 400,
	       "{\"fault_message\":\"Balloon update error: Failed perform action on device: Device not found\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}", 400,
	       "{\"fault_message\":\"Balloon update error: Failed perform action on device: Device not found\"}");
	expect("GET", "/balloon/hinting/status", "", 400,
	       "{\"fault_message\":\"Balloon update error: Failed perform action on device: Device not found\"}");
}

static void tenants_should_be_listed_put_and_deleted(void **state)
{
	struct route_reply r;
	struct api_backend none = backend;

	expect("GET", "/usbd/spot/tenants", "", 200,
	       "{\"tenants\":[{\"name\":\"alice\",\"quota_mib\":64},{\"name\":\"bob\",\"quota_mib\":0}]}");
	expect("PUT", "/usbd/spot/tenants/carol", "{\"password\":\"pw\",\"quota_mib\":8}", 204, NULL);
	assert_string_equal(tenant_put.name, "carol");
	assert_string_equal(tenant_put.password, "pw");
	assert_int_equal(tenant_put.quota_mib, 8);
	expect("DELETE", "/usbd/spot/tenants/carol", "", 204, NULL);
	assert_string_equal(tenant_deleted, "carol");
	assert_int_equal(fake.setter_calls, 2);
	expect("PUT", "/usbd/spot/tenants", "{\"password\":\"pw\"}", 400,
	       "{\"fault_message\":\"Invalid request method and/or path: PUT usbd.\"}");
	expect("PUT", "/usbd/spot/tenants/carol", "", 400, "{\"fault_message\":\"Empty PUT request.\"}");
	expect("DELETE", "/usbd/spot/tenants/carol", "{}", 400, "{\"fault_message\":\"Empty Delete request.\"}");
	expect("PUT", "/usbd/spot/tenants/carol", "{\"password\":1}", 400,
	       "{\"fault_message\":\"" FC "invalid type: integer `1`, expected a string at line 1 column 13.\"}");
	assert_int_equal(fake.setter_calls, 2);
	fake.fail_rc = -ENOENT;
	fake.fail_msg = "no spot tenant is called 'x'";
	expect("DELETE", "/usbd/spot/tenants/x", "", 400, "{\"fault_message\":\"no spot tenant is called 'x'\"}");
	none.list_tenants = NULL;
	assert_int_equal(route_request(&none, "GET", "/usbd/spot/tenants", "", 0, &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "spot memory has no tenants here"));
	free(r.body);
}

static void unknown_paths_and_methods_should_answer_400(void **state)
{
	expect("GET", "/nope", "", 400, "{\"fault_message\":\"Invalid request method and/or path: GET nope.\"}");
	expect("GET", "/x\x01\xc3\xa9/y", "", 400,
	       "{\"fault_message\":\"Invalid request method and/or path: GET x??" "?.\"}");
	expect("GET", "/", "", 400, "{\"fault_message\":\"Invalid request method and/or path: GET .\"}");
	expect("DELETE", "/balloon", "", 400,
	       "{\"fault_message\":\"Invalid request method and/or path: DELETE balloon.\"}");
	expect("PUT", "/usbd/status", "{}", 400,
	       "{\"fault_message\":\"Invalid request method and/or path: PUT usbd.\"}");
	expect("POST", "/balloon/statistics", "{}", 400,
	       "{\"fault_message\":\"Invalid HTTP Method: Unsupported HTTP method.\"}");
	expect("GET", "/balloon//statistics", "", 400, "{\"fault_message\":\"Unrecognized GET request path ``.\"}");
	assert_int_equal(fake.setter_calls, 0);
}

/* Firecracker's split: leading slashes trimmed, one trailing empty piece dropped, deeper pieces ignored. */
static void paths_should_be_split_as_firecracker_splits_them(void **state)
{
	static const char *const same[] = { "/balloon", "//balloon", "/balloon/", "balloon", "///balloon/" };

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		expect("GET", same[i], "", 200,
		       "{\"amount_mib\":64,\"deflate_on_oom\":true,\"stats_polling_interval_s\":0,"
		       "\"free_page_hinting\":false,\"free_page_reporting\":false}");
	expect("GET", "/balloon//", "", 400, "{\"fault_message\":\"Unrecognized GET request path ``.\"}");
	expect("PATCH", "/balloon/any/thing", "{\"amount_mib\": 3}", 204, NULL);
	assert_int_equal(fake.balloon.amount_mib, 3);
}

static void get_with_a_body_should_answer_400(void **state)
{
	expect("GET", "/balloon", "{}", 400, "{\"fault_message\":\"GET request cannot have a body.\"}");
	expect("GET", "/nope", " ", 400, "{\"fault_message\":\"GET request cannot have a body.\"}");
}

static void statistics_should_fail_while_disabled_and_work_once_enabled(void **state)
{
	expect("GET", "/balloon/statistics", "", 400,
	       "{\"fault_message\":\"Internal VMM error: Balloon: Received stats query when stats are disabled.\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}", 400,
	       "{\"fault_message\":\"Balloon update error: Balloon: Statistics cannot be enabled/disabled after "
	       "activation.\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}", 204, NULL);
	assert_int_equal(fake.setter_calls, 0);
	fake.balloon.stats_polling_interval_s = 5;
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}", 400,
	       "{\"fault_message\":\"Balloon update error: Balloon: Statistics cannot be enabled/disabled after "
	       "activation.\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}", 204, NULL);
	assert_int_equal(fake.setter_calls, 1);
	expect("GET", "/balloon/statistics", "", 200,
	       "{\"target_pages\":256,\"actual_pages\":0,\"target_mib\":0,\"actual_mib\":0,"
	       "\"swap_in\":0,\"swap_out\":0,"
	       "\"major_faults\":0,\"minor_faults\":0,\"free_memory\":4096,\"total_memory\":0,\"available_memory\":0,"
	       "\"disk_caches\":0,\"hugetlb_allocations\":0,\"hugetlb_failures\":0,\"oom_kill\":0,\"alloc_stall\":0,"
	       "\"async_scan\":0,\"direct_scan\":0,\"async_reclaim\":0,\"direct_reclaim\":0}");
}

static void patch_targets_should_pass_the_fields_and_mask(void **state)
{
	expect("PATCH", "/usbd/targets", "{\"grab_lower_mib\": 5, \"threshold_mib\": 9}", 204, NULL);
	assert_int_equal(fake.targets_mask, API_TARGET_GRAB_LOWER | API_TARGET_THRESHOLD);
	assert_true(fake.targets.grab_lower_mib == 5 && fake.targets.threshold_mib == 9);
	fake.targets = (struct api_targets){ 1, 2, 3, 4, 5 };
	expect("GET", "/usbd/targets", "", 200,
	       "{\"grab_lower_mib\":1,\"grab_upper_mib\":2,\"swap_target_mib\":3,\"headroom_mib\":4,"
	       "\"threshold_mib\":5}");
}

static void status_should_carry_every_field(void **state)
{
	expect("GET", "/usbd/status", "", 200,
	       "{\"grab_bytes\":5,\"swap_bytes\":0,\"app_usage_bytes\":0,\"free_bytes\":0,\"total_bytes\":0,"
	       "\"grab_lower_bytes\":0,\"grab_upper_bytes\":0,\"swap_target_bytes\":0,\"headroom_bytes\":0,"
	       "\"threshold_bytes\":0,\"pressure\":\"medium\",\"deflate_on_oom\":false,\"worker_pid\":42,"
	       "\"worker_restarts\":0,\"registered_apps\":0,\"last_deflation\":null,\"app_cgroup\":\"app\","
	       "\"domain\":\"\",\"version\":\"0.1.0\"}");
}

static void status_should_carry_the_spot_figures_when_there_is_a_store(void **state)
{
	fake.spot = true;
	expect("GET", "/usbd/status", "", 200,
	       "{\"grab_bytes\":5,\"swap_bytes\":0,\"app_usage_bytes\":0,\"free_bytes\":0,\"total_bytes\":0,"
	       "\"grab_lower_bytes\":0,\"grab_upper_bytes\":0,\"swap_target_bytes\":0,\"headroom_bytes\":0,"
	       "\"threshold_bytes\":0,\"pressure\":\"medium\",\"deflate_on_oom\":false,\"worker_pid\":42,"
	       "\"worker_restarts\":0,\"registered_apps\":0,\"last_deflation\":null,\"app_cgroup\":\"app\","
	       "\"domain\":\"\",\"version\":\"0.1.0\",\"spot\":{\"used_bytes\":1,\"keys\":2,\"clients\":3,"
	       "\"commands\":4,\"keyspace_hits\":5,\"keyspace_misses\":6,\"evictions\":7,\"deflation_lost_keys\":8,"
	       "\"deflation_lost_bytes\":9,\"tenants\":[{\"name\":\"al\\\"ice\",\"used_bytes\":0,\"keys\":1,"
	       "\"clients\":0,\"commands\":0,\"keyspace_hits\":2,\"keyspace_misses\":0,\"evictions\":0,"
	       "\"deflation_lost_keys\":0,\"deflation_lost_bytes\":0,\"quota_bytes\":3,\"quota_refused\":4}]}}");
}

static void metrics_should_answer_prometheus_text(void **state)
{
	struct route_reply r;

	assert_int_equal(route_request(&backend, "GET", "/metrics", "", 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "\nusbd_grab_bytes 5\n"));
	assert_null(strstr(r.body, "usbd_domain_"));
	free(r.body);
}

static void metrics_should_answer_without_a_balloon(void **state)
{
	struct route_reply r;

	fake.balloon.stats_polling_interval_s = 5;
	fake.balloon_rc = -ENODEV;
	assert_int_equal(route_request(&backend, "GET", "/metrics", "", 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\nusbd_grab_bytes 5\n"));
	assert_null(strstr(r.body, "usbd_domain_"));
	free(r.body);
}

static void hinting_should_be_refused_after_parsing(void **state)
{
	const char *no_hinting = "{\"fault_message\":\"Balloon update error: Balloon: Attempting to use hinting when "
				 "not enabled\"}";

	expect("PATCH", "/balloon/hinting/start", "", 400, no_hinting);
	expect("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false, \"x\": [{}]}", 400, no_hinting);
	expect("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": 0}", 400,
	       "{\"fault_message\":\"" FC "invalid type: integer `0`, expected a boolean at line 1 column 25.\"}");
	expect("GET", "/balloon/hinting/status", "", 400, no_hinting);
	expect("PATCH", "/balloon/hinting/stop", "", 400, no_hinting);
	expect("GET", "/balloon/hinting", "", 400, "{\"fault_message\":\"Unrecognized GET request path `/hinting/`.\"}");
	expect("PATCH", "/balloon/hinting/x", "{}", 400,
	       "{\"fault_message\":\"Unrecognized PATCH request path `/hinting/x`.\"}");
	assert_int_equal(fake.setter_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(get_balloon_should_answer_200_with_the_configuration, reset),
		cmocka_unit_test_setup(put_balloon_should_answer_204_and_reach_the_backend, reset),
		cmocka_unit_test_setup(bad_bodies_should_answer_400_without_reaching_the_backend, reset),
		cmocka_unit_test_setup(backend_refusals_should_become_fault_messages, reset),
		cmocka_unit_test_setup(backend_codes_should_become_firecrackers_texts, reset),
		cmocka_unit_test_setup(unknown_paths_and_methods_should_answer_400, reset),
		cmocka_unit_test_setup(tenants_should_be_listed_put_and_deleted, reset),
		cmocka_unit_test_setup(paths_should_be_split_as_firecracker_splits_them, reset),
		cmocka_unit_test_setup(hinting_should_be_refused_after_parsing, reset),
		cmocka_unit_test_setup(metrics_should_answer_without_a_balloon, reset),
		cmocka_unit_test_setup(get_with_a_body_should_answer_400, reset),
		cmocka_unit_test_setup(statistics_should_fail_while_disabled_and_work_once_enabled, reset),
		cmocka_unit_test_setup(patch_targets_should_pass_the_fields_and_mask, reset),
		cmocka_unit_test_setup(status_should_carry_every_field, reset),
		cmocka_unit_test_setup(status_should_carry_the_spot_figures_when_there_is_a_store, reset),
		cmocka_unit_test_setup(metrics_should_answer_prometheus_text, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
