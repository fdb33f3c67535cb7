#include "api/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/response.h"

/* A metric whose value is one uint64_t field of a struct. */
struct metric {
	const char *name;
	const char *type;
	const char *help;
	size_t offset;
};

#define STATUS(name, type, field, help) { name, type, help, offsetof(struct api_status, field) }
static const struct metric status_metrics[] = {
	STATUS("usbd_grab_bytes", "gauge", grab_bytes, "Bytes the balloon holds resident."),
	STATUS("usbd_grab_lower_bytes", "gauge", grab_lower_bytes, "Grab lower bound: the balloon inflates toward it."),
	STATUS("usbd_grab_upper_bytes", "gauge", grab_upper_bytes, "Grab upper bound: above it the balloon deflates."),
	STATUS("usbd_swap_bytes", "gauge", swap_bytes, "Bytes of the app cgroup in swap."),
	STATUS("usbd_swap_target_bytes", "gauge", swap_target_bytes, "Target swap size of the app cgroup."),
	STATUS("usbd_app_usage_bytes", "gauge", app_usage_bytes, "Memory used by the app cgroup."),
	STATUS("usbd_free_bytes", "gauge", free_bytes, "Free memory in the domain."),
	STATUS("usbd_total_bytes", "gauge", total_bytes, "Total memory of the domain."),
	STATUS("usbd_headroom_bytes", "gauge", headroom_bytes, "Free memory kept free for the producer."),
	STATUS("usbd_threshold_bytes", "gauge", threshold_bytes, "Free memory under which apps are signalled."),
	STATUS("usbd_worker_restarts_total", "counter", worker_restarts, "Restarts of the balloon worker."),
	STATUS("usbd_registered_apps", "gauge", registered_apps, "Applications registered with libusbd."),
};

#define STATS(name, type, field, help) { name, type, help, offsetof(struct api_balloon_stats, field) }
static const struct metric stats_metrics[] = {
	STATS("usbd_domain_swap_in_bytes_total", "counter", swap_in_bytes, "Bytes swapped in (machine-wide, /proc/vmstat)."),
	STATS("usbd_domain_swap_out_bytes_total", "counter", swap_out_bytes,
	      "Bytes swapped out (machine-wide, /proc/vmstat)."),
	STATS("usbd_domain_major_faults_total", "counter", major_faults, "Major page faults in the domain."),
	STATS("usbd_domain_minor_faults_total", "counter", minor_faults, "Minor page faults in the domain."),
	STATS("usbd_domain_available_bytes", "gauge", available_memory_bytes, "Available memory in the domain."),
	STATS("usbd_domain_disk_caches_bytes", "gauge", disk_caches_bytes, "Page cache in the domain."),
	STATS("usbd_domain_hugetlb_allocations_total", "counter", hugetlb_allocations,
	      "Huge page allocations (machine-wide)."),
	STATS("usbd_domain_hugetlb_failures_total", "counter", hugetlb_failures,
	      "Failed huge page allocations (machine-wide)."),
	STATS("usbd_domain_oom_kills_total", "counter", oom_kill, "Processes killed by the OOM killer (machine-wide)."),
	STATS("usbd_domain_alloc_stalls_total", "counter", alloc_stall,
	      "Allocations that stalled for reclaim (machine-wide)."),
	STATS("usbd_domain_async_scan_bytes_total", "counter", async_scan_bytes, "Bytes scanned by kswapd (machine-wide)."),
	STATS("usbd_domain_direct_scan_bytes_total", "counter", direct_scan_bytes,
	      "Bytes scanned by direct reclaim (machine-wide)."),
	STATS("usbd_domain_async_reclaim_bytes_total", "counter", async_reclaim_bytes,
	      "Bytes reclaimed by kswapd (machine-wide)."),
	STATS("usbd_domain_direct_reclaim_bytes_total", "counter", direct_reclaim_bytes,
	      "Bytes reclaimed by direct reclaim (machine-wide)."),
};

/* The spot store's (emit_spot). */
#define SPOT(name, type, field, help) { name, type, help, offsetof(struct api_spot, field) }
static const struct metric spot_metrics[] = {
	SPOT("usbd_spot_used_bytes", "gauge", used_bytes, "Bytes the spot store holds (keys, values, item headers)."),
	SPOT("usbd_spot_keys", "gauge", keys, "Keys in the spot store."),
	SPOT("usbd_spot_clients", "gauge", clients, "Clients connected to the spot store."),
	SPOT("usbd_spot_commands_total", "counter", commands,
	     "Commands the spot store received, refused ones included (since the balloon worker started)."),
	SPOT("usbd_spot_keyspace_hits_total", "counter", hits,
	     "Keys read commands found in the spot store (since the balloon worker started)."),
	SPOT("usbd_spot_keyspace_misses_total", "counter", misses,
	     "Keys read commands did not find in the spot store (since the balloon worker started)."),
	SPOT("usbd_spot_evictions_total", "counter", evictions,
	     "Keys the spot store evicted for room (since the balloon worker started)."),
	SPOT("usbd_spot_deflation_losses_total", "counter", lost_keys,
	     "Keys lost when the balloon deflated under them (since the balloon worker started)."),
	SPOT("usbd_spot_deflation_lost_bytes_total", "counter", lost_bytes,
	     "Bytes of the keys lost when the balloon deflated under them (since the balloon worker started)."),
};

/* Per spot user, labelled tenant="NAME" (the default user's is tenant="default"); emit_spot_users. */
static const struct metric spot_user_metrics[] = {
	SPOT("usbd_spot_tenant_used_bytes", "gauge", used_bytes, "Bytes a spot user's store holds."),
	SPOT("usbd_spot_tenant_keys", "gauge", keys, "Keys in a spot user's store."),
	SPOT("usbd_spot_tenant_clients", "gauge", clients, "Clients logged in as a spot user."),
	SPOT("usbd_spot_tenant_commands_total", "counter", commands,
	     "Commands run as a spot user (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_keyspace_hits_total", "counter", hits,
	     "Keys a spot user's read commands found (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_keyspace_misses_total", "counter", misses,
	     "Keys a spot user's read commands did not find (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_evictions_total", "counter", evictions,
	     "Keys evicted from a spot user's store for room (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_deflation_losses_total", "counter", lost_keys,
	     "Keys a spot user lost to deflations (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_deflation_lost_bytes_total", "counter", lost_bytes,
	     "Bytes of the keys a spot user lost to deflations (since the user was added or the worker started)."),
	SPOT("usbd_spot_tenant_quota_bytes", "gauge", quota_bytes, "A spot user's byte quota (0: none)."),
	SPOT("usbd_spot_tenant_quota_refused_total", "counter", quota_refused,
	     "Writes refused by a spot user's quota (since the user was added or the worker started)."),
};

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void emit(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	header(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void emit_table(FILE *f, const struct metric *m, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++)
		emit(f, m[i].name, m[i].type, m[i].help, *(const uint64_t *)((const char *)base + m[i].offset));
}

static void put_label_value(FILE *f, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		if (s[i] == '\\')
			fputs("\\\\", f);
		else if (s[i] == '"')
			fputs("\\\"", f);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else
			fputc(s[i], f);
	}
}

/* The spot users' metrics: each metric's HELP and TYPE once, then one sample per user, labelled with its name. */
static void emit_spot_users(FILE *f, const struct api_spot_user *users, size_t n)
{
	for (size_t i = 0; i < sizeof(spot_user_metrics) / sizeof(spot_user_metrics[0]); i++) {
		const struct metric *m = &spot_user_metrics[i];

		header(f, m->name, m->type, m->help);
		for (size_t u = 0; u < n; u++) {
			fprintf(f, "%s{tenant=\"", m->name);
			put_label_value(f, users[u].name, sizeof(users[u].name));
			fprintf(f, "\"} %" PRIu64 "\n", *(const uint64_t *)((const char *)&users[u].spot + m->offset));
		}
	}
}

static void emit_info(FILE *f, const struct api_status *st)
{
	header(f, "usbd_info", "gauge", "Always 1; the labels describe this usbd.");
	fputs("usbd_info{version=\"" API_VERSION "\",app_cgroup=\"", f);
	put_label_value(f, st->app_cgroup, sizeof(st->app_cgroup));
	fputs("\",domain=\"", f);
	put_label_value(f, st->domain, sizeof(st->domain));
	fputs("\"} 1\n", f);
}

static void emit_deflations(FILE *f, const struct api_status *st)
{
	header(f, "usbd_deflations_total", "counter", "Balloon deflations by reason.");
	for (int r = 0; r < API_DEFLATION_REASONS; r++)
		fprintf(f, "usbd_deflations_total{reason=\"%s\"} %" PRIu64 "\n", response_reason_name(r),
			st->deflations[r]);
}

char *metrics_format(const struct api_status *st, const struct api_balloon_stats *stats)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	bool failed;

	if (!f)
		return NULL;
	emit_info(f, st);
	emit_table(f, status_metrics, sizeof(status_metrics) / sizeof(status_metrics[0]), st);
	emit(f, "usbd_pressure_level", "gauge", "Domain memory pressure: 0 none, 1 medium, 2 critical.",
	     (uint64_t)st->pressure);
	emit(f, "usbd_deflate_on_oom", "gauge", "1 if pressure and OOM events may deflate the balloon.",
	     st->deflate_on_oom);
	emit(f, "usbd_worker_up", "gauge", "1 while the balloon worker runs.", st->worker_pid > 0);
	emit_deflations(f, st);
	/* The per-user metrics' HELP and TYPE come with the store, samples or not (none before the worker's report). */
	if (st->has_spot) {
		emit_table(f, spot_metrics, sizeof(spot_metrics) / sizeof(spot_metrics[0]), &st->spot);
		emit_spot_users(f, st->spot_users, st->spot_nusers < API_SPOT_USERS_MAX ? st->spot_nusers
											  : API_SPOT_USERS_MAX);
	}
	if (stats)
		emit_table(f, stats_metrics, sizeof(stats_metrics) / sizeof(stats_metrics[0]), stats);
	/* A failed write (out of memory) sets the error flag; report it once here instead of after every call. */
	failed = ferror(f);
	if (fclose(f) || failed) {
		free(text);
		return NULL;
	}
	return text;
}

int metrics_from_backend(const struct api_backend *be, char **text, char *err, size_t err_len)
{
	struct api_status st = { 0 };
	struct api_balloon b = { 0 };
	struct api_balloon_stats s = { 0 };
	int rc;

	err[0] = '\0';
	rc = be->get_status(be->ctx, &st, err, err_len);

	if (!rc && (rc = be->get_balloon(be->ctx, &b, err, err_len)) == -ENODEV) {
		b = (struct api_balloon){ 0 };
		rc = 0;
	}
	if (!rc && b.stats_polling_interval_s)
		rc = be->get_stats(be->ctx, &s, err, err_len);
	if (!rc && !(*text = metrics_format(&st, b.stats_polling_interval_s ? &s : NULL)))
		rc = -ENOMEM;
	if (rc && !err[0])
		snprintf(err, err_len, "%s", strerror(-rc));
	return rc;
}
