/*
 * users: the spot store's users (Redis 6 ACL names) and their keyspaces. User 0 is "default", the single consumer's
 * (its password is the store's, "" for none). Each tenant is a user with a password, a byte quota and a store of
 * its own, so no command of one tenant can reach another's keys: isolation by construction, not by filtering.
 *
 * Chunks: with no tenants every chunk goes to the default user's store, as before tenants existed. With tenants,
 * new chunks wait in a pool; a store that needs a chunk takes one from the pool, or, when the pool is empty and it
 * holds less than its share (the capacity split evenly between the users), takes the coldest chunk of the user
 * most above its share. A deflation takes the pool first, then from each user in proportion to what it holds above
 * its share of what will be left.
 *
 * Pure of I/O, single-threaded; nothing here logs.
 */
#ifndef USBD_SPOT_USERS_H
#define USBD_SPOT_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/config.h"
#include "spot/store.h"

#define SPOT_MAX_USERS (1u + SPOT_MAX_TENANTS)

struct spot_user {
	bool live;                      /* slot in use */
	char name[SPOT_NAME_MAX];
	char password[SPOT_PASSWORD_MAX]; /* default: "" for none */
	uint64_t quota;                 /* bytes; 0: none */
	struct store *store;
	uint64_t commands;              /* requests run as this user */
	uint64_t clients;               /* connections logged in as this user now */
	uint64_t hits, misses;          /* keys its read commands found and did not find */
};

struct spot_users {
	struct spot_user u[SPOT_MAX_USERS];
	uint32_t ntenants;              /* live users besides the default */
	void **pool;                    /* chunks no store holds yet (with tenants only) */
	size_t npool, pool_cap;
	size_t pool_odd;                /* of them, chunks of another size than the stores' (given back first) */
	uint64_t max_keys, seed;
	bool reclaimable;
	struct store_stats gone;        /* counters of deleted tenants, so that the totals never go back */
};

/* The default user (with cfg's password) and cfg's tenants. 0, -ENOMEM, or -EINVAL for a bad or repeated tenant. */
int users_init(struct spot_users *us, const struct spot_config *cfg, uint64_t seed);
/* Frees the stores and the pool's array (the chunks themselves are the caller's: take them back first). */
void users_fini(struct spot_users *us);

/* Adds a tenant: 0, -EEXIST (the name is taken), -ENOSPC (SPOT_MAX_TENANTS reached), -EINVAL, -ENOMEM. */
int users_add(struct spot_users *us, const struct spot_tenant_spec *t);
/* Adds a tenant, or changes the password and quota of the one of that name (its keys stay; a smaller quota refuses
 * writes until it holds less). 0 or users_add's errors. */
int users_set(struct spot_users *us, const struct spot_tenant_spec *t);
/* Removes a tenant: its keys are gone, its chunks go to the pool. 0 or -ENOENT (also for "default"). Its clients
 * must be logged out first (their store pointers die here). */
int users_del(struct spot_users *us, const char *name, size_t n);
/* The user of that name (any live one, "default" included): its index, or -1. */
int users_find(const struct spot_users *us, const char *name, size_t n);
/* Checks a password against user idx's in constant time (every byte of the longer is read): true when equal. The
 * default user without a password takes any. */
bool users_password_ok(const struct spot_users *us, int idx, const char *pass, size_t n);

/* A chunk from the worker: 0, or what store_chunk_add returned (-EINVAL: held unused, -ENOMEM: not kept). */
int users_chunk_add(struct spot_users *us, void *base, size_t size);
/* Gives back up to n chunks (see above); returns how many bases were stored in out. */
size_t users_chunks_take(struct spot_users *us, size_t n, void **out);
/* How many of n chunks each live user gives back, by the rule above (pool excluded): held[i] chunks held by user i,
 * take[i] set. Exposed for its tests. */
void users_apportion(const uint64_t *held, const bool *live, size_t nusers, uint64_t n, uint64_t *take);

/* The sum over every store (and the pool's capacity, and deleted tenants' counters). */
void users_totals(const struct spot_users *us, struct store_stats *out);

#endif
