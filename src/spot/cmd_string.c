/* The string commands, with Redis 7.0's option parsing, checks and error texts (t_string.c). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "spot/cmd_int.h"

/* The options of SET and GETEX (Redis's parseExtendedStringArgumentsOrReply). */
enum {
	OPT_NX = 1 << 0, OPT_XX = 1 << 1, OPT_GET = 1 << 2, OPT_KEEPTTL = 1 << 3, OPT_PERSIST = 1 << 4,
	OPT_EX = 1 << 5, OPT_PX = 1 << 6, OPT_EXAT = 1 << 7, OPT_PXAT = 1 << 8,
};
#define OPT_TTL (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

struct str_opts {
	int flags;
	const struct cmd_arg *expire; /* the EX/PX/EXAT/PXAT argument, or NULL */
};

/* Parses the options from argument `from` on: for SET (set) NX XX GET KEEPTTL, for GETEX PERSIST; both EX PX EXAT
 * PXAT. A repeated option is accepted (the last value wins), conflicting ones are a syntax error, as in Redis. */
static bool parse_str_opts(struct call *c, size_t from, bool set, struct str_opts *o)
{
	static const struct {
		const char *name;
		int flag, conflicts;
		bool set_only, get_only;
	} opts[] = {
		{ "NX", OPT_NX, OPT_XX, true, false },
		{ "XX", OPT_XX, OPT_NX, true, false },
		{ "GET", OPT_GET, 0, true, false },
		{ "KEEPTTL", OPT_KEEPTTL, OPT_PERSIST | OPT_TTL, true, false },
		{ "PERSIST", OPT_PERSIST, OPT_KEEPTTL | OPT_TTL, false, true },
		{ "EX", OPT_EX, OPT_KEEPTTL | OPT_PERSIST | (OPT_TTL & ~OPT_EX), false, false },
		{ "PX", OPT_PX, OPT_KEEPTTL | OPT_PERSIST | (OPT_TTL & ~OPT_PX), false, false },
		{ "EXAT", OPT_EXAT, OPT_KEEPTTL | OPT_PERSIST | (OPT_TTL & ~OPT_EXAT), false, false },
		{ "PXAT", OPT_PXAT, OPT_KEEPTTL | OPT_PERSIST | (OPT_TTL & ~OPT_PXAT), false, false },
	};

	*o = (struct str_opts){ 0, NULL };
	for (size_t i = from; i < c->argc; i++) {
		size_t k;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (arg_is(&c->argv[i], opts[k].name))
				break;
		if (k == sizeof(opts) / sizeof(opts[0]) || (o->flags & opts[k].conflicts) || (opts[k].set_only && !set) ||
		    (opts[k].get_only && set) || ((opts[k].flag & OPT_TTL) && i + 1 == c->argc)) {
			rbuf_error(c->out, ERR_SYNTAX);
			return false;
		}
		o->flags |= opts[k].flag;
		if (opts[k].flag & OPT_TTL)
			o->expire = &c->argv[++i];
	}
	return true;
}

/*
 * Redis's getExpireMillisecondsOrReply: the absolute Unix time in ms that an expiry argument means (relative for
 * EX/PX, absolute for EXAT/PXAT). A value that is not positive, or that overflows once converted, is an invalid
 * expire time. False, and the error is the reply.
 */
static bool expire_arg(struct call *c, const struct cmd_arg *a, int flag, int64_t *unix_ms)
{
	bool secs = flag & (OPT_EX | OPT_EXAT);
	long long v;

	if (!arg_ll(a, &v)) {
		rbuf_error(c->out, ERR_INT);
		return false;
	}
	if (v <= 0 || (secs && v > LLONG_MAX / 1000)) {
		invalid_expire(c);
		return false;
	}
	if (secs)
		v *= 1000;
	if (flag & (OPT_EX | OPT_PX)) {
		if (v > LLONG_MAX - call_unix_ms(c)) {
			invalid_expire(c);
			return false;
		}
		v += call_unix_ms(c);
	}
	*unix_ms = v;
	return true;
}

static int ttl_flag(int flags) { return flags & OPT_TTL; }

/* GET's reply; false when the key holds another type (WRONGTYPE replied). */
static bool get_reply(struct call *c)
{
	struct store_val v;
	int r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);

	if (r > 0)
		rbuf_bulk(c->out, v.p, v.n);
	else if (r == 0)
		rbuf_nil(c->out);
	return r >= 0;
}

void cmd_get(struct call *c) { get_reply(c); }

/*
 * The write of SET and its kin: stores the value (expiry at, 0: none; flags of the store), then replies `ok` (NULL:
 * +OK) or, when NX/XX refused it, `no` (NULL: nil). With get, the old value was already the reply: only an error
 * replaces it.
 */
static void set_generic(struct call *c, const struct cmd_arg *val, uint64_t at, int store_flags, bool get,
			size_t mark, const char *ok, const char *no)
{
	int err = store_set(call_store(c), c->argv[1].p, c->argv[1].n, val->p, val->n, at, store_flags, c->now);

	if (err < 0 && err != -EEXIST && err != -ENOENT) {
		reply_rewind(c->out, mark);
		store_error(c, err);
	} else if (get) {
		return;
	} else if (err == 0 && ok) {
		rbuf_raw(c->out, ok, strlen(ok));
	} else if (err == 0) {
		rbuf_status(c->out, "OK");
	} else if (no) {
		rbuf_raw(c->out, no, strlen(no));
	} else {
		rbuf_nil(c->out);
	}
}

void cmd_set(struct call *c)
{
	struct str_opts o;
	int64_t unix_ms = 0;
	size_t mark = reply_mark(c->out);
	int sf;

	if (!parse_str_opts(c, 3, true, &o) || (o.expire && !expire_arg(c, o.expire, ttl_flag(o.flags), &unix_ms)))
		return;
	if ((o.flags & OPT_GET) && !get_reply(c))
		return;
	sf = (o.flags & OPT_NX ? STORE_SET_NX : 0) | (o.flags & OPT_XX ? STORE_SET_XX : 0) |
	     (o.flags & OPT_KEEPTTL ? STORE_SET_KEEPTTL : 0);
	set_generic(c, &c->argv[2], o.expire ? store_time(c, unix_ms) : 0, sf, o.flags & OPT_GET, mark, NULL, NULL);
}

void cmd_setnx(struct call *c)
{
	set_generic(c, &c->argv[2], 0, STORE_SET_NX, false, reply_mark(c->out), ":1\r\n", ":0\r\n");
}

/* SETEX key seconds value, PSETEX key ms value. */
static void setex_generic(struct call *c, int flag)
{
	int64_t unix_ms;

	if (expire_arg(c, &c->argv[2], flag, &unix_ms))
		set_generic(c, &c->argv[3], store_time(c, unix_ms), 0, false, reply_mark(c->out), NULL, NULL);
}

void cmd_setex(struct call *c) { setex_generic(c, OPT_EX); }
void cmd_psetex(struct call *c) { setex_generic(c, OPT_PX); }

void cmd_getset(struct call *c)
{
	size_t mark = reply_mark(c->out);

	if (get_reply(c))
		set_generic(c, &c->argv[2], 0, 0, true, mark, NULL, NULL);
}

void cmd_getdel(struct call *c)
{
	struct store_val v;
	int r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);

	if (r <= 0) {
		if (r == 0)
			rbuf_nil(c->out);
		return;
	}
	rbuf_bulk(c->out, v.p, v.n);
	store_del(call_store(c), c->argv[1].p, c->argv[1].n, c->now);
}

/* GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]: the expiry is checked only once the key is found. */
void cmd_getex(struct call *c)
{
	struct store *s = call_store(c);
	struct str_opts o;
	struct store_val v;
	int64_t unix_ms = 0;

	int r;

	if (!parse_str_opts(c, 2, false, &o))
		return;
	r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);
	if (r <= 0) {
		if (r == 0)
			rbuf_nil(c->out);
		return;
	}
	if (o.expire && !expire_arg(c, o.expire, ttl_flag(o.flags), &unix_ms))
		return;
	rbuf_bulk(c->out, v.p, v.n);
	if (o.expire)
		store_expire(s, c->argv[1].p, c->argv[1].n, store_time(c, unix_ms), c->now);
	else if (o.flags & OPT_PERSIST)
		store_expire(s, c->argv[1].p, c->argv[1].n, 0, c->now);
}

void cmd_mget(struct call *c)
{
	rbuf_array(c->out, (long long)c->argc - 1);
	for (size_t i = 1; i < c->argc; i++) {
		struct store_val v;

		bool found = store_get(call_store(c), c->argv[i].p, c->argv[i].n, c->now, &v) == 0;

		keystat(c, found);
		/* A key of another type reads as missing, as in Redis. */
		if (found && v.type == STORE_STRING)
			rbuf_bulk(c->out, v.p, v.n);
		else
			rbuf_nil(c->out);
	}
}

/* MSET (nx false) and MSETNX: sizes are checked before any pair is written, so a size error never leaves a partial
 * write; MSETNX writes nothing when any key exists. */
static void mset_generic(struct call *c, bool nx)
{
	struct store *s = call_store(c);
	uint64_t at;

	if (c->argc % 2 == 0) {
		wrong_args(c, c->cmd->name);
		return;
	}
	for (size_t i = 1; i < c->argc; i += 2) {
		if (c->argv[i + 1].n > store_max_value(s, c->argv[i].n)) {
			store_error(c, -E2BIG);
			return;
		}
		if (nx && store_expiry(s, c->argv[i].p, c->argv[i].n, c->now, &at) == 0) {
			rbuf_int(c->out, 0);
			return;
		}
	}
	for (size_t i = 1; i < c->argc; i += 2) {
		int err = store_set(s, c->argv[i].p, c->argv[i].n, c->argv[i + 1].p, c->argv[i + 1].n, 0, 0, c->now);

		if (err < 0) {
			store_error(c, err);
			return;
		}
	}
	if (nx)
		rbuf_int(c->out, 1);
	else
		rbuf_status(c->out, "OK");
}

void cmd_mset(struct call *c) { mset_generic(c, false); }
void cmd_msetnx(struct call *c) { mset_generic(c, true); }

/* Stores a new value under argv[1], keeping its expiry; false and the error replied when it cannot. */
static bool store_keep_ttl(struct call *c, const char *p, size_t n)
{
	int err = store_set(call_store(c), c->argv[1].p, c->argv[1].n, p, n, 0, STORE_SET_KEEPTTL, c->now);

	if (err < 0)
		store_error(c, err);
	return err == 0;
}

static void incr_by(struct call *c, long long by)
{
	struct store_val v;
	long long cur = 0;
	char num[32];
	int n, r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);

	if (r < 0)
		return;
	if (r > 0 && !resp_parse_ll(v.p, v.n, &cur)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	if ((by > 0 && cur > 0 && by > LLONG_MAX - cur) || (by < 0 && cur < 0 && by < LLONG_MIN - cur)) {
		rbuf_error(c->out, "ERR increment or decrement would overflow");
		return;
	}
	cur += by;
	n = snprintf(num, sizeof(num), "%lld", cur);
	if (store_keep_ttl(c, num, (size_t)n))
		rbuf_int(c->out, cur);
}

void cmd_incr(struct call *c) { incr_by(c, 1); }
void cmd_decr(struct call *c) { incr_by(c, -1); }

void cmd_incrby(struct call *c)
{
	long long by;

	if (!arg_ll(&c->argv[2], &by))
		rbuf_error(c->out, ERR_INT);
	else
		incr_by(c, by);
}

void cmd_decrby(struct call *c)
{
	long long by;

	if (!arg_ll(&c->argv[2], &by))
		rbuf_error(c->out, ERR_INT);
	else if (by == LLONG_MIN) /* -LLONG_MIN does not exist */
		rbuf_error(c->out, "ERR decrement would overflow");
	else
		incr_by(c, -by);
}

/* Redis's string2ld: the whole text is a number strtold reads, no leading space, no NaN, no overflow. */
/* APPEND or SETRANGE past the largest value: Redis's checkStringLength words, with spot memory's limit. */
static void too_long(struct call *c)
{
	rbuf_error(c->out, "ERR string exceeds maximum allowed size (spot memory holds at most %zu bytes of key and value)",
		   store_max_value(call_store(c), 0));
}

bool parse_ld(const char *p, size_t n, long double *v)
{
	char buf[LD_MAX_CHARS];
	char *end;

	if (n == 0 || n >= sizeof(buf) || p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtold(buf, &end);
	/* All of it: a NUL inside ends strtold early, as it ends Redis's string2ld (which then refuses). */
	if (end != buf + n || isnan(*v) || errno == EINVAL ||
	    (errno == ERANGE && (*v == HUGE_VALL || *v == -HUGE_VALL || *v == 0)))
		return false;
	return true;
}

/* Redis's ld2string in human mode: "%.17Lf" without trailing zeros or point, and "-0" as "0". */
int format_ld(char *buf, size_t cap, long double v)
{
	int n = snprintf(buf, cap, "%.17Lf", v);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	if (strchr(buf, '.')) {
		while (buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		n = 1;
	}
	return n;
}

int float_add(struct call *c, long double cur, long double by, char *num)
{
	int n;

	cur += by;
	if (isnan(cur) || isinf(cur)) {
		rbuf_error(c->out, "ERR increment would produce NaN or Infinity");
		return -1;
	}
	n = format_ld(num, LD_MAX_CHARS, cur);
	if (n < 0)
		rbuf_error(c->out, ERR_FLOAT);
	return n;
}

void cmd_incrbyfloat(struct call *c)
{
	struct store_val v;
	long double cur = 0, by;
	char num[LD_MAX_CHARS];
	int n, r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);

	if (r < 0)
		return;
	if ((r > 0 && !parse_ld(v.p, v.n, &cur)) || !parse_ld(c->argv[2].p, c->argv[2].n, &by)) {
		rbuf_error(c->out, ERR_FLOAT);
		return;
	}
	if ((n = float_add(c, cur, by, num)) < 0)
		return;
	if (store_keep_ttl(c, num, (size_t)n))
		rbuf_bulk(c->out, num, (size_t)n);
}

/*
 * Writes (p, n) at offset `at` of the key's value (zero-padded up to it), keeping its expiry: APPEND (at: the old
 * length) and SETRANGE. The new value is built on the heap: the old one lives in a chunk that the write may reuse.
 * Replies the new length.
 */
static void write_range(struct call *c, const struct store_val *old, size_t at, const char *p, size_t n)
{
	size_t len = at + n > old->n ? at + n : old->n;
	char *buf;

	if (len > store_max_value(call_store(c), c->argv[1].n)) {
		too_long(c);
		return;
	}
	buf = calloc(1, len ? len : 1);
	if (!buf) {
		store_error(c, -ENOMEM);
		return;
	}
	memcpy(buf, old->p, old->n);
	memcpy(buf + at, p, n);
	if (store_keep_ttl(c, buf, len))
		rbuf_int(c->out, (long long)len);
	free(buf);
}

void cmd_append(struct call *c)
{
	struct store_val old = { "", 0, STORE_STRING };

	if (lookup_typed(c, &c->argv[1], STORE_STRING, &old) >= 0)
		write_range(c, &old, old.n, c->argv[2].p, c->argv[2].n);
}

void cmd_setrange(struct call *c)
{
	struct store_val old = { "", 0, STORE_STRING };
	long long off;
	int found;

	if (!arg_ll(&c->argv[2], &off)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	if (off < 0) {
		rbuf_error(c->out, "ERR offset is out of range");
		return;
	}
	found = lookup_typed(c, &c->argv[1], STORE_STRING, &old);
	if (found < 0)
		return;
	if (c->argv[3].n == 0) {
		/* Nothing to write: the length as it is, and no key created. */
		rbuf_int(c->out, found ? (long long)old.n : 0);
		return;
	}
	if ((unsigned long long)off > store_max_value(call_store(c), c->argv[1].n)) {
		too_long(c);
		return;
	}
	write_range(c, &old, (size_t)off, c->argv[3].p, c->argv[3].n);
}

void cmd_strlen(struct call *c)
{
	struct store_val v;
	int r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);

	if (r >= 0)
		rbuf_int(c->out, r ? (long long)v.n : 0);
}

/* GETRANGE key start end: Redis's clamping of negative and out-of-range ends. */
void cmd_getrange(struct call *c)
{
	struct store_val v;
	long long start, end, len;
	int r;

	if (!arg_ll(&c->argv[2], &start) || !arg_ll(&c->argv[3], &end)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	r = lookup_typed(c, &c->argv[1], STORE_STRING, &v);
	if (r < 0)
		return;
	if (r == 0 || (start < 0 && end < 0 && start > end)) {
		rbuf_bulk(c->out, "", 0);
		return;
	}
	len = (long long)v.n;
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		rbuf_bulk(c->out, "", 0);
	else
		rbuf_bulk(c->out, v.p + start, (size_t)(end - start + 1));
}
