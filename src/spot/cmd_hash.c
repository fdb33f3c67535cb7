/*
 * The hash commands. A hash is one store item (STORE_HASH) whose value is its fields in insertion order, each
 * "<u32 field length><field><u32 value length><value>" (native byte order): it lives in one chunk, so a deflation
 * or a dropped page takes the whole hash or none of it, and it is bounded by what one item holds. Every write
 * rebuilds the value on the heap and stores it whole (O(size of the hash), as Redis's small listpack hashes are);
 * the order of HGETALL is Redis's for listpack hashes (insertion order, a replaced value keeps its place).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "spot/cmd_int.h"

struct hash_it {
	const char *p, *end;
};

/* The next field and value; false at the end (or at a length that runs past it, which a stored hash never has). */
static bool hash_next(struct hash_it *it, struct cmd_arg *f, struct cmd_arg *v)
{
	uint32_t n;

	for (int i = 0; i < 2; i++) {
		struct cmd_arg *a = i ? v : f;

		if ((size_t)(it->end - it->p) < sizeof(n))
			return false;
		memcpy(&n, it->p, sizeof(n));
		it->p += sizeof(n);
		if ((size_t)(it->end - it->p) < n)
			return false;
		*a = (struct cmd_arg){ it->p, n };
		it->p += n;
	}
	return true;
}

static bool same(const struct cmd_arg *a, const struct cmd_arg *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* The hash under argv[1]: 1 found (*h set), 0 missing (*h empty), -1 another type (WRONGTYPE replied). */
static int load(struct call *c, struct hash_it *h)
{
	struct store_val v;
	int r = lookup_typed(c, &c->argv[1], STORE_HASH, &v);

	*h = r > 0 ? (struct hash_it){ v.p, v.p + v.n } : (struct hash_it){ NULL, NULL };
	return r;
}

/* A field's value: true and *v set, or false. */
static bool hash_find(struct hash_it h, const struct cmd_arg *field, struct cmd_arg *v)
{
	struct cmd_arg f;

	while (hash_next(&h, &f, v))
		if (same(&f, field))
			return true;
	return false;
}

/* A hash being rebuilt on the heap. */
struct hash_buf {
	char *p;
	size_t n, cap, max;
	int err;                /* -E2BIG past max (what one item holds), -ENOMEM out of memory; sticky */
};

static void put(struct hash_buf *b, const struct cmd_arg *a)
{
	uint32_t n = (uint32_t)a->n;
	size_t need = sizeof(n) + a->n;

	if (b->err)
		return;
	if (need > b->max - b->n) {
		b->err = -E2BIG;
		return;
	}
	if (b->n + need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->n + need)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, &n, sizeof(n));
	memcpy(b->p + b->n + sizeof(n), a->p, a->n);
	b->n += need;
}

static void put_pair(struct hash_buf *b, const struct cmd_arg *f, const struct cmd_arg *v)
{
	put(b, f);
	put(b, v);
}

/* Stores the rebuilt hash under argv[1], keeping its expiry (an empty one deletes the key, as Redis does); false
 * and the error replied when it cannot. Frees the buffer. */
static bool store_hash(struct call *c, struct hash_buf *b)
{
	int err = b->err;

	if (err == 0 && b->n == 0)
		store_del(call_store(c), c->argv[1].p, c->argv[1].n, c->now);
	else if (err == 0)
		err = store_set(call_store(c), c->argv[1].p, c->argv[1].n, b->p, b->n, 0,
				STORE_SET_HASH | STORE_SET_KEEPTTL, c->now);
	free(b->p);
	if (err < 0)
		store_error(c, err);
	return err == 0;
}

static struct hash_buf new_buf(struct call *c)
{
	return (struct hash_buf){ NULL, 0, 0, store_max_value(call_store(c), c->argv[1].n), 0 };
}

/*
 * A sorted view of many fields (the arguments of HSET, HDEL, HMGET, or a hash's own fields), so that matching m
 * fields against a hash of n costs O((n + m) log m) instead of O(n·m): a request of a million fields must not stall
 * the worker. Entries with equal bytes sit together, in their order of appearance; each group's first entry knows
 * where the group's last one came from.
 */
struct fidx {
	const char *p;
	size_t n;
	uint32_t pos;           /* index in the source list */
	uint32_t last;          /* at a group's first entry: pos of its last entry */
	bool seen;              /* at a group's first entry: met in the hash (HSET) */
};

static int fidx_cmp(const void *a, const void *b)
{
	const struct fidx *x = a, *y = b;
	int d = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	if (d)
		return d;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sorts count fields (src[0], src[stride], ...); NULL when out of memory (the error is then replied). */
static struct fidx *fidx_build(struct call *c, const struct cmd_arg *src, size_t count, size_t stride)
{
	struct fidx *ix = malloc((count ? count : 1) * sizeof(*ix));

	if (!ix) {
		store_error(c, -ENOMEM);
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		ix[i] = (struct fidx){ src[i * stride].p, src[i * stride].n, (uint32_t)i, (uint32_t)i, false };
	qsort(ix, count, sizeof(*ix), fidx_cmp);
	for (size_t i = 0, g = 0; i < count; i++) {
		if (i && (ix[i].n != ix[g].n || memcmp(ix[i].p, ix[g].p, ix[i].n) != 0))
			g = i;
		ix[g].last = ix[i].pos;
	}
	return ix;
}

/* The first entry of the group of a field, or NULL. */
static struct fidx *fidx_find(struct fidx *ix, size_t count, const struct cmd_arg *f)
{
	struct fidx key = { f->p, f->n, 0, 0, false };
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fidx_cmp(&ix[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && ix[lo].n == f->n && memcmp(ix[lo].p, f->p, f->n) == 0 ? &ix[lo] : NULL;
}

/*
 * HSET key field value [field value ...] (and HMSET): fields that exist keep their place with the new value; new
 * ones are added in the order they first appear, with the value they last have. Returns the fields added, or -1
 * (the error replied).
 */
static long long hset_generic(struct call *c)
{
	struct hash_it h, it;
	struct hash_buf b = new_buf(c);
	struct cmd_arg f, v;
	const struct cmd_arg *pairs = &c->argv[2];
	size_t m = (c->argc - 2) / 2;
	long long added = 0;
	struct fidx *ix;

	if (c->argc % 2 != 0) {
		wrong_args(c, c->cmd->name);
		return -1;
	}
	if (load(c, &h) < 0 || !(ix = fidx_build(c, pairs, m, 2)))
		return -1;
	for (it = h; hash_next(&it, &f, &v);) {
		struct fidx *g = fidx_find(ix, m, &f);

		if (g)
			g->seen = true;
		put_pair(&b, &f, g ? &pairs[2 * g->last + 1] : &v);
	}
	for (size_t i = 0; i < m; i++) {
		struct fidx *g = fidx_find(ix, m, &pairs[2 * i]);

		if (g->pos == i && !g->seen) {
			put_pair(&b, &pairs[2 * i], &pairs[2 * g->last + 1]);
			added++;
		}
	}
	free(ix);
	return store_hash(c, &b) ? added : -1;
}

void cmd_hset(struct call *c)
{
	long long added = hset_generic(c);

	if (added >= 0)
		rbuf_int(c->out, added);
}

void cmd_hmset(struct call *c)
{
	if (hset_generic(c) >= 0)
		rbuf_status(c->out, "OK");
}

void cmd_hsetnx(struct call *c)
{
	struct hash_it h, it;
	struct hash_buf b = new_buf(c);
	struct cmd_arg f, v;
	int r = load(c, &h);

	if (r < 0)
		return;
	if (hash_find(h, &c->argv[2], &v)) {
		rbuf_int(c->out, 0);
		return;
	}
	for (it = h; hash_next(&it, &f, &v);)
		put_pair(&b, &f, &v);
	put_pair(&b, &c->argv[2], &c->argv[3]);
	if (store_hash(c, &b))
		rbuf_int(c->out, 1);
}

void cmd_hget(struct call *c)
{
	struct hash_it h;
	struct cmd_arg v;
	int r = load(c, &h);

	if (r > 0 && hash_find(h, &c->argv[2], &v))
		rbuf_bulk(c->out, v.p, v.n);
	else if (r >= 0)
		rbuf_nil(c->out);
}

/* HMGET: the hash's fields are indexed (a field may come twice in a hash only if it was stored so, never here),
 * so that many fields asked cost O((n + m) log n). */
void cmd_hmget(struct call *c)
{
	struct hash_it h, it;
	struct cmd_arg *fields, f, v;
	struct fidx *ix = NULL;
	size_t n = 0;

	if (load(c, &h) < 0)
		return;
	for (it = h; hash_next(&it, &f, &v);)
		n++;
	/* Fields and values alternate, as HSET's arguments do. */
	fields = malloc((n ? 2 * n : 1) * sizeof(*fields));
	if (fields) {
		n = 0;
		for (it = h; hash_next(&it, &fields[2 * n], &fields[2 * n + 1]);)
			n++;
		ix = fidx_build(c, fields, n, 2);
	} else {
		store_error(c, -ENOMEM);
	}
	if (ix) {
		rbuf_array(c->out, (long long)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			struct fidx *g = fidx_find(ix, n, &c->argv[i]);

			if (g)
				rbuf_bulk(c->out, fields[2 * g->pos + 1].p, fields[2 * g->pos + 1].n);
			else
				rbuf_nil(c->out);
		}
	}
	free(ix);
	free(fields);
}

static long long hash_len(struct hash_it h)
{
	struct cmd_arg f, v;
	long long n = 0;

	while (hash_next(&h, &f, &v))
		n++;
	return n;
}

/* HGETALL (fields and values), HKEYS, HVALS; with a pattern (HSCAN's MATCH), only the fields it matches. */
static void reply_fields(struct call *c, struct hash_it h, bool fields, bool values, const struct cmd_arg *pattern)
{
	struct hash_it it;
	struct cmd_arg f, v;
	long long n = 0;

	for (it = h; hash_next(&it, &f, &v);)
		n += !pattern || glob_match(pattern->p, pattern->n, f.p, f.n, false);
	rbuf_array(c->out, n * (fields + values));
	for (it = h; hash_next(&it, &f, &v);) {
		if (pattern && !glob_match(pattern->p, pattern->n, f.p, f.n, false))
			continue;
		if (fields)
			rbuf_bulk(c->out, f.p, f.n);
		if (values)
			rbuf_bulk(c->out, v.p, v.n);
	}
}

static void fields_generic(struct call *c, bool fields, bool values)
{
	struct hash_it h;

	if (load(c, &h) >= 0)
		reply_fields(c, h, fields, values, NULL);
}

void cmd_hgetall(struct call *c) { fields_generic(c, true, true); }
void cmd_hkeys(struct call *c) { fields_generic(c, true, false); }
void cmd_hvals(struct call *c) { fields_generic(c, false, true); }

void cmd_hlen(struct call *c)
{
	struct hash_it h;

	if (load(c, &h) >= 0)
		rbuf_int(c->out, hash_len(h));
}

void cmd_hexists(struct call *c)
{
	struct hash_it h;
	struct cmd_arg v;

	if (load(c, &h) >= 0)
		rbuf_int(c->out, hash_find(h, &c->argv[2], &v));
}

void cmd_hstrlen(struct call *c)
{
	struct hash_it h;
	struct cmd_arg v;

	if (load(c, &h) >= 0)
		rbuf_int(c->out, hash_find(h, &c->argv[2], &v) ? (long long)v.n : 0);
}

void cmd_hdel(struct call *c)
{
	struct hash_it h, it;
	struct hash_buf b = new_buf(c);
	struct cmd_arg f, v;
	size_t m = c->argc - 2;
	long long removed = 0;
	struct fidx *ix;
	int r = load(c, &h);

	if (r == 0)
		rbuf_int(c->out, 0);
	if (r <= 0 || !(ix = fidx_build(c, &c->argv[2], m, 1)))
		return;
	for (it = h; hash_next(&it, &f, &v);) {
		if (fidx_find(ix, m, &f))
			removed++;
		else
			put_pair(&b, &f, &v);
	}
	free(ix);
	if (!removed) {
		free(b.p);
		rbuf_int(c->out, 0);
		return;
	}
	if (store_hash(c, &b))
		rbuf_int(c->out, removed);
}

/* Replaces (or adds) one field's value and stores the hash; false and the error replied when it cannot. */
static bool hash_put(struct call *c, struct hash_it h, const struct cmd_arg *field, const struct cmd_arg *val)
{
	struct hash_buf b = new_buf(c);
	struct cmd_arg f, v;
	bool found = false;

	while (hash_next(&h, &f, &v)) {
		found |= same(&f, field);
		put_pair(&b, &f, same(&f, field) ? val : &v);
	}
	if (!found)
		put_pair(&b, field, val);
	return store_hash(c, &b);
}

void cmd_hincrby(struct call *c)
{
	struct hash_it h;
	struct cmd_arg v;
	long long by, cur = 0;
	char num[32];

	if (!arg_ll(&c->argv[3], &by)) {
		rbuf_error(c->out, ERR_INT);
		return;
	}
	if (load(c, &h) < 0)
		return;
	if (hash_find(h, &c->argv[2], &v) && !resp_parse_ll(v.p, v.n, &cur)) {
		rbuf_error(c->out, "ERR hash value is not an integer");
		return;
	}
	if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) || (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
		rbuf_error(c->out, "ERR increment or decrement would overflow");
		return;
	}
	cur += by;
	v = (struct cmd_arg){ num, (size_t)snprintf(num, sizeof(num), "%lld", cur) };
	if (hash_put(c, h, &c->argv[2], &v))
		rbuf_int(c->out, cur);
}

void cmd_hincrbyfloat(struct call *c)
{
	struct hash_it h;
	struct cmd_arg v;
	long double by, cur = 0;
	char num[LD_MAX_CHARS];
	int n;

	if (!parse_ld(c->argv[3].p, c->argv[3].n, &by)) {
		rbuf_error(c->out, ERR_FLOAT);
		return;
	}
	if (isinf(by)) {
		rbuf_error(c->out, "ERR value is NaN or Infinity");
		return;
	}
	if (load(c, &h) < 0)
		return;
	if (hash_find(h, &c->argv[2], &v) && !parse_ld(v.p, v.n, &cur)) {
		rbuf_error(c->out, "ERR hash value is not a float");
		return;
	}
	if ((n = float_add(c, cur, by, num)) < 0)
		return;
	v = (struct cmd_arg){ num, (size_t)n };
	if (hash_put(c, h, &c->argv[2], &v))
		rbuf_bulk(c->out, num, (size_t)n);
}

/* HSCAN key cursor [MATCH pattern] [COUNT n]: the whole hash in one reply and cursor 0, as Redis answers for a
 * listpack hash (a spot hash is one item, never larger than a chunk). */
void cmd_hscan(struct call *c)
{
	const struct cmd_arg *pattern = NULL;
	struct hash_it h;
	uint64_t cursor;
	long long count;

	if (!parse_cursor(c, &c->argv[2], &cursor))
		return;
	for (size_t i = 3; i < c->argc; i += 2) {
		if (i + 1 == c->argc) {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		} else if (arg_is(&c->argv[i], "COUNT")) {
			if (!arg_ll(&c->argv[i + 1], &count)) {
				rbuf_error(c->out, ERR_INT);
				return;
			}
			if (count < 1) {
				rbuf_error(c->out, ERR_SYNTAX);
				return;
			}
		} else if (arg_is(&c->argv[i], "MATCH")) {
			pattern = &c->argv[i + 1];
		} else {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		}
	}
	if (load(c, &h) < 0)
		return;
	rbuf_array(c->out, 2);
	rbuf_bulk_str(c->out, "0");
	reply_fields(c, h, true, true, pattern);
}

const char *hash_encoding(const struct cmd_env *e, const struct store_val *v)
{
	uint64_t max_entries = e->hash_limits_set ? e->hash_max_entries : LISTPACK_MAX_ENTRIES;
	uint64_t max_value = e->hash_limits_set ? e->hash_max_value : LISTPACK_MAX_VALUE;
	struct hash_it h = { v->p, v->p + v->n };
	struct cmd_arg f, val;
	long long n = 0;

	while (hash_next(&h, &f, &val))
		if ((uint64_t)++n > max_entries || f.n > max_value || val.n > max_value)
			return "hashtable";
	return "listpack";
}
