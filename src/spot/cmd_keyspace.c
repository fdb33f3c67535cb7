/* The keyspace and expiry commands, with Redis 7.0's checks and error texts (db.c, expire.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "spot/cmd_int.h"

void cmd_del(struct call *c)
{
	long long n = 0;

	for (size_t i = 1; i < c->argc; i++)
		n += store_del(call_store(c), c->argv[i].p, c->argv[i].n, c->now) == 0;
	rbuf_int(c->out, n);
}

static bool exists(struct call *c, const struct cmd_arg *key)
{
	uint64_t at;
	bool found = store_expiry(call_store(c), key->p, key->n, c->now, &at) == 0;

	keystat(c, found);
	return found;
}

void cmd_exists(struct call *c)
{
	long long n = 0;

	for (size_t i = 1; i < c->argc; i++)
		n += exists(c, &c->argv[i]);
	rbuf_int(c->out, n);
}

/* TOUCH: a read of each key, which refreshes its LRU time. */
void cmd_touch(struct call *c)
{
	long long n = 0;

	for (size_t i = 1; i < c->argc; i++) {
		struct store_val v;

		n += store_get(call_store(c), c->argv[i].p, c->argv[i].n, c->now, &v) == 0;
	}
	rbuf_int(c->out, n);
}

static const char *type_name(int type) { return type == STORE_HASH ? "hash" : "string"; }

void cmd_type(struct call *c)
{
	struct store_val v;

	bool found = store_get(call_store(c), c->argv[1].p, c->argv[1].n, c->now, &v) == 0;

	keystat(c, found);
	if (!found)
		rbuf_status(c->out, "none");
	else
		rbuf_status(c->out, type_name(v.type));
}

/* RENAME (nx false) and RENAMENX: the value and its expiry move to the new name. The value is copied out first: the
 * write may reuse the chunk memory it lives in. */
static void rename_generic(struct call *c, bool nx)
{
	struct store *s = call_store(c);
	const struct cmd_arg *src = &c->argv[1], *dst = &c->argv[2];
	struct store_val v;
	uint64_t at;
	char *copy;
	int err;

	if (store_expiry(s, src->p, src->n, c->now, &at) < 0 || store_get(s, src->p, src->n, c->now, &v) < 0) {
		rbuf_error(c->out, "ERR no such key");
		return;
	}
	if (src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0) {
		if (nx)
			rbuf_int(c->out, 0);
		else
			rbuf_status(c->out, "OK");
		return;
	}
	if (nx && exists(c, dst)) {
		rbuf_int(c->out, 0);
		return;
	}
	copy = malloc(v.n ? v.n : 1);
	if (!copy) {
		store_error(c, -ENOMEM);
		return;
	}
	memcpy(copy, v.p, v.n);
	err = store_set(s, dst->p, dst->n, copy, v.n, at, v.type == STORE_HASH ? STORE_SET_HASH : 0, c->now);
	free(copy);
	if (err < 0) {
		store_error(c, err);
		return;
	}
	store_del(s, src->p, src->n, c->now);
	if (nx)
		rbuf_int(c->out, 1);
	else
		rbuf_status(c->out, "OK");
}

void cmd_rename(struct call *c) { rename_generic(c, false); }
void cmd_renamenx(struct call *c) { rename_generic(c, true); }

static void reply_key(void *arg, const char *key, size_t klen, int type)
{
	(void)type;
	rbuf_bulk(arg, key, klen);
}

void cmd_randomkey(struct call *c)
{
	if (store_random_key(call_store(c), c->now, c->now * 0x9e3779b97f4a7c15u ^ c->env->commands, reply_key,
			     c->out) < 0)
		rbuf_nil(c->out);
}

/* A walk that counts (out NULL) or replies with (out set) the keys matching a pattern (NULL: all) and a type (-1:
 * any). */
struct key_walk {
	const struct cmd_arg *pattern;
	int type;
	struct rbuf *out;
	long long n;
};

static void walk_key(void *arg, const char *key, size_t klen, int type)
{
	struct key_walk *w = arg;

	if ((w->type >= 0 && type != w->type) ||
	    (w->pattern && !glob_match(w->pattern->p, w->pattern->n, key, klen, false)))
		return;
	w->n++;
	if (w->out)
		rbuf_bulk(w->out, key, klen);
}

/* Runs the walk twice from `cursor` over `buckets`: first to count, for the array header, then to reply. A walk
 * changes nothing, so both meet the same keys. Returns the next cursor. */
static uint64_t reply_walk(struct call *c, uint64_t cursor, size_t buckets, const struct cmd_arg *pattern, int type)
{
	struct key_walk w = { pattern, type, NULL, 0 };
	uint64_t next = store_scan(call_store(c), cursor, buckets, c->now, walk_key, &w);

	rbuf_array(c->out, w.n);
	if (w.n) {
		w.out = c->out;
		store_scan(call_store(c), cursor, buckets, c->now, walk_key, &w);
	}
	return next;
}

void cmd_keys(struct call *c)
{
	const struct cmd_arg *all = &c->argv[1];

	reply_walk(c, 0, SIZE_MAX, all->n == 1 && all->p[0] == '*' ? NULL : all, -1);
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: COUNT index buckets are walked per call. */
void cmd_scan(struct call *c)
{
	const struct cmd_arg *pattern = NULL;
	uint64_t cursor, next;
	long long count = 10;
	int type = -1;
	char num[24];

	if (!parse_cursor(c, &c->argv[1], &cursor))
		return;
	for (size_t i = 2; i < c->argc; i += 2) {
		const struct cmd_arg *a = &c->argv[i], *v = &c->argv[i + 1];

		if (i + 1 == c->argc) {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		} else if (arg_is(a, "COUNT")) {
			if (!arg_ll(v, &count)) {
				rbuf_error(c->out, ERR_INT);
				return;
			}
			if (count < 1) {
				rbuf_error(c->out, ERR_SYNTAX);
				return;
			}
		} else if (arg_is(a, "MATCH")) {
			pattern = v->n == 1 && v->p[0] == '*' ? NULL : v;
		} else if (arg_is(a, "TYPE")) {
			/* A type spot memory does not hold matches nothing (Redis 7.0 does not refuse unknown names). */
			type = arg_is(v, "string") ? STORE_STRING : arg_is(v, "hash") ? STORE_HASH : 99;
		} else {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		}
	}
	rbuf_array(c->out, 2);
	/* The cursor comes first in the reply but is known only after a walk: one walk learns it (walks change
	 * nothing), then reply_walk counts and replies. */
	next = store_scan(call_store(c), cursor, (size_t)count, c->now, walk_key, &(struct key_walk){ NULL, -1, NULL, 0 });
	snprintf(num, sizeof(num), "%llu", (unsigned long long)next);
	rbuf_bulk_str(c->out, num);
	reply_walk(c, cursor, (size_t)count, pattern, type);
}

void cmd_dbsize(struct call *c)
{
	struct store_stats st;

	store_get_stats(call_store(c), &st);
	rbuf_int(c->out, (long long)st.keys);
}

void cmd_flushall(struct call *c)
{
	if (c->argc > 2 || (c->argc == 2 && !arg_is(&c->argv[1], "ASYNC") && !arg_is(&c->argv[1], "SYNC"))) {
		rbuf_error(c->out, ERR_SYNTAX);
		return;
	}
	if (c->env->watchers)
		watch_touch_existing(c);
	store_flush(call_store(c));
	rbuf_status(c->out, "OK");
}

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* Redis's parseExtendedExpireArgumentsOrReply. */
static bool parse_expire_opts(struct call *c, int *flags)
{
	*flags = 0;
	for (size_t i = 3; i < c->argc; i++) {
		const struct cmd_arg *a = &c->argv[i];

		if (arg_is(a, "NX"))
			*flags |= EXP_NX;
		else if (arg_is(a, "XX"))
			*flags |= EXP_XX;
		else if (arg_is(a, "GT"))
			*flags |= EXP_GT;
		else if (arg_is(a, "LT"))
			*flags |= EXP_LT;
		else {
			rbuf_error(c->out, "ERR Unsupported option %.*s", clip(a->n, 128), a->p);
			return false;
		}
	}
	if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
		rbuf_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return false;
	}
	if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
		rbuf_error(c->out, "ERR GT and LT options at the same time are not compatible");
		return false;
	}
	return true;
}

/*
 * EXPIRE, PEXPIRE (relative: base the current Unix time) and EXPIREAT, PEXPIREAT (base 0), in unit_ms: Redis's
 * expireGenericCommand. Times that overflow are invalid (nothing changes); a time not in the future deletes the key.
 */
static void expire_generic(struct call *c, bool relative, long long unit_ms)
{
	struct store *s = call_store(c);
	int64_t base = relative ? call_unix_ms(c) : 0, cur;
	uint64_t at;
	long long when;
	int flags;

	if (!parse_expire_opts(c, &flags))
		return;
	if (!arg_ll(&c->argv[2], &when)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	if (unit_ms == 1000 && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)) {
		invalid_expire(c);
		return;
	}
	when *= unit_ms;
	if (when > LLONG_MAX - base) {
		invalid_expire(c);
		return;
	}
	when += base;
	if (store_expiry(s, c->argv[1].p, c->argv[1].n, c->now, &at) < 0) {
		rbuf_int(c->out, 0);
		return;
	}
	/* No expiry counts as an infinite one for GT and LT. */
	cur = at ? unix_time(c, at) : -1;
	if (((flags & EXP_NX) && cur != -1) || ((flags & EXP_XX) && cur == -1) ||
	    ((flags & EXP_GT) && (cur == -1 || when <= cur)) || ((flags & EXP_LT) && cur != -1 && when >= cur)) {
		rbuf_int(c->out, 0);
		return;
	}
	/* store_expire deletes the key when the time is not in the future. */
	rbuf_int(c->out, store_expire(s, c->argv[1].p, c->argv[1].n,
				      when <= call_unix_ms(c) ? c->now : store_time(c, when), c->now) == 0);
}

void cmd_expire(struct call *c) { expire_generic(c, true, 1000); }
void cmd_pexpire(struct call *c) { expire_generic(c, true, 1); }
void cmd_expireat(struct call *c) { expire_generic(c, false, 1000); }
void cmd_pexpireat(struct call *c) { expire_generic(c, false, 1); }

void cmd_persist(struct call *c)
{
	uint64_t cur;

	if (store_expiry(call_store(c), c->argv[1].p, c->argv[1].n, c->now, &cur) < 0 || !cur) {
		rbuf_int(c->out, 0);
		return;
	}
	rbuf_int(c->out, store_expire(call_store(c), c->argv[1].p, c->argv[1].n, 0, c->now) == 0);
}

/* TTL, PTTL (remaining) and EXPIRETIME, PEXPIRETIME (absolute Unix time); seconds are rounded, as in Redis. */
static void ttl_generic(struct call *c, bool ms, bool absolute)
{
	uint64_t at;
	long long t;
	bool found = store_expiry(call_store(c), c->argv[1].p, c->argv[1].n, c->now, &at) == 0;

	keystat(c, found);
	if (!found) {
		rbuf_int(c->out, -2);
		return;
	}
	if (!at) {
		rbuf_int(c->out, -1);
		return;
	}
	t = absolute ? (long long)unix_time(c, at) : (long long)(at - c->now);
	if (t < 0)
		t = 0;
	rbuf_int(c->out, ms ? t : (t + 500) / 1000);
}

void cmd_ttl(struct call *c) { ttl_generic(c, false, false); }
void cmd_pttl(struct call *c) { ttl_generic(c, true, false); }
void cmd_expiretime(struct call *c) { ttl_generic(c, false, true); }
void cmd_pexpiretime(struct call *c) { ttl_generic(c, true, true); }

/* OBJECT ENCODING key: Redis's encoding for the value as SET would store it (int, embstr up to 44 bytes, raw). */
static void object_encoding(struct call *c)
{
	struct store_val v;
	long long n;

	if (store_get(call_store(c), c->argv[2].p, c->argv[2].n, c->now, &v) < 0)
		rbuf_nil(c->out);
	else if (v.type == STORE_HASH)
		rbuf_bulk_str(c->out, hash_encoding(c->env, &v));
	else if (resp_parse_ll(v.p, v.n, &n))
		rbuf_bulk_str(c->out, "int");
	else
		rbuf_bulk_str(c->out, v.n <= 44 ? "embstr" : "raw");
}

void cmd_object(struct call *c)
{
	static const struct subcommand subs[] = { { "encoding", 3, object_encoding } };

	run_sub(c, "OBJECT", subs, 1);
}
