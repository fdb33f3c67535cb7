#include "api/response.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

static json_int_t u64(uint64_t v) { return v > INT64_MAX ? INT64_MAX : (json_int_t)v; }

/* Serialises and frees root; json_pack returns NULL on ENOMEM, which json_dumps passes through as NULL. */
static char *dump(json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return text;
}

const char *response_pressure_name(enum api_pressure p)
{
	static const char *const names[] = { "none", "medium", "critical" };
	return (unsigned int)p < 3 ? names[p] : "none";
}

const char *response_reason_name(enum api_deflation_reason r)
{
	static const char *const names[API_DEFLATION_REASONS] = {
		[API_DEFLATION_UPPER] = "upper", [API_DEFLATION_APP_GROWTH] = "app_growth",
		[API_DEFLATION_MEDIUM] = "medium", [API_DEFLATION_CRITICAL] = "critical", [API_DEFLATION_OOM] = "oom",
		[API_DEFLATION_RECLAIMED] = "reclaimed",
	};
	return (unsigned int)r < API_DEFLATION_REASONS ? names[r] : "upper";
}

char *response_balloon(const struct api_balloon *b)
{
	/* Firecracker's field order (BalloonDeviceConfig), so that its serialisation is matched byte for byte. */
	return dump(json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->amount_mib, "deflate_on_oom",
			      b->deflate_on_oom, "stats_polling_interval_s", (json_int_t)b->stats_polling_interval_s,
			      "free_page_hinting", b->free_page_hinting, "free_page_reporting", b->free_page_reporting));
}

char *response_stats(const struct api_balloon_stats *s)
{
	return dump(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			      " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "target_pages", u64(s->target_pages), "actual_pages", u64(s->actual_pages),
			      "target_mib", u64(s->target_mib), "actual_mib", u64(s->actual_mib),
			      "swap_in", u64(s->swap_in_bytes), "swap_out", u64(s->swap_out_bytes),
			      "major_faults", u64(s->major_faults), "minor_faults", u64(s->minor_faults),
			      "free_memory", u64(s->free_memory_bytes), "total_memory", u64(s->total_memory_bytes),
			      "available_memory", u64(s->available_memory_bytes),
			      "disk_caches", u64(s->disk_caches_bytes),
			      "hugetlb_allocations", u64(s->hugetlb_allocations),
			      "hugetlb_failures", u64(s->hugetlb_failures), "oom_kill", u64(s->oom_kill),
			      "alloc_stall", u64(s->alloc_stall), "async_scan", u64(s->async_scan_bytes),
			      "direct_scan", u64(s->direct_scan_bytes), "async_reclaim", u64(s->async_reclaim_bytes),
			      "direct_reclaim", u64(s->direct_reclaim_bytes)));
}

char *response_targets(const struct api_targets *t)
{
	return dump(json_pack("{s:I, s:I, s:I, s:I, s:I}", "grab_lower_mib", u64(t->grab_lower_mib),
			      "grab_upper_mib", u64(t->grab_upper_mib), "swap_target_mib", u64(t->swap_target_mib),
			      "headroom_mib", u64(t->headroom_mib), "threshold_mib", u64(t->threshold_mib)));
}

/* {"grab_lower": "api", ...}, or NULL (and no reference taken) when the backend did not say. */
static json_t *sources(const struct api_status *st)
{
	static const char *const names[] = { "grab_lower", "grab_upper", "swap_target", "headroom", "threshold" };
	json_t *o = st->target_sources[0] ? json_object() : NULL;

	for (size_t i = 0; o && i < sizeof(names) / sizeof(names[0]); i++)
		if (st->target_sources[i] && json_object_set_new(o, names[i], json_string(st->target_sources[i]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* Adds "sources" to a status object (which it frees on failure), as an addition beside the fixed fields. */
static json_t *with_sources(json_t *root, const struct api_status *st)
{
	json_t *src = root && st->target_sources[0] ? sources(st) : NULL;

	if (!root || !st->target_sources[0])
		return root;
	if (!src || json_object_set_new(root, "sources", src)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static json_t *spot_json(const struct api_spot *sp)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "used_bytes", u64(sp->used_bytes), "keys",
			 u64(sp->keys), "clients", u64(sp->clients), "commands", u64(sp->commands), "keyspace_hits",
			 u64(sp->hits), "keyspace_misses", u64(sp->misses), "evictions", u64(sp->evictions),
			 "deflation_lost_keys", u64(sp->lost_keys), "deflation_lost_bytes", u64(sp->lost_bytes));
}

/* "tenants": each spot user's figures (the default user first), with its name, quota and refused writes. */
static json_t *spot_users_json(const struct api_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < st->spot_nusers && i < API_SPOT_USERS_MAX; i++) {
		const struct api_spot_user *u = &st->spot_users[i];
		const struct api_spot *sp = &u->spot;
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", u->name,
				      "used_bytes", u64(sp->used_bytes), "keys", u64(sp->keys), "clients",
				      u64(sp->clients), "commands", u64(sp->commands), "keyspace_hits", u64(sp->hits),
				      "keyspace_misses", u64(sp->misses), "evictions", u64(sp->evictions),
				      "deflation_lost_keys", u64(sp->lost_keys), "deflation_lost_bytes",
				      u64(sp->lost_bytes), "quota_bytes", u64(sp->quota_bytes), "quota_refused",
				      u64(sp->quota_refused));

		/* append_new takes o's reference, also when it fails. */
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Adds "spot" (the spot store's figures, and per user's) to a status object (which it frees on failure) when there
 * is a store. */
static json_t *with_spot(json_t *root, const struct api_status *st)
{
	json_t *o;

	if (!root || !st->has_spot)
		return root;
	o = spot_json(&st->spot);
	if (!o || json_object_set_new(root, "spot", o) || json_object_set_new(o, "tenants", spot_users_json(st))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

char *response_status(const struct api_status *st)
{
	json_t *last = st->has_last_deflation
		? json_pack("{s:s, s:I, s:I}", "reason", response_reason_name(st->last_deflation_reason), "bytes",
			    u64(st->last_deflation_bytes), "age_ms", u64(st->last_deflation_age_ms))
		: json_null();

	if (!last)
		return NULL;
	/* "o" steals the reference to last, also when json_pack fails. */
	return dump(with_spot(with_sources(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:I, s:I, s:I, s:o,"
			      " s:s%, s:s%, s:s}",
			      "grab_bytes", u64(st->grab_bytes), "swap_bytes", u64(st->swap_bytes),
			      "app_usage_bytes", u64(st->app_usage_bytes), "free_bytes", u64(st->free_bytes),
			      "total_bytes", u64(st->total_bytes), "grab_lower_bytes", u64(st->grab_lower_bytes),
			      "grab_upper_bytes", u64(st->grab_upper_bytes),
			      "swap_target_bytes", u64(st->swap_target_bytes),
			      "headroom_bytes", u64(st->headroom_bytes),
			      "threshold_bytes", u64(st->threshold_bytes), "pressure",
			      response_pressure_name(st->pressure), "deflate_on_oom", st->deflate_on_oom,
			      "worker_pid", (json_int_t)st->worker_pid, "worker_restarts", u64(st->worker_restarts),
			      "registered_apps", u64(st->registered_apps), "last_deflation", last,
			      "app_cgroup", st->app_cgroup, strnlen(st->app_cgroup, sizeof(st->app_cgroup)),
			      "domain", st->domain, strnlen(st->domain, sizeof(st->domain)), "version", API_VERSION), st), st));
}

char *response_fault(const char *msg)
{
	return dump(json_pack("{s:s}", "fault_message", msg));
}

char *response_tenants(const struct api_tenant *t, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < n; i++)
		if (json_array_append_new(list, json_pack("{s:s, s:I}", "name", t[i].name, "quota_mib",
							  u64(t[i].quota_mib)))) {
			json_decref(list);
			list = NULL;
		}
	return list ? dump(json_pack("{s:o}", "tenants", list)) : NULL;
}
