#include "spot/users.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int refill(void *arg, struct store *s);

static struct store *new_store(struct spot_users *us)
{
	/* Each store its own hash seed: one tenant's key timings say nothing of another's chains. */
	struct store *s = store_new(us->max_keys, 0, us->seed ^ (us->seed >> 7) * 0x9e3779b97f4a7c15ull);

	us->seed = us->seed * 6364136223846793005ull + 1442695040888963407ull;
	if (!s)
		return NULL;
	store_set_reclaimable(s, us->reclaimable);
	store_set_refill(s, refill, us);
	return s;
}

int users_init(struct spot_users *us, const struct spot_config *cfg, uint64_t seed)
{
	struct spot_user *d = &us->u[0];

	memset(us, 0, sizeof(*us));
	us->max_keys = cfg->max_keys;
	us->seed = seed;
	us->reclaimable = cfg->reclaimable;
	d->store = new_store(us);
	if (!d->store)
		return -ENOMEM;
	d->live = true;
	memcpy(d->name, "default", sizeof("default"));
	memcpy(d->password, cfg->password, sizeof(d->password));
	d->password[sizeof(d->password) - 1] = '\0';
	for (uint32_t i = 0; i < cfg->ntenants; i++) {
		int err = users_add(us, &cfg->tenants[i]);

		if (err < 0) {
			users_fini(us);
			return err == -EEXIST ? -EINVAL : err;
		}
	}
	return 0;
}

void users_fini(struct spot_users *us)
{
	for (size_t i = 0; i < SPOT_MAX_USERS; i++)
		store_free(us->u[i].store);
	free(us->pool);
	explicit_bzero(us, sizeof(*us));
}

int users_find(const struct spot_users *us, const char *name, size_t n)
{
	for (size_t i = 0; i < SPOT_MAX_USERS; i++)
		if (us->u[i].live && strlen(us->u[i].name) == n && memcmp(us->u[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

int users_add(struct spot_users *us, const struct spot_tenant_spec *t)
{
	char why[128];
	struct spot_user *u = NULL;

	if (spot_tenant_check(t, why, sizeof(why)) < 0)
		return -EINVAL;
	if (users_find(us, t->name, strlen(t->name)) >= 0)
		return -EEXIST;
	for (size_t i = 1; i < SPOT_MAX_USERS && !u; i++)
		if (!us->u[i].live)
			u = &us->u[i];
	if (!u)
		return -ENOSPC;
	memset(u, 0, sizeof(*u));
	u->store = new_store(us);
	if (!u->store)
		return -ENOMEM;
	store_set_limit(u->store, t->quota);
	memcpy(u->name, t->name, sizeof(u->name));
	memcpy(u->password, t->password, sizeof(u->password));
	u->quota = t->quota;
	u->live = true;
	us->ntenants++;
	return 0;
}

int users_set(struct spot_users *us, const struct spot_tenant_spec *t)
{
	char why[128];
	int idx = users_find(us, t->name, strlen(t->name));
	struct spot_user *u;

	if (idx < 0)
		return users_add(us, t);
	if (spot_tenant_check(t, why, sizeof(why)) < 0 || idx == 0)
		return -EINVAL;
	u = &us->u[idx];
	memcpy(u->password, t->password, sizeof(u->password));
	u->quota = t->quota;
	store_set_limit(u->store, t->quota);
	return 0;
}

static int pool_push(struct spot_users *us, void *base)
{
	if (us->npool == us->pool_cap) {
		size_t cap = us->pool_cap ? us->pool_cap * 2 : 64;
		void **p = realloc(us->pool, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		us->pool = p;
		us->pool_cap = cap;
	}
	us->pool[us->npool++] = base;
	return 0;
}

static void add_stats(struct store_stats *sum, const struct store_stats *st)
{
	sum->capacity += st->capacity;
	sum->used += st->used;
	sum->keys += st->keys;
	/* expire_avg is a mean: summed weighted here, divided by the caller. */
	sum->expire_avg += st->expire_avg * st->expires;
	sum->expires += st->expires;
	sum->evictions += st->evictions;
	sum->losses += st->losses;
	sum->loss_bytes += st->loss_bytes;
	sum->expired += st->expired;
	sum->dropped += st->dropped;
	sum->dropped_bytes += st->dropped_bytes;
	sum->refreed += st->refreed;
	sum->chunks += st->chunks;
	sum->chunks_free += st->chunks_free;
	sum->index_entries += st->index_entries;
	sum->index_bytes += st->index_bytes;
	sum->refused += st->refused;
}

int users_del(struct spot_users *us, const char *name, size_t n)
{
	int idx = users_find(us, name, n);
	struct spot_user *u;
	struct store_stats st;
	void *base;

	if (idx <= 0)
		return -ENOENT;
	u = &us->u[idx];
	/* Its chunks go to the pool (or, with no memory to grow the pool, to the default user). */
	while (store_chunks_take(u->store, 1, &base) == 1)
		if (pool_push(us, base) < 0 && store_chunk_add(us->u[0].store, base, STORE_CHUNK_SIZE) < 0)
			break;
	store_get_stats(u->store, &st);
	st.capacity = st.used = st.keys = st.expires = st.expire_avg = st.chunks = st.chunks_free = 0;
	st.index_entries = st.index_bytes = 0;
	add_stats(&us->gone, &st);
	store_free(u->store);
	explicit_bzero(u, sizeof(*u));
	us->ntenants--;
	return 0;
}

bool users_password_ok(const struct spot_users *us, int idx, const char *pass, size_t n)
{
	const char *pw = us->u[idx].password;
	size_t len = strlen(pw);
	unsigned char diff = len != n;

	if (idx == 0 && !pw[0])
		return true;
	/* Every byte of the longer of the two is read whatever the first difference: the time says nothing of a
	 * prefix. */
	for (size_t i = 0; i < (n > len ? n : len); i++)
		diff |= (unsigned char)((i < n ? pass[i] : 0) ^ (i < len ? pw[i] : 0));
	return diff == 0;
}

void users_apportion(const uint64_t *held, const bool *live, size_t nusers, uint64_t n, uint64_t *take)
{
	uint64_t total = 0, nlive = 0, share, sum = 0, given = 0;
	uint64_t excess[SPOT_MAX_USERS];

	for (size_t i = 0; i < nusers; i++) {
		take[i] = 0;
		if (live[i]) {
			total += held[i];
			nlive++;
		}
	}
	if (!nlive || !n)
		return;
	if (n > total)
		n = total;
	share = (total - n) / nlive;
	for (size_t i = 0; i < nusers; i++) {
		excess[i] = live[i] && held[i] > share ? held[i] - share : 0;
		sum += excess[i];
	}
	/* sum >= n: the shares add up to at most what is left. */
	for (size_t i = 0; i < nusers; i++) {
		take[i] = (uint64_t)((unsigned __int128)n * excess[i] / sum);
		given += take[i];
	}
	/* What the rounding down left (less than one per user): to those with the most excess still untaken. */
	while (given < n) {
		size_t best = nusers;

		for (size_t i = 0; i < nusers; i++)
			if (take[i] < excess[i] && (best == nusers || excess[i] - take[i] > excess[best] - take[best]))
				best = i;
		if (best == nusers)
			break;
		take[best]++;
		given++;
	}
}

static void held_chunks(const struct spot_users *us, uint64_t *held, bool *live)
{
	struct store_stats st;

	for (size_t i = 0; i < SPOT_MAX_USERS; i++) {
		held[i] = 0;
		live[i] = us->u[i].live;
		if (live[i]) {
			store_get_stats(us->u[i].store, &st);
			held[i] = st.chunks;
		}
	}
}

/* store_refill_fn: a pool chunk, or, for a store under its share, the coldest chunk of the one most above it. */
static int refill(void *arg, struct store *s)
{
	struct spot_users *us = arg;
	uint64_t held[SPOT_MAX_USERS], total = 0, nlive = 0, share;
	bool live[SPOT_MAX_USERS];
	size_t me = SPOT_MAX_USERS, victim = SPOT_MAX_USERS;
	void *base;

	if (us->npool) {
		base = us->pool[--us->npool];
		if (store_chunk_add(s, base, STORE_CHUNK_SIZE) == 0)
			return 0;
		us->npool++;
		return -ENOMEM;
	}
	if (!us->ntenants)
		return -ENOMEM;
	held_chunks(us, held, live);
	for (size_t i = 0; i < SPOT_MAX_USERS; i++) {
		if (!live[i])
			continue;
		total += held[i];
		nlive++;
		if (us->u[i].store == s)
			me = i;
	}
	share = total / nlive;
	if (me == SPOT_MAX_USERS || held[me] >= share)
		return -ENOMEM;
	for (size_t i = 0; i < SPOT_MAX_USERS; i++)
		if (live[i] && i != me && held[i] > share &&
		    (victim == SPOT_MAX_USERS || held[i] - share > held[victim] - share))
			victim = i;
	if (victim == SPOT_MAX_USERS || store_chunks_take(us->u[victim].store, 1, &base) != 1)
		return -ENOMEM;
	if (store_chunk_add(s, base, STORE_CHUNK_SIZE) == 0)
		return 0;
	/* No memory to track it here: back where it came from, empty. */
	store_chunk_add(us->u[victim].store, base, STORE_CHUNK_SIZE);
	return -ENOMEM;
}

int users_chunk_add(struct spot_users *us, void *base, size_t size)
{
	if (!us->ntenants || size != STORE_CHUNK_SIZE)
		return store_chunk_add(us->u[0].store, base, size);
	return pool_push(us, base);
}

size_t users_chunks_take(struct spot_users *us, size_t n, void **out)
{
	uint64_t held[SPOT_MAX_USERS], take[SPOT_MAX_USERS];
	bool live[SPOT_MAX_USERS];
	size_t k = 0;

	while (k < n && us->npool)
		out[k++] = us->pool[--us->npool];
	if (k == n)
		return k;
	if (!us->ntenants)
		return k + store_chunks_take(us->u[0].store, n - k, out + k);
	held_chunks(us, held, live);
	users_apportion(held, live, SPOT_MAX_USERS, n - k, take);
	for (size_t i = 0; i < SPOT_MAX_USERS; i++)
		if (take[i])
			k += store_chunks_take(us->u[i].store, take[i], out + k);
	/* Odd-sized chunks count as held but may make a store give fewer: the rest from anyone. */
	for (size_t i = 0; i < SPOT_MAX_USERS && k < n; i++)
		if (live[i])
			k += store_chunks_take(us->u[i].store, n - k, out + k);
	return k;
}

void users_totals(const struct spot_users *us, struct store_stats *out)
{
	struct store_stats st;

	*out = us->gone;
	for (size_t i = 0; i < SPOT_MAX_USERS; i++) {
		if (!us->u[i].live)
			continue;
		store_get_stats(us->u[i].store, &st);
		add_stats(out, &st);
	}
	out->expire_avg = out->expires ? out->expire_avg / out->expires : 0;
	out->capacity += (uint64_t)us->npool * STORE_CHUNK_SIZE;
	out->chunks += us->npool;
	out->chunks_free += us->npool;
}
