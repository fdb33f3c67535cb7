/*
 * CONFIG GET / SET / RESETSTAT, MEMORY USAGE and FUNCTION FLUSH. The parameters are the few that clients and
 * Redis's own tests ask about; SET changes what has a meaning here (the hash encoding thresholds) and accepts,
 * without effect, the values that are spot memory's already (save "", appendonly no, maxmemory-policy allkeys-lru,
 * maxmemory 0: no limit beyond the capacity or the tenant's quota). Everything else is refused with Redis's words.
 */
#include <fnmatch.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>

#include "spot/cmd_int.h"

struct param {
	const char *name, *alias;       /* Redis 7.0 keeps the 6.x name as an alias (ziplist -> listpack) */
	/* Formats the value into buf (64 bytes). */
	void (*get)(const struct call *c, char *buf);
	/* Checks (apply false) or applies a value; false with *why set when it is refused. NULL: immutable. */
	bool (*set)(struct call *c, const struct cmd_arg *v, bool apply, const char **why);
};

static void get_empty(const struct call *c, char *buf) { (void)c; buf[0] = '\0'; }
static void get_no(const struct call *c, char *buf) { (void)c; snprintf(buf, 64, "no"); }
static void get_one(const struct call *c, char *buf) { (void)c; snprintf(buf, 64, "1"); }
static void get_lru(const struct call *c, char *buf) { (void)c; snprintf(buf, 64, "allkeys-lru"); }

/* What INFO says: the tenant's quota, else the capacity. */
static void get_maxmemory(const struct call *c, char *buf)
{
	const struct spot_user *u = c->env->users ? &c->env->users->u[c->cl->user] : NULL;
	struct store_stats st;

	if (c->env->users)
		users_totals(c->env->users, &st);
	else
		store_get_stats(call_store(c), &st);
	snprintf(buf, 64, "%" PRIu64, u && u->quota ? u->quota : st.capacity);
}

static void get_maxclients(const struct call *c, char *buf) { snprintf(buf, 64, "%" PRIu64, c->env->max_clients); }

static void get_hash_entries(const struct call *c, char *buf)
{
	snprintf(buf, 64, "%" PRIu64, c->env->hash_limits_set ? c->env->hash_max_entries : LISTPACK_MAX_ENTRIES);
}

static void get_hash_value(const struct call *c, char *buf)
{
	snprintf(buf, 64, "%" PRIu64, c->env->hash_limits_set ? c->env->hash_max_value : LISTPACK_MAX_VALUE);
}

/* A value that is spot memory's already is taken; another is refused (nothing here can be changed). */
static bool only(const struct cmd_arg *v, const char *ok, const char *why_not, const char **why)
{
	if (arg_is(v, ok))
		return true;
	*why = why_not;
	return false;
}

static bool set_save(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	(void)c, (void)apply;
	return only(v, "", "spot memory persists nothing", why);
}

static bool set_appendonly(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	(void)c, (void)apply;
	return only(v, "no", "spot memory persists nothing", why);
}

static bool set_policy(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	(void)c, (void)apply;
	return only(v, "allkeys-lru", "spot memory evicts allkeys-lru (and a tenant over its quota gets -OOM)", why);
}

static bool set_maxmemory(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	(void)c, (void)apply;
	return only(v, "0", "spot memory's size follows the balloon (a tenant's quota is set through usbd's API)", why);
}

static bool parse_limit(const struct cmd_arg *v, uint64_t *out, const char **why)
{
	long long n;

	if (!arg_ll(v, &n)) {
		*why = "argument couldn't be parsed into an integer";
		return false;
	}
	if (n < 0 || n > LONG_MAX) {
		*why = "argument must be between 0 and 9223372036854775807 inclusive";
		return false;
	}
	*out = (uint64_t)n;
	return true;
}

static void hash_limits_init(struct cmd_env *e)
{
	if (e->hash_limits_set)
		return;
	e->hash_limits_set = true;
	e->hash_max_entries = LISTPACK_MAX_ENTRIES;
	e->hash_max_value = LISTPACK_MAX_VALUE;
}

static bool set_hash_entries(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	uint64_t n;

	if (!parse_limit(v, &n, why))
		return false;
	if (apply) {
		hash_limits_init(c->env);
		c->env->hash_max_entries = n;
	}
	return true;
}

static bool set_hash_value(struct call *c, const struct cmd_arg *v, bool apply, const char **why)
{
	uint64_t n;

	/* A memory value in Redis ("1kb" too); plain bytes here. */
	if (!parse_limit(v, &n, why)) {
		*why = "argument must be a memory value";
		return false;
	}
	if (apply) {
		hash_limits_init(c->env);
		c->env->hash_max_value = n;
	}
	return true;
}

static const struct param params[] = {
	{ "save", NULL, get_empty, set_save },
	{ "appendonly", NULL, get_no, set_appendonly },
	{ "databases", NULL, get_one, NULL },
	{ "maxmemory", NULL, get_maxmemory, set_maxmemory },
	{ "maxmemory-policy", NULL, get_lru, set_policy },
	{ "maxclients", NULL, get_maxclients, NULL },
	{ "hash-max-listpack-entries", "hash-max-ziplist-entries", get_hash_entries, set_hash_entries },
	{ "hash-max-listpack-value", "hash-max-ziplist-value", get_hash_value, set_hash_value },
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

static const struct param *find_param(const struct cmd_arg *a)
{
	for (size_t i = 0; i < NPARAMS; i++)
		if (arg_is(a, params[i].name) || (params[i].alias && arg_is(a, params[i].alias)))
			return &params[i];
	return NULL;
}

/* Each name (a parameter's, or its alias) that any pattern matches, with the value: Redis answers an alias by its
 * own name. */
static void config_get(struct call *c)
{
	bool match[NPARAMS][2] = { { false } };
	char pattern[129], val[64];
	long long count = 0;

	for (size_t i = 2; i < c->argc; i++) {
		size_t len = c->argv[i].n < sizeof(pattern) - 1 ? c->argv[i].n : sizeof(pattern) - 1;

		memcpy(pattern, c->argv[i].p, len);
		pattern[len] = '\0';
		for (size_t j = 0; j < NPARAMS; j++) {
			match[j][0] |= fnmatch(pattern, params[j].name, FNM_CASEFOLD) == 0;
			match[j][1] |= params[j].alias && fnmatch(pattern, params[j].alias, FNM_CASEFOLD) == 0;
		}
	}
	for (size_t j = 0; j < NPARAMS; j++)
		count += match[j][0] + match[j][1];
	rbuf_array(c->out, count * 2);
	for (size_t j = 0; j < NPARAMS; j++) {
		if (!match[j][0] && !match[j][1])
			continue;
		params[j].get(c, val);
		for (int k = 0; k < 2; k++) {
			if (!match[j][k])
				continue;
			rbuf_bulk_str(c->out, k ? params[j].alias : params[j].name);
			rbuf_bulk_str(c->out, val);
		}
	}
}

/* Redis 7.0's CONFIG SET: every pair checked first, then all applied (or none). */
static void config_set(struct call *c)
{
	const char *why = NULL;

	if (c->argc < 4 || c->argc % 2) {
		wrong_args(c, "config|set");
		return;
	}
	for (size_t i = 2; i < c->argc; i += 2) {
		const struct param *p = find_param(&c->argv[i]);

		if (!p) {
			rbuf_error(c->out, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
				   clip(c->argv[i].n, 128), c->argv[i].p);
			return;
		}
		for (size_t j = 2; j < i; j += 2)
			if (find_param(&c->argv[j]) == p) {
				rbuf_error(c->out, "ERR CONFIG SET failed (possibly related to argument '%.*s') - "
					   "duplicate parameter", clip(c->argv[i].n, 128), c->argv[i].p);
				return;
			}
		if (!p->set)
			why = "can't set immutable config";
		if (why || !p->set(c, &c->argv[i + 1], false, &why)) {
			rbuf_error(c->out, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
				   clip(c->argv[i].n, 128), c->argv[i].p, why);
			return;
		}
	}
	for (size_t i = 2; i < c->argc; i += 2)
		find_param(&c->argv[i])->set(c, &c->argv[i + 1], true, &why);
	rbuf_status(c->out, "OK");
}

static void config_resetstat(struct call *c)
{
	memset(c->env->stats, 0, sizeof(c->env->stats));
	rbuf_status(c->out, "OK");
}

void cmd_config(struct call *c)
{
	static const struct subcommand subs[] = {
		{ "get", -3, config_get },
		{ "set", -4, config_set },
		{ "resetstat", 2, config_resetstat },
	};

	run_sub(c, "CONFIG", subs, sizeof(subs) / sizeof(subs[0]));
}

/* MEMORY USAGE key [SAMPLES count]: the key's slot in its chunk and its index entry (a hash is one item: SAMPLES
 * changes nothing). */
static void memory_usage(struct call *c)
{
	uint64_t bytes;
	long long samples;

	if (c->argc == 5 && arg_is(&c->argv[3], "SAMPLES")) {
		if (!arg_ll(&c->argv[4], &samples)) {
			rbuf_error(c->out, ERR_INT);
			return;
		}
	} else if (c->argc != 3) {
		rbuf_error(c->out, ERR_SYNTAX);
		return;
	}
	if (store_usage(call_store(c), c->argv[2].p, c->argv[2].n, c->now, &bytes) < 0)
		rbuf_nil(c->out);
	else
		rbuf_int(c->out, (long long)bytes);
}

void cmd_memory(struct call *c)
{
	static const struct subcommand subs[] = { { "usage", -3, memory_usage } };

	run_sub(c, "MEMORY", subs, sizeof(subs) / sizeof(subs[0]));
}

/* FUNCTION FLUSH [ASYNC|SYNC]: there are no functions (no scripting), so there is nothing to flush; Redis's test
 * harness calls it before every test file. */
static void function_flush(struct call *c)
{
	if (c->argc == 3 && !arg_is(&c->argv[2], "ASYNC") && !arg_is(&c->argv[2], "SYNC")) {
		rbuf_error(c->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
		return;
	}
	if (c->argc > 3) {
		rbuf_error(c->out, "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.");
		return;
	}
	rbuf_status(c->out, "OK");
}

void cmd_function(struct call *c)
{
	static const struct subcommand subs[] = { { "flush", -2, function_flush } };

	run_sub(c, "FUNCTION", subs, sizeof(subs) / sizeof(subs[0]));
}
