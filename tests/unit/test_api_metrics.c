/* Prometheus exposition (src/api/metrics.h): HELP/TYPE lines, label escaping, values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/metrics.h"

static struct api_status sample_status(void)
{
	struct api_status st = {
		.grab_bytes = 104857600,
		.grab_lower_bytes = 1,
		.grab_upper_bytes = UINT64_MAX,
		.swap_bytes = 3,
		.pressure = API_PRESSURE_CRITICAL,
		.deflate_on_oom = true,
		.worker_pid = 1234,
		.worker_restarts = 7,
		.registered_apps = 2,
		.deflations = { [API_DEFLATION_OOM] = 3, [API_DEFLATION_MEDIUM] = 1, [API_DEFLATION_RECLAIMED] = 4 },
	};
	snprintf(st.app_cgroup, sizeof(st.app_cgroup), "a\"b\\c\nd");
	snprintf(st.domain, sizeof(st.domain), "dom");
	return st;
}

/* True if text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void metrics_should_give_each_sample_its_help_and_type_first(void **state)
{
	struct api_status st = sample_status();
	struct api_balloon_stats stats = { .major_faults = 1 };
	char *text = metrics_format(&st, &stats);
	char *copy, *line, *save;
	int samples = 0;

	assert_non_null(text);
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], want[160], *type, *help;
		const char *seen_to = text + (line - copy);

		if (line[0] == '#')
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "{ "), line);
		snprintf(want, sizeof(want), "# TYPE %s ", name);
		type = strstr(text, want);
		assert_true(type && type < seen_to);
		snprintf(want, sizeof(want), "# HELP %s ", name);
		help = strstr(text, want);
		assert_true(help && help < type);
		samples++;
	}
	assert_true(samples > 20);
	free(copy);
	free(text);
}

static void metrics_should_report_the_status_values(void **state)
{
	struct api_status st = sample_status();
	char *text = metrics_format(&st, NULL);

	assert_non_null(text);
	assert_true(has_line(text, "usbd_grab_bytes 104857600"));
	assert_true(has_line(text, "usbd_grab_lower_bytes 1"));
	assert_true(has_line(text, "usbd_grab_upper_bytes 18446744073709551615"));
	assert_true(has_line(text, "usbd_swap_bytes 3"));
	assert_true(has_line(text, "usbd_pressure_level 2"));
	assert_true(has_line(text, "usbd_deflate_on_oom 1"));
	assert_true(has_line(text, "usbd_worker_up 1"));
	assert_true(has_line(text, "usbd_worker_restarts_total 7"));
	assert_true(has_line(text, "# TYPE usbd_worker_restarts_total counter"));
	assert_true(has_line(text, "usbd_registered_apps 2"));
	assert_true(has_line(text, "# TYPE usbd_registered_apps gauge"));
	assert_true(has_line(text, "# TYPE usbd_deflations_total counter"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"oom\"} 3"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"medium\"} 1"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"app_growth\"} 0"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"upper\"} 0"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"critical\"} 0"));
	assert_true(has_line(text, "usbd_deflations_total{reason=\"reclaimed\"} 4"));
	free(text);
}

static void metrics_should_escape_label_values(void **state)
{
	struct api_status st = sample_status();
	char *text = metrics_format(&st, NULL);

	assert_non_null(text);
	assert_true(has_line(text, "usbd_info{version=\"0.1.0\",app_cgroup=\"a\\\"b\\\\c\\nd\",domain=\"dom\"} 1"));
	free(text);
}

static void metrics_should_leave_out_domain_statistics_when_disabled(void **state)
{
	struct api_status st = sample_status();
	struct api_balloon_stats stats = { .major_faults = 42, .swap_out_bytes = 8192, .available_memory_bytes = 5 };
	char *off = metrics_format(&st, NULL), *on = metrics_format(&st, &stats);

	assert_non_null(off);
	assert_non_null(on);
	assert_null(strstr(off, "usbd_domain_"));
	assert_true(has_line(on, "usbd_domain_major_faults_total 42"));
	assert_true(has_line(on, "usbd_domain_swap_out_bytes_total 8192"));
	assert_true(has_line(on, "usbd_domain_available_bytes 5"));
	assert_true(has_line(on, "# TYPE usbd_domain_available_bytes gauge"));
	free(off);
	free(on);
}

static void metrics_should_report_no_worker_and_calm_pressure(void **state)
{
	struct api_status st = { 0 };
	char *text = metrics_format(&st, NULL);

	assert_non_null(text);
	assert_true(has_line(text, "usbd_worker_up 0"));
	assert_true(has_line(text, "usbd_pressure_level 0"));
	assert_true(has_line(text, "usbd_info{version=\"0.1.0\",app_cgroup=\"\",domain=\"\"} 1"));
	free(text);
}

static void metrics_should_report_each_spot_figure_under_its_name(void **state)
{
	struct api_status st = sample_status();
	char *off = metrics_format(&st, NULL), *on;

	assert_non_null(off);
	assert_null(strstr(off, "usbd_spot_"));
	st.has_spot = true;
	st.spot = (struct api_spot){ .used_bytes = 1, .keys = 2, .clients = 3, .commands = 4, .hits = 5, .misses = 6,
				     .evictions = 7, .lost_keys = 8, .lost_bytes = 9 };
	on = metrics_format(&st, NULL);
	assert_non_null(on);
	assert_true(has_line(on, "usbd_spot_used_bytes 1"));
	assert_true(has_line(on, "usbd_spot_keys 2"));
	assert_true(has_line(on, "usbd_spot_clients 3"));
	assert_true(has_line(on, "usbd_spot_commands_total 4"));
	assert_true(has_line(on, "usbd_spot_keyspace_hits_total 5"));
	assert_true(has_line(on, "usbd_spot_keyspace_misses_total 6"));
	assert_true(has_line(on, "usbd_spot_evictions_total 7"));
	assert_true(has_line(on, "usbd_spot_deflation_losses_total 8"));
	assert_true(has_line(on, "usbd_spot_deflation_lost_bytes_total 9"));
	assert_true(has_line(on, "# TYPE usbd_spot_keys gauge"));
	assert_true(has_line(on, "# TYPE usbd_spot_keyspace_hits_total counter"));
	assert_true(has_line(on, "# TYPE usbd_spot_deflation_lost_bytes_total counter"));
	free(off);
	free(on);
}

static void metrics_should_label_each_spot_user(void **state)
{
	struct api_status st = sample_status();
	char *none, *text;

	st.has_spot = true;
	st.spot = (struct api_spot){ .keys = 9, .hits = 99 };
	none = metrics_format(&st, NULL);
	assert_non_null(none);
	assert_true(has_line(none, "# TYPE usbd_spot_tenant_keys gauge"));
	assert_null(strstr(none, "usbd_spot_tenant_keys{"));
	st.spot_nusers = 2;
	snprintf(st.spot_users[0].name, sizeof(st.spot_users[0].name), "default");
	st.spot_users[0].spot = (struct api_spot){ .keys = 4, .hits = 2, .commands = 3 };
	snprintf(st.spot_users[1].name, sizeof(st.spot_users[1].name), "b\"o\\b\n");
	st.spot_users[1].spot = (struct api_spot){ .keys = 5, .misses = 1, .used_bytes = 7, .clients = 1,
						   .evictions = 6, .lost_keys = 8, .lost_bytes = 10,
						   .quota_bytes = 2 << 20, .quota_refused = 11 };
	text = metrics_format(&st, NULL);
	assert_non_null(text);
	/* The totals keep their names, unlabelled. */
	assert_true(has_line(text, "usbd_spot_keys 9"));
	assert_true(has_line(text, "usbd_spot_keyspace_hits_total 99"));
	assert_true(has_line(text, "# TYPE usbd_spot_tenant_keys gauge"));
	assert_true(has_line(text, "usbd_spot_tenant_keys{tenant=\"default\"} 4"));
	assert_true(has_line(text, "usbd_spot_tenant_keyspace_hits_total{tenant=\"default\"} 2"));
	assert_true(has_line(text, "usbd_spot_tenant_commands_total{tenant=\"default\"} 3"));
	assert_true(has_line(text, "usbd_spot_tenant_quota_bytes{tenant=\"default\"} 0"));
	assert_true(has_line(text, "usbd_spot_tenant_keys{tenant=\"b\\\"o\\\\b\\n\"} 5"));
	assert_true(has_line(text, "usbd_spot_tenant_keyspace_misses_total{tenant=\"b\\\"o\\\\b\\n\"} 1"));
	assert_true(has_line(text, "usbd_spot_tenant_used_bytes{tenant=\"b\\\"o\\\\b\\n\"} 7"));
	assert_true(has_line(text, "usbd_spot_tenant_clients{tenant=\"b\\\"o\\\\b\\n\"} 1"));
	assert_true(has_line(text, "usbd_spot_tenant_evictions_total{tenant=\"b\\\"o\\\\b\\n\"} 6"));
	assert_true(has_line(text, "usbd_spot_tenant_deflation_losses_total{tenant=\"b\\\"o\\\\b\\n\"} 8"));
	assert_true(has_line(text, "usbd_spot_tenant_deflation_lost_bytes_total{tenant=\"b\\\"o\\\\b\\n\"} 10"));
	assert_true(has_line(text, "usbd_spot_tenant_quota_bytes{tenant=\"b\\\"o\\\\b\\n\"} 2097152"));
	assert_true(has_line(text, "usbd_spot_tenant_quota_refused_total{tenant=\"b\\\"o\\\\b\\n\"} 11"));
	/* HELP and TYPE once per metric, before its first sample. */
	assert_null(strstr(strstr(text, "# TYPE usbd_spot_tenant_keys ") + 1, "# TYPE usbd_spot_tenant_keys "));
	assert_true(strstr(text, "# TYPE usbd_spot_tenant_keys ") < strstr(text, "usbd_spot_tenant_keys{"));
	free(none);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metrics_should_give_each_sample_its_help_and_type_first),
		cmocka_unit_test(metrics_should_report_the_status_values),
		cmocka_unit_test(metrics_should_escape_label_values),
		cmocka_unit_test(metrics_should_leave_out_domain_statistics_when_disabled),
		cmocka_unit_test(metrics_should_report_no_worker_and_calm_pressure),
		cmocka_unit_test(metrics_should_report_each_spot_figure_under_its_name),
		cmocka_unit_test(metrics_should_label_each_spot_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
