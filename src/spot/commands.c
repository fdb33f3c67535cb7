#include "spot/commands.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spot/resp.h"

#define ERR_INT "ERR value is not an integer or out of range"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."
#define ERR_NOAUTH "NOAUTH Authentication required."
#define ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."

struct call {
	struct cmd_env *env;
	struct cmd_client *cl;
	struct rbuf *out;
	size_t argc;
	const struct cmd_arg *argv;
	uint64_t now;
};

struct command {
	const char *name;
	int arity;              /* Redis's convention: n exactly, -n at least n */
	bool noauth;            /* allowed before AUTH */
	void (*fn)(struct call *c);
};

static bool arg_is(const struct cmd_arg *a, const char *s)
{
	return a->n == strlen(s) && strncasecmp(a->p, s, a->n) == 0;
}

static bool arg_ll(const struct cmd_arg *a, long long *v) { return resp_parse_ll(a->p, a->n, v); }

/* A length for "%.*s" that quotes at most max bytes of client input. */
static int clip(size_t n, size_t max) { return (int)(n < max ? n : max); }

static void wrong_args(struct call *c, const char *name)
{
	rbuf_error(c->out, "ERR wrong number of arguments for '%s' command", name);
}

static void unknown_sub(struct call *c, const char *cmd)
{
	rbuf_error(c->out, "ERR unknown subcommand '%.*s'. Try %s HELP.", clip(c->argv[1].n, 128), c->argv[1].p, cmd);
}

/* Replies to a failed store write with Redis's words. */
static void store_error(struct call *c, int err)
{
	if (err == -E2BIG)
		rbuf_error(c->out, "ERR value too large for spot memory (at most %zu bytes of key and value)",
			   store_max_value(c->env->store, 0));
	else
		rbuf_error(c->out, "%s", ERR_OOM);
}

/* Compares every byte whatever the first difference, so the time taken does not reveal a prefix. */
static bool check_password(struct call *c, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	const char *pw = c->env->password;
	unsigned char diff = 0;

	if ((user && !arg_is(user, "default")) || pass->n != strlen(pw))
		return false;
	for (size_t i = 0; i < pass->n; i++)
		diff |= (unsigned char)(pass->p[i] ^ pw[i]);
	return diff == 0;
}

/*
 * Checks a password, as throttled: refused without comparing while the source is backed off; every failure counts
 * against the connection, which is closed after CMD_AUTH_MAX_FAILURES. True on success; on failure the error is
 * already the reply.
 */
static bool try_password(struct call *c, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	struct cmd_env *e = c->env;
	bool ok = false;

	if (e->auth_allowed && !e->auth_allowed(e->auth_ctx, c->cl, c->now)) {
		rbuf_error(c->out, "ERR too many failed AUTH attempts from this address; try again later");
	} else {
		ok = check_password(c, user, pass);
		if (e->auth_result)
			e->auth_result(e->auth_ctx, c->cl, ok, c->now);
		if (!ok)
			rbuf_error(c->out, ERR_WRONGPASS);
	}
	if (ok)
		return true;
	e->auth_failures++;
	if (++c->cl->auth_failures >= CMD_AUTH_MAX_FAILURES)
		c->cl->quit = true;
	return false;
}

static void cmd_ping(struct call *c)
{
	if (c->argc > 2)
		wrong_args(c, "ping");
	else if (c->argc == 2)
		rbuf_bulk(c->out, c->argv[1].p, c->argv[1].n);
	else
		rbuf_status(c->out, "PONG");
}

static void cmd_echo(struct call *c) { rbuf_bulk(c->out, c->argv[1].p, c->argv[1].n); }

static void cmd_get(struct call *c)
{
	struct store_val v;

	if (store_get(c->env->store, c->argv[1].p, c->argv[1].n, c->now, &v) == 0)
		rbuf_bulk(c->out, v.p, v.n);
	else
		rbuf_nil(c->out);
}

/* Turns a relative expiry into an absolute time; false when it is not a positive time that fits. */
static bool expire_time(struct call *c, const struct cmd_arg *a, uint64_t unit_ms, uint64_t *at, const char *cmd)
{
	long long v;

	if (!arg_ll(a, &v)) {
		rbuf_error(c->out, ERR_INT);
		return false;
	}
	if (v <= 0 || (uint64_t)v > (UINT64_MAX / 2 - c->now) / unit_ms) {
		rbuf_error(c->out, "ERR invalid expire time in '%s' command", cmd);
		return false;
	}
	*at = c->now + (uint64_t)v * unit_ms;
	return true;
}

static void cmd_set(struct call *c)
{
	uint64_t at = 0;
	int flags = 0;
	bool ttl = false;
	int err;

	for (size_t i = 3; i < c->argc; i++) {
		const struct cmd_arg *a = &c->argv[i];
		bool has_next = i + 1 < c->argc;

		if (arg_is(a, "NX") && !(flags & STORE_SET_XX)) {
			flags |= STORE_SET_NX;
		} else if (arg_is(a, "XX") && !(flags & STORE_SET_NX)) {
			flags |= STORE_SET_XX;
		} else if (arg_is(a, "KEEPTTL") && !ttl) {
			flags |= STORE_SET_KEEPTTL;
		} else if ((arg_is(a, "EX") || arg_is(a, "PX")) && !ttl && !(flags & STORE_SET_KEEPTTL) && has_next) {
			if (!expire_time(c, &c->argv[i + 1], arg_is(a, "EX") ? 1000 : 1, &at, "set"))
				return;
			ttl = true;
			i++;
		} else {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		}
	}
	err = store_set(c->env->store, c->argv[1].p, c->argv[1].n, c->argv[2].p, c->argv[2].n, at, flags, c->now);
	if (err == 0)
		rbuf_status(c->out, "OK");
	else if (err == -EEXIST || err == -ENOENT)
		rbuf_nil(c->out);
	else
		store_error(c, err);
}

static void cmd_del(struct call *c)
{
	long long n = 0;

	for (size_t i = 1; i < c->argc; i++)
		n += store_del(c->env->store, c->argv[i].p, c->argv[i].n, c->now) == 0;
	rbuf_int(c->out, n);
}

static void cmd_exists(struct call *c)
{
	long long n = 0;
	uint64_t at;

	for (size_t i = 1; i < c->argc; i++)
		n += store_expiry(c->env->store, c->argv[i].p, c->argv[i].n, c->now, &at) == 0;
	rbuf_int(c->out, n);
}

static void cmd_mget(struct call *c)
{
	rbuf_array(c->out, (long long)c->argc - 1);
	for (size_t i = 1; i < c->argc; i++) {
		struct store_val v;

		if (store_get(c->env->store, c->argv[i].p, c->argv[i].n, c->now, &v) == 0)
			rbuf_bulk(c->out, v.p, v.n);
		else
			rbuf_nil(c->out);
	}
}

static void cmd_mset(struct call *c)
{
	if (c->argc % 2 == 0) {
		wrong_args(c, "mset");
		return;
	}
	/* Refuse an oversized pair before writing any, so that size errors never leave a partial MSET. */
	for (size_t i = 1; i < c->argc; i += 2) {
		if (c->argv[i + 1].n > store_max_value(c->env->store, c->argv[i].n)) {
			store_error(c, -E2BIG);
			return;
		}
	}
	for (size_t i = 1; i < c->argc; i += 2) {
		int err = store_set(c->env->store, c->argv[i].p, c->argv[i].n, c->argv[i + 1].p, c->argv[i + 1].n, 0, 0,
				    c->now);
		if (err < 0) {
			store_error(c, err);
			return;
		}
	}
	rbuf_status(c->out, "OK");
}

static void incr_by(struct call *c, long long by)
{
	struct store_val v;
	long long cur = 0;
	char num[32];
	int n, err;

	if (store_get(c->env->store, c->argv[1].p, c->argv[1].n, c->now, &v) == 0 && !resp_parse_ll(v.p, v.n, &cur)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	if ((by > 0 && cur > LLONG_MAX - by) || (by < 0 && cur < LLONG_MIN - by)) {
		rbuf_error(c->out, "ERR increment or decrement would overflow");
		return;
	}
	cur += by;
	n = snprintf(num, sizeof(num), "%lld", cur);
	err = store_set(c->env->store, c->argv[1].p, c->argv[1].n, num, (size_t)n, 0, STORE_SET_KEEPTTL, c->now);
	if (err < 0)
		store_error(c, err);
	else
		rbuf_int(c->out, cur);
}

static void cmd_incr(struct call *c) { incr_by(c, 1); }
static void cmd_decr(struct call *c) { incr_by(c, -1); }

/* INCRBY (sign 1) and DECRBY (sign -1): the amount is an argument; -LLONG_MIN does not exist. */
static void incr_by_arg(struct call *c, int sign)
{
	long long by;

	if (!arg_ll(&c->argv[2], &by) || (sign < 0 && by == LLONG_MIN)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	incr_by(c, sign * by);
}

static void cmd_incrby(struct call *c) { incr_by_arg(c, 1); }
static void cmd_decrby(struct call *c) { incr_by_arg(c, -1); }

static void expire_generic(struct call *c, uint64_t unit_ms, const char *cmd)
{
	struct store *s = c->env->store;
	uint64_t cur, at;
	long long v;
	bool nx = false, xx = false, gt = false, lt = false;

	if (!arg_ll(&c->argv[2], &v)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	for (size_t i = 3; i < c->argc; i++) {
		const struct cmd_arg *a = &c->argv[i];

		if (arg_is(a, "NX"))
			nx = true;
		else if (arg_is(a, "XX"))
			xx = true;
		else if (arg_is(a, "GT"))
			gt = true;
		else if (arg_is(a, "LT"))
			lt = true;
		else {
			rbuf_error(c->out, "ERR Unsupported option %.*s", clip(a->n, 64), a->p);
			return;
		}
	}
	if ((nx && (xx || gt || lt)) || (gt && lt)) {
		rbuf_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if (v > 0 && (uint64_t)v > (UINT64_MAX / 2 - c->now) / unit_ms) {
		rbuf_error(c->out, "ERR invalid expire time in '%s' command", cmd);
		return;
	}
	/* A time not in the future deletes the key, as in Redis; store_expire treats at <= now that way. */
	at = v > 0 ? c->now + (uint64_t)v * unit_ms : c->now;
	if (store_expiry(s, c->argv[1].p, c->argv[1].n, c->now, &cur) < 0) {
		rbuf_int(c->out, 0);
		return;
	}
	/* No expiry counts as an infinite one for GT and LT. */
	if ((nx && cur) || (xx && !cur) || (gt && (!cur || at <= cur)) || (lt && cur && at >= cur)) {
		rbuf_int(c->out, 0);
		return;
	}
	rbuf_int(c->out, store_expire(s, c->argv[1].p, c->argv[1].n, at, c->now) == 0);
}

static void cmd_expire(struct call *c) { expire_generic(c, 1000, "expire"); }
static void cmd_pexpire(struct call *c) { expire_generic(c, 1, "pexpire"); }

static void cmd_persist(struct call *c)
{
	uint64_t cur;

	if (store_expiry(c->env->store, c->argv[1].p, c->argv[1].n, c->now, &cur) < 0 || !cur) {
		rbuf_int(c->out, 0);
		return;
	}
	rbuf_int(c->out, store_expire(c->env->store, c->argv[1].p, c->argv[1].n, 0, c->now) == 0);
}

static void ttl_generic(struct call *c, bool ms)
{
	uint64_t at;

	if (store_expiry(c->env->store, c->argv[1].p, c->argv[1].n, c->now, &at) < 0)
		rbuf_int(c->out, -2);
	else if (!at)
		rbuf_int(c->out, -1);
	else
		rbuf_int(c->out, (long long)(ms ? at - c->now : (at - c->now + 500) / 1000));
}

static void cmd_ttl(struct call *c) { ttl_generic(c, false); }
static void cmd_pttl(struct call *c) { ttl_generic(c, true); }

static void cmd_dbsize(struct call *c)
{
	struct store_stats st;

	store_get_stats(c->env->store, &st);
	rbuf_int(c->out, (long long)st.keys);
}

static void cmd_flushall(struct call *c)
{
	if (c->argc > 2 || (c->argc == 2 && !arg_is(&c->argv[1], "ASYNC") && !arg_is(&c->argv[1], "SYNC"))) {
		rbuf_error(c->out, ERR_SYNTAX);
		return;
	}
	store_flush(c->env->store);
	rbuf_status(c->out, "OK");
}

static void cmd_select(struct call *c)
{
	long long db;

	if (!arg_ll(&c->argv[1], &db))
		rbuf_error(c->out, ERR_INT);
	else if (db != 0)
		rbuf_error(c->out, "ERR DB index is out of range");
	else
		rbuf_status(c->out, "OK");
}

static void cmd_auth(struct call *c)
{
	if (c->argc > 3) {
		rbuf_error(c->out, ERR_SYNTAX);
		return;
	}
	if (!c->env->password[0]) {
		rbuf_error(c->out, "ERR AUTH <password> called without any password configured for the default user. "
			   "Are you sure your configuration is correct?");
		return;
	}
	if (try_password(c, c->argc == 3 ? &c->argv[1] : NULL, &c->argv[c->argc - 1])) {
		c->cl->authed = true;
		rbuf_status(c->out, "OK");
	}
}

static void cmd_quit(struct call *c)
{
	c->cl->quit = true;
	rbuf_status(c->out, "OK");
}

static bool valid_name(const struct cmd_arg *a)
{
	if (a->n >= sizeof(((struct cmd_client *)0)->name))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] <= ' ' || a->p[i] > '~')
			return false;
	return true;
}

static void set_name(struct call *c, const struct cmd_arg *a)
{
	memcpy(c->cl->name, a->p, a->n);
	c->cl->name[a->n] = '\0';
}

static void cmd_hello(struct call *c)
{
	const struct cmd_arg *user = NULL, *pass = NULL, *name = NULL;
	long long ver = 2;

	if (c->argc >= 2 && (!arg_ll(&c->argv[1], &ver) || ver < 0 || ver > INT_MAX)) {
		rbuf_error(c->out, "ERR Protocol version is not an integer or out of range");
		return;
	}
	for (size_t i = 2; i < c->argc; i++) {
		if (arg_is(&c->argv[i], "AUTH") && i + 2 < c->argc) {
			user = &c->argv[i + 1];
			pass = &c->argv[i + 2];
			i += 2;
		} else if (arg_is(&c->argv[i], "SETNAME") && i + 1 < c->argc) {
			name = &c->argv[++i];
		} else {
			rbuf_error(c->out, "ERR Syntax error in HELLO option '%.*s'", clip(c->argv[i].n, 64),
				   c->argv[i].p);
			return;
		}
	}
	if (ver != 2) {
		rbuf_error(c->out, "NOPROTO unsupported protocol version");
		return;
	}
	if (pass && c->env->password[0]) {
		if (!try_password(c, user, pass))
			return;
		c->cl->authed = true;
	}
	if (!c->cl->authed) {
		rbuf_error(c->out, "NOAUTH HELLO must be called with the client already authenticated, otherwise "
			   "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
			   "select the RESP protocol version at the same time");
		return;
	}
	if (name) {
		if (!valid_name(name)) {
			rbuf_error(c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
			return;
		}
		set_name(c, name);
	}
	/* RESP2 has no map type: the map is sent as a flat array of alternating fields and values. */
	rbuf_array(c->out, 14);
	rbuf_bulk_str(c->out, "server");
	rbuf_bulk_str(c->out, "redis");
	rbuf_bulk_str(c->out, "version");
	rbuf_bulk_str(c->out, "7.0.0");
	rbuf_bulk_str(c->out, "proto");
	rbuf_int(c->out, 2);
	rbuf_bulk_str(c->out, "id");
	rbuf_int(c->out, (long long)c->cl->id);
	rbuf_bulk_str(c->out, "mode");
	rbuf_bulk_str(c->out, "standalone");
	rbuf_bulk_str(c->out, "role");
	rbuf_bulk_str(c->out, "master");
	rbuf_bulk_str(c->out, "modules");
	rbuf_array(c->out, 0);
}

static void cmd_client(struct call *c)
{
	const struct cmd_arg *sub = &c->argv[1];

	if (arg_is(sub, "SETNAME") && c->argc == 3) {
		if (!valid_name(&c->argv[2])) {
			rbuf_error(c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
			return;
		}
		set_name(c, &c->argv[2]);
		rbuf_status(c->out, "OK");
	} else if (arg_is(sub, "GETNAME") && c->argc == 2) {
		if (c->cl->name[0])
			rbuf_bulk_str(c->out, c->cl->name);
		else
			rbuf_nil(c->out);
	} else if (arg_is(sub, "SETINFO") && c->argc == 4) {
		rbuf_status(c->out, "OK");
	} else if (arg_is(sub, "ID") && c->argc == 2) {
		rbuf_int(c->out, (long long)c->cl->id);
	} else {
		unknown_sub(c, "CLIENT");
	}
}

/* CONFIG GET answers the few parameters clients ask about (redis-benchmark asks for save and appendonly). */
static void cmd_config(struct call *c)
{
	struct store_stats st;
	char maxmem[32], pattern[129];
	const char *params[][2] = {
		{ "save", "" }, { "appendonly", "no" }, { "databases", "1" }, { "maxmemory", maxmem },
		{ "maxmemory-policy", "allkeys-lru" },
	};
	size_t n = sizeof(params) / sizeof(params[0]);
	bool match[sizeof(params) / sizeof(params[0])] = { false };
	long long count = 0;

	if (arg_is(&c->argv[1], "RESETSTAT") && c->argc == 2) {
		rbuf_status(c->out, "OK");
		return;
	}
	if (!arg_is(&c->argv[1], "GET")) {
		unknown_sub(c, "CONFIG");
		return;
	}
	if (c->argc < 3) {
		wrong_args(c, "config|get");
		return;
	}
	store_get_stats(c->env->store, &st);
	snprintf(maxmem, sizeof(maxmem), "%" PRIu64, st.capacity);
	for (size_t i = 2; i < c->argc; i++) {
		size_t len = c->argv[i].n < sizeof(pattern) - 1 ? c->argv[i].n : sizeof(pattern) - 1;

		memcpy(pattern, c->argv[i].p, len);
		pattern[len] = '\0';
		for (size_t j = 0; j < n; j++)
			match[j] |= fnmatch(pattern, params[j][0], FNM_CASEFOLD) == 0;
	}
	for (size_t j = 0; j < n; j++)
		count += match[j];
	rbuf_array(c->out, count * 2);
	for (size_t j = 0; j < n; j++) {
		if (!match[j])
			continue;
		rbuf_bulk_str(c->out, params[j][0]);
		rbuf_bulk_str(c->out, params[j][1]);
	}
}

static void cmd_info(struct call *c);
static void cmd_command(struct call *c);

static const struct command commands[] = {
	{ "ping", -1, false, cmd_ping },       { "echo", 2, false, cmd_echo },
	{ "get", 2, false, cmd_get },          { "set", -3, false, cmd_set },
	{ "del", -2, false, cmd_del },         { "exists", -2, false, cmd_exists },
	{ "mget", -2, false, cmd_mget },       { "mset", -3, false, cmd_mset },
	{ "incr", 2, false, cmd_incr },        { "decr", 2, false, cmd_decr },
	{ "incrby", 3, false, cmd_incrby },    { "decrby", 3, false, cmd_decrby },
	{ "expire", -3, false, cmd_expire },   { "pexpire", -3, false, cmd_pexpire },
	{ "persist", 2, false, cmd_persist },  { "ttl", 2, false, cmd_ttl },
	{ "pttl", 2, false, cmd_pttl },        { "dbsize", 1, false, cmd_dbsize },
	{ "flushall", -1, false, cmd_flushall }, { "flushdb", -1, false, cmd_flushall },
	{ "info", -1, false, cmd_info },       { "select", 2, false, cmd_select },
	{ "auth", -2, true, cmd_auth },        { "quit", -1, true, cmd_quit },
	{ "hello", -1, true, cmd_hello },      { "command", -1, false, cmd_command },
	{ "config", -2, false, cmd_config },   { "client", -2, false, cmd_client },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cmd_command(struct call *c)
{
	if (c->argc == 1 || arg_is(&c->argv[1], "DOCS")) {
		rbuf_array(c->out, 0);
	} else if (arg_is(&c->argv[1], "COUNT") && c->argc == 2) {
		rbuf_int(c->out, (long long)NCOMMANDS);
	} else if (arg_is(&c->argv[1], "LIST") && c->argc == 2) {
		rbuf_array(c->out, (long long)NCOMMANDS);
		for (size_t i = 0; i < NCOMMANDS; i++)
			rbuf_bulk_str(c->out, commands[i].name);
	} else if (arg_is(&c->argv[1], "INFO")) {
		rbuf_array(c->out, (long long)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++)
			rbuf_nil(c->out);
	} else {
		unknown_sub(c, "COMMAND");
	}
}

/* Appends "# Name\r\n" and the section's fields when `want` selects it. */
static bool section(const struct cmd_arg *want, const char *name, char *buf, size_t cap, size_t *len)
{
	int n;

	if (want && !arg_is(want, name) && !arg_is(want, "all") && !arg_is(want, "everything") &&
	    !arg_is(want, "default"))
		return false;
	n = snprintf(buf + *len, cap - *len, "%s# %c%s\r\n", *len ? "\r\n" : "", name[0] - 'a' + 'A', name + 1);
	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
	return true;
}

static void field(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void field(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
}

static void cmd_info(struct call *c)
{
	const struct cmd_arg *want = c->argc > 1 ? &c->argv[1] : NULL;
	struct cmd_env *e = c->env;
	struct store_stats st;
	char buf[2048];
	size_t len = 0;

	store_get_stats(e->store, &st);
	if (section(want, "server", buf, sizeof(buf), &len))
		field(buf, sizeof(buf), &len,
		      "redis_version:7.0.0\r\nredis_mode:standalone\r\nusbd_spot:1\r\nprocess_id:%ld\r\ntcp_port:%d\r\n"
		      "uptime_in_seconds:%" PRIu64 "\r\n",
		      (long)getpid(), e->port, (c->now - e->start_ms) / 1000);
	if (section(want, "clients", buf, sizeof(buf), &len))
		field(buf, sizeof(buf), &len, "connected_clients:%" PRIu64 "\r\nmaxclients:%" PRIu64 "\r\n", e->clients,
		      e->max_clients);
	if (section(want, "memory", buf, sizeof(buf), &len)) {
		field(buf, sizeof(buf), &len,
		      "used_memory:%" PRIu64 "\r\nmaxmemory:%" PRIu64 "\r\nmaxmemory_policy:allkeys-lru\r\n"
		      "spot_capacity:%" PRIu64 "\r\nspot_used:%" PRIu64 "\r\nspot_chunks:%" PRIu64 "\r\n"
		      "spot_chunks_free:%" PRIu64 "\r\nspot_index_entries:%" PRIu64 "\r\n"
		      "spot_index_bytes:%" PRIu64 "\r\n",
		      st.used, st.capacity, st.capacity, st.used, st.chunks, st.chunks_free, st.index_entries,
		      st.index_bytes);
		if (e->budget)
			field(buf, sizeof(buf), &len,
			      "spot_clients_memory:%zu\r\nspot_clients_budget:%zu\r\nspot_clients_refused:%" PRIu64 "\r\n",
			      e->budget->used, e->budget->limit, e->budget->refused);
	}
	if (section(want, "stats", buf, sizeof(buf), &len))
		field(buf, sizeof(buf), &len,
		      "total_connections_received:%" PRIu64 "\r\nrejected_connections:%" PRIu64 "\r\n"
		      "total_commands_processed:%" PRIu64 "\r\nexpired_keys:%" PRIu64 "\r\nevicted_keys:%" PRIu64 "\r\n"
		      "deflation_losses:%" PRIu64 "\r\nauth_failures:%" PRIu64 "\r\n",
		      e->connections, e->rejected, e->commands, st.expired, st.evictions, st.losses, e->auth_failures);
	if (section(want, "keyspace", buf, sizeof(buf), &len) && st.keys)
		field(buf, sizeof(buf), &len, "db0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0\r\n", st.keys,
		      st.expires);
	rbuf_bulk(c->out, buf, len);
}

static const struct command *find(const struct cmd_arg *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (arg_is(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static void unknown_command(struct call *c)
{
	char args[160];
	size_t len = 0;

	args[0] = '\0';
	for (size_t i = 1; i < c->argc && len < 128; i++) {
		const struct cmd_arg *a = &c->argv[i];
		int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ", clip(a->n, 128 - len), a->p);

		if (n > 0)
			len = len + (size_t)n < sizeof(args) ? len + (size_t)n : sizeof(args) - 1;
	}
	rbuf_error(c->out, "ERR unknown command '%.*s', with args beginning with: %s", clip(c->argv[0].n, 128),
		   c->argv[0].p, args);
}

void cmd_exec(struct cmd_env *env, struct cmd_client *cl, struct rbuf *out, size_t argc, const struct cmd_arg *argv,
	      uint64_t now)
{
	struct call c = { .env = env, .cl = cl, .out = out, .argc = argc, .argv = argv, .now = now };
	const struct command *cmd = find(&argv[0]);

	env->commands++;
	if (!cl->authed && env->password[0] && !(cmd && cmd->noauth)) {
		rbuf_error(out, ERR_NOAUTH);
		return;
	}
	if (!cmd) {
		unknown_command(&c);
		return;
	}
	if ((cmd->arity > 0 && argc != (size_t)cmd->arity) || (cmd->arity < 0 && argc < (size_t)-cmd->arity)) {
		wrong_args(&c, cmd->name);
		return;
	}
	cmd->fn(&c);
}
