#include "control/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"

#define CONFIG_MAX_BYTES (1u << 20)

enum kind { K_STRING, K_SIZE, K_U32, K_U16, K_BOOL, K_MODE, K_VERBOSITY, K_AMOUNT, K_FALSE };

struct key {
	const char *name;
	enum kind kind;
	size_t off;             /* into struct options (K_STRING, K_U32, K_BOOL) */
	int64_t min, max;       /* K_U32, K_AMOUNT */
	int target;             /* K_SIZE: enum target_field */
};

#define STR(n, f) { n, K_STRING, offsetof(struct options, f), 0, 0, 0 }
#define U32(n, f, lo, hi) { n, K_U32, offsetof(struct options, f), lo, hi, 0 }
#define BOOL(n, f) { n, K_BOOL, offsetof(struct options, f), 0, 0, 0 }
#define SIZE(n, t) { n, K_SIZE, 0, 0, 0, t }

static const struct key usbd_keys[] = {
	STR("app", app), STR("app_unit", app_unit), STR("domain", domain), STR("api_sock", api_sock), STR("apps_sock", apps_sock),
	STR("harvest_journal", harvest_journal), STR("spot_listen", spot_listen),
	STR("spot_password_file", spot_password_file),
	STR("spot_tenants_file", spot_tenants_file), STR("state_file", state_file),
	STR("metrics_listen", metrics_listen),
	SIZE("grab_lower", TARGET_GRAB_LOWER), SIZE("grab_upper", TARGET_GRAB_UPPER),
	SIZE("swap_target", TARGET_SWAP_TARGET), SIZE("headroom", TARGET_HEADROOM), SIZE("threshold", TARGET_THRESHOLD),
	{ "balloon_mode", K_MODE, 0, 0, 0, 0 },
	BOOL("deflate_on_oom", deflate_on_oom), BOOL("no_events", no_events), BOOL("no_reflex", no_reflex),
	U32("tick_ms", tick_ms, 10, 10000), U32("status_interval_s", status_interval_s, 0, 86400),
	U32("worker_cooldown_ms", worker_cooldown_ms, 0, 3600000),
	U32("api_vsock", api_vsock_port, 1, UINT32_MAX - 1), U32("api_vsock_peer", api_vsock_peer_cid, 1, UINT32_MAX - 1),
	{ "verbosity", K_VERBOSITY, 0, -1, 1, 0 },
};

/* Firecracker's balloon device (its PUT /balloon body). */
static const struct key balloon_keys[] = {
	{ "amount_mib", K_AMOUNT, 0, 0, UINT32_MAX, 0 },
	BOOL("deflate_on_oom", deflate_on_oom),
	{ "stats_polling_interval_s", K_U16, offsetof(struct options, stats_interval_s), 0, UINT16_MAX, 0 },
	{ "free_page_hinting", K_FALSE, 0, 0, 0, 0 },
	{ "free_page_reporting", K_FALSE, 0, 0, 0, 0 },
};

struct section {
	const char *name;
	const struct key *keys;
	size_t n;
};

static const struct section sections[] = {
	{ "balloon", balloon_keys, sizeof(balloon_keys) / sizeof(balloon_keys[0]) },
	{ "usbd", usbd_keys, sizeof(usbd_keys) / sizeof(usbd_keys[0]) },
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static int fail(char *err, size_t errlen, const char *sec, const char *key, const char *what)
{
	snprintf(err, errlen, "config: %s.%s %s", sec, key, what);
	return -EINVAL;
}

/* A non-negative JSON integer within [min, max] (jansson keeps integers and reals apart: 1.0 is not one). */
static bool int_in(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

static int set_size(const char *sec, const struct key *k, const json_t *v, struct options *o, char *err,
		    size_t errlen)
{
	struct size_opt *t = &o->config_targets[k->target];
	int r = 0;

	/* A number is MiB, as on the command line; json_int_t cannot hold more MiB than 64 bits of bytes can. */
	if (json_is_string(v))
		r = strlen(json_string_value(v)) == json_string_length(v) ? size_parse(json_string_value(v), &t->bytes)
									  : -EINVAL;
	else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		 (uint64_t)json_integer_value(v) <= (UINT64_MAX >> 20))
		t->bytes = (uint64_t)json_integer_value(v) << 20;
	else
		r = json_is_integer(v) && json_integer_value(v) > 0 ? -ERANGE : -EINVAL;
	if (r == -ERANGE)
		return fail(err, errlen, sec, k->name, "is too large");
	if (r)
		return fail(err, errlen, sec, k->name, "must be a size: a number of MiB, or a string like \"4G\"");
	t->set = true;
	return 0;
}

static int set_key(const char *sec, const struct key *k, const json_t *v, struct options *o, char *err,
		   size_t errlen)
{
	char what[96];
	int64_t n;

	switch (k->kind) {
	case K_STRING:
		if (!json_is_string(v) || !json_string_length(v) || strlen(json_string_value(v)) != json_string_length(v))
			return fail(err, errlen, sec, k->name, "must be a non-empty string");
		*(const char **)((char *)o + k->off) = json_string_value(v);
		return 0;
	case K_SIZE:
		return set_size(sec, k, v, o, err, errlen);
	case K_U32:
	case K_U16:
		if (!int_in(v, k->min, k->max, &n)) {
			snprintf(what, sizeof(what), "must be a number from %lld to %lld", (long long)k->min,
				 (long long)k->max);
			return fail(err, errlen, sec, k->name, what);
		}
		if (k->kind == K_U16)
			*(uint16_t *)((char *)o + k->off) = (uint16_t)n;
		else
			*(uint32_t *)((char *)o + k->off) = (uint32_t)n;
		return 0;
	case K_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errlen, sec, k->name, "must be true or false");
		*(bool *)((char *)o + k->off) = json_is_true(v);
		return 0;
	case K_MODE:
		if (json_is_string(v) && !strcmp(json_string_value(v), "pinned"))
			o->mode = BALLOON_PINNED;
		else if (json_is_string(v) && !strcmp(json_string_value(v), "reclaimable"))
			o->mode = BALLOON_RECLAIMABLE;
		else
			return fail(err, errlen, sec, k->name, "must be \"pinned\" or \"reclaimable\"");
		return 0;
	case K_VERBOSITY:
		if (!int_in(v, k->min, k->max, &n))
			return fail(err, errlen, sec, k->name, "must be -1 (warnings only), 0 (info) or 1 (debug)");
		o->verbosity = (int)n;
		return 0;
	case K_AMOUNT:
		/* Firecracker's amount sets both grab bounds, as PUT /balloon does. */
		if (!int_in(v, k->min, k->max, &n))
			return fail(err, errlen, sec, k->name, "must be a number of MiB from 0 to 4294967295");
		o->config_targets[TARGET_GRAB_LOWER] = o->config_targets[TARGET_GRAB_UPPER] =
			(struct size_opt){ true, (uint64_t)n << 20 };
		return 0;
	case K_FALSE:
		if (!json_is_false(v))
			return fail(err, errlen, sec, k->name,
				    "must be false: usbd has no guest driver to hint or report free pages to");
		return 0;
	}
	return -EINVAL;
}

static const struct key *find_key(const struct section *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

static int apply_section(const struct section *s, const json_t *obj, struct options *o, char *err, size_t errlen)
{
	const char *name;
	json_t *v;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "config: %s must be an object", s->name);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, name, v) {
		const struct key *k = find_key(s, name);
		int r;

		if (!k) {
			snprintf(err, errlen, "config: unknown key '%s.%s'", s->name, name);
			return -EINVAL;
		}
		if ((r = set_key(s->name, k, v, o, err, errlen)))
			return r;
	}
	return 0;
}

/* The two sections may not both say the same thing: which one would win is nobody's guess. */
static int check_overlaps(const json_t *root, char *err, size_t errlen)
{
	const json_t *b = json_object_get(root, "balloon"), *u = json_object_get(root, "usbd");
	static const char *const pairs[][2] = {
		{ "amount_mib", "grab_lower" }, { "amount_mib", "grab_upper" }, { "deflate_on_oom", "deflate_on_oom" },
	};

	for (size_t i = 0; b && u && i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (json_object_get(b, pairs[i][0]) && json_object_get(u, pairs[i][1])) {
			snprintf(err, errlen, "config: balloon.%s and usbd.%s both set it: keep one", pairs[i][0],
				 pairs[i][1]);
			return -EINVAL;
		}
	return 0;
}

static int apply(const json_t *root, struct options *o, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	int r;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "config: the file must hold one JSON object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)root, name, v) {
		size_t i = 0;

		while (i < N_SECTIONS && strcmp(sections[i].name, name))
			i++;
		if (i == N_SECTIONS) {
			snprintf(err, errlen, "config: unknown key '%s' (the sections are 'balloon' and 'usbd')", name);
			return -EINVAL;
		}
		if ((r = apply_section(&sections[i], v, o, err, errlen)))
			return r;
		if (!strcmp(name, "balloon"))
			o->balloon_section = true;
	}
	return check_overlaps(root, err, errlen);
}

int config_parse(const char *text, size_t len, struct options *o, struct config_hold *hold, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	struct options next = *o;
	int r;

	hold->doc = NULL;
	if (!root) {
		snprintf(err, errlen, "config: line %d, column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	if ((r = apply(root, &next, err, errlen))) {
		json_decref(root);
		return r;
	}
	*o = next;
	hold->doc = root;
	return 0;
}

int config_load(const char *path, struct options *o, struct config_hold *hold, char *err, size_t errlen)
{
	char *buf = malloc(CONFIG_MAX_BYTES + 1), msg[512];
	ssize_t n = -1;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r;

	hold->doc = NULL;
	if (!buf || fd < 0) {
		r = !buf ? -ENOMEM : -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	while (len <= CONFIG_MAX_BYTES && (n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > CONFIG_MAX_BYTES) {
		r = n < 0 ? -errno : -EFBIG;
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "larger than 1 MiB");
		goto out;
	}
	if ((r = config_parse(buf, len, o, hold, msg, sizeof(msg))))
		snprintf(err, errlen, "%s: %s", path, msg);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

void config_release(struct config_hold *hold)
{
	json_decref(hold->doc);
	hold->doc = NULL;
}
