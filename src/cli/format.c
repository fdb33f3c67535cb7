#include "cli/format.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "common/size.h"

#define PAGE_BYTES 4096u
#define LABEL_WIDTH 20

static const struct fmt_row status_rows[] = {
	{ "grab_bytes", "grab", FMT_BYTES },
	{ "swap_bytes", "swap", FMT_BYTES },
	{ "app_usage_bytes", "app usage", FMT_BYTES },
	{ "free_bytes", "free memory", FMT_BYTES },
	{ "total_bytes", "total memory", FMT_BYTES },
	{ "grab_lower_bytes", "grab lower bound", FMT_BYTES },
	{ "grab_upper_bytes", "grab upper bound", FMT_BYTES },
	{ "swap_target_bytes", "target swap size", FMT_BYTES },
	{ "headroom_bytes", "headroom", FMT_BYTES },
	{ "threshold_bytes", "threshold", FMT_BYTES },
	{ "pressure", "pressure", FMT_TEXT },
	{ "last_deflation", "last deflation", FMT_DEFLATION },
	{ "deflate_on_oom", "deflate on oom", FMT_BOOL },
	{ "worker_pid", "worker pid", FMT_COUNT },
	{ "worker_restarts", "worker restarts", FMT_COUNT },
	{ "registered_apps", "registered apps", FMT_COUNT },
	{ "app_cgroup", "app cgroup", FMT_TEXT },
	{ "domain", "domain", FMT_DOMAIN },
	{ "version", "version", FMT_TEXT },
};

/* The spot store's figures ("spot" in the status, present unless --spot-listen off). */
static const struct fmt_row spot_rows[] = {
	{ "used_bytes", "spot used", FMT_BYTES },
	{ "keys", "spot keys", FMT_COUNT },
	{ "clients", "spot clients", FMT_COUNT },
	{ "commands", "spot commands", FMT_COUNT },
	{ "keyspace_hits", "spot hits", FMT_COUNT },
	{ "keyspace_misses", "spot misses", FMT_COUNT },
	{ "evictions", "spot evictions", FMT_COUNT },
	{ "deflation_lost_keys", "spot keys lost", FMT_COUNT },
	{ "deflation_lost_bytes", "spot bytes lost", FMT_BYTES },
};

static const struct fmt_row stats_rows[] = {
	{ "target_pages", "target", FMT_PAGES },
	{ "actual_pages", "actual", FMT_PAGES },
	{ "target_mib", "target (MiB)", FMT_COUNT },
	{ "actual_mib", "actual (MiB)", FMT_COUNT },
	{ "swap_in", "swap in", FMT_BYTES },
	{ "swap_out", "swap out", FMT_BYTES },
	{ "major_faults", "major faults", FMT_COUNT },
	{ "minor_faults", "minor faults", FMT_COUNT },
	{ "free_memory", "free memory", FMT_BYTES },
	{ "total_memory", "total memory", FMT_BYTES },
	{ "available_memory", "available memory", FMT_BYTES },
	{ "disk_caches", "disk caches", FMT_BYTES },
	{ "hugetlb_allocations", "hugetlb allocations", FMT_COUNT },
	{ "hugetlb_failures", "hugetlb failures", FMT_COUNT },
	{ "oom_kill", "oom kills", FMT_COUNT },
	{ "alloc_stall", "alloc stalls", FMT_COUNT },
	{ "async_scan", "async scan", FMT_COUNT },
	{ "direct_scan", "direct scan", FMT_COUNT },
	{ "async_reclaim", "async reclaim", FMT_COUNT },
	{ "direct_reclaim", "direct reclaim", FMT_COUNT },
};

static const struct fmt_row balloon_rows[] = {
	{ "amount_mib", "amount", FMT_MIB },
	{ "deflate_on_oom", "deflate on oom", FMT_BOOL },
	{ "stats_polling_interval_s", "stats interval (s)", FMT_COUNT },
};

#define ROWS(a) (a), sizeof(a) / sizeof((a)[0])

/* Only non-negative integers are sizes or counts; anything else in the reply is shown as unknown. */
static bool get_u64(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* Copies text, turning control characters into '?' so that a name cannot drive the terminal. */
static void printable(const char *text, char *buf, size_t len)
{
	snprintf(buf, len, "%s", text);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static char *format_deflation(const json_t *v, char *buf, size_t len)
{
	const char *reason = json_string_value(json_object_get(v, "reason"));
	uint64_t bytes, age;
	char size[16], when[24];

	if (json_is_null(v)) {
		snprintf(buf, len, "never");
		return buf;
	}
	if (!reason || !get_u64(json_object_get(v, "bytes"), &bytes) || !get_u64(json_object_get(v, "age_ms"), &age)) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%s, %s, %s ago", reason, size_format(bytes, size, sizeof(size)),
		 format_age(age, when, sizeof(when)));
	return buf;
}

char *format_value(const json_t *v, enum fmt_kind kind, char *buf, size_t len)
{
	uint64_t n;

	snprintf(buf, len, "-");
	switch (kind) {
	case FMT_BYTES:
	case FMT_MIB:
	case FMT_PAGES:
		if (!get_u64(v, &n))
			break;
		/* MiB and page counts come from u64 fields in bytes / 2^20 or / 4096, so they cannot overflow here
		 * unless the daemon lies; saturate rather than wrap if it does. */
		if (kind == FMT_MIB)
			n = n > UINT64_MAX / MIB ? UINT64_MAX : n * MIB;
		else if (kind == FMT_PAGES)
			n = n > UINT64_MAX / PAGE_BYTES ? UINT64_MAX : n * PAGE_BYTES;
		size_format(n, buf, len);
		break;
	case FMT_COUNT:
		if (get_u64(v, &n))
			snprintf(buf, len, "%" PRIu64, n);
		break;
	case FMT_BOOL:
		if (json_is_boolean(v))
			snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
		break;
	case FMT_TEXT:
		if (json_string_value(v) && *json_string_value(v))
			printable(json_string_value(v), buf, len);
		break;
	case FMT_DOMAIN:
		if (json_is_string(v))
			printable(*json_string_value(v) ? json_string_value(v) : "host", buf, len);
		break;
	case FMT_DEFLATION:
		if (v)
			format_deflation(v, buf, len);
		break;
	}
	return buf;
}

char *format_age(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

void format_rows(FILE *out, const json_t *obj, const struct fmt_row *rows, size_t n)
{
	char value[128];

	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-*s %s\n", LABEL_WIDTH, rows[i].label,
			format_value(json_object_get(obj, rows[i].key), rows[i].kind, value, sizeof(value)));
}

/* Like format_rows; a target's row also says where its value came from, when the daemon says ("sources"). */
void format_status(FILE *out, const json_t *status)
{
	const json_t *sources = json_object_get(status, "sources");
	char value[128], key[32];

	for (size_t i = 0; i < sizeof(status_rows) / sizeof(status_rows[0]); i++) {
		const struct fmt_row *r = &status_rows[i];
		size_t kl = strlen(r->key);
		const char *from = NULL;

		if (sources && kl > 6 && !strcmp(r->key + kl - 6, "_bytes")) {
			snprintf(key, sizeof(key), "%.*s", (int)(kl - 6), r->key);
			from = json_string_value(json_object_get(sources, key));
		}
		fprintf(out, "%-*s %s", LABEL_WIDTH, r->label, format_value(json_object_get(status, r->key), r->kind, value,
									 sizeof(value)));
		if (from)
			fprintf(out, " (from %s)", from);
		fputc('\n', out);
	}
	if (json_is_object(json_object_get(status, "spot")))
		format_rows(out, json_object_get(status, "spot"), ROWS(spot_rows));
}
void format_stats(FILE *out, const json_t *stats) { format_rows(out, stats, ROWS(stats_rows)); }
void format_balloon(FILE *out, const json_t *balloon) { format_rows(out, balloon, ROWS(balloon_rows)); }
