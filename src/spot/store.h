/*
 * store: the spot key-value store. Values live inside the balloon's chunks; the index (a hash table on the
 * heap, bounded by max_keys, its bytes counted) maps a key to (chunk slot, chunk generation, item slot,
 * lengths, expiry, LRU time).
 *
 * Each chunk, when first used, is given to one size class and cut into equal item slots; an item holds a small
 * header, the key and the value, so a lookup verifies the key in the chunk itself. Taking a chunk away bumps
 * its generation: every index entry that points to it becomes a miss at once, at a cost of O(1) per chunk;
 * the stale entries are reaped when a lookup meets them or by store_sweep(). A lookup checks the generation
 * before it touches chunk memory, so a released (unmapped) chunk is never read.
 *
 * Reclaimable mode (store_set_reclaimable): the chunks are lazily freed (MADV_FREE), so the kernel may drop any
 * page of them at any moment, and a dropped page reads back as zeros. Slot headers carry a mark that a zeroed page
 * cannot fake; every index entry carries a check of its value, and store_get copies the value out first and checks
 * the copy after. A chunk in which a dropped page is found is lost whole (its generation moves on, O(1), its items
 * count as `dropped`) and reused. Written chunks are remembered and handed back whole with store_refree().
 *
 * Promise: a read returns the latest value written for the key, or a miss. Never a stale, partial, zeroed or
 * foreign value. A full store evicts approximately-LRU (sampled) items.
 *
 * Time is the caller's monotonic milliseconds (clock_ms()), passed in so tests control it.
 * Single-threaded; nothing here logs or blocks.
 */
#ifndef USBD_SPOT_STORE_H
#define USBD_SPOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_CHUNK_SIZE (2u * 1024 * 1024)
#define STORE_ITEM_HDR 16u
#define STORE_MAX_KEY (64u * 1024)
#define STORE_DEFAULT_MAX_KEYS (4u * 1024 * 1024)

struct store;

struct store_stats {
	uint64_t capacity;      /* bytes of all chunks held (the current grab as the store sees it) */
	uint64_t used;          /* bytes of item slots in use */
	uint64_t keys;          /* live keys (keys whose expiry passed count until they are reaped) */
	uint64_t expires;       /* live keys with an expiry */
	uint64_t expire_avg;    /* their mean expiry time (ms, to the second; 0: none), for INFO's avg_ttl */
	uint64_t evictions;     /* keys evicted to make room */
	uint64_t losses;        /* keys lost because their chunk was taken back (deflation) */
	uint64_t loss_bytes;    /* the slot bytes (item header, key, value, rounding) of those keys */
	uint64_t expired;       /* keys removed because their time ran out */
	uint64_t dropped;       /* reclaimable mode: keys lost because the kernel dropped pages of their chunk */
	uint64_t dropped_bytes; /* the slot bytes of those keys */
	uint64_t refreed;       /* reclaimable mode: bytes of written chunks handed back with store_refree() */
	uint64_t chunks, chunks_free;
	uint64_t index_entries; /* entries in the index, stale ones included */
	uint64_t index_bytes;   /* heap bytes of the index (buckets + entries) */
	uint64_t refused;       /* writes refused because they would pass the limit (store_set_limit) */
};

enum store_set_flags {
	STORE_SET_NX = 1,       /* only if the key does not exist */
	STORE_SET_XX = 2,       /* only if the key exists */
	STORE_SET_KEEPTTL = 4,  /* keep the existing expiry (ignores expire_at) */
	STORE_SET_HASH = 8,     /* the value is a hash (its encoding is the caller's), not a string */
};

/* What a value is. A hash is one item like a string: a deflation takes it whole or not at all. */
enum store_type { STORE_STRING = 0, STORE_HASH = 1 };

/* A value read from the store: points into a chunk (reclaimable mode: into the store's own copy), valid until the
 * next call to the store. */
struct store_val {
	const char *p;
	size_t n;
	int type;               /* enum store_type */
};

/* max_keys bounds the index (0: STORE_DEFAULT_MAX_KEYS); chunk_size is what chunks must measure (0: 2 MiB).
 * Returns NULL when out of memory. */
struct store *store_new(uint64_t max_keys, size_t chunk_size, uint64_t seed);
/* Frees the store's heap; the chunks are the caller's (take them back first). */
void store_free(struct store *s);
/* Reclaimable mode on or off; set it before the first chunk is added. */
void store_set_reclaimable(struct store *s, bool on);

/* Adds a chunk (zeroed, aligned). Returns 0, -ENOMEM (the chunk is not kept), or -EINVAL when its size is not
 * the store's chunk size: then it is held unused and returned first by store_chunks_take. */
int store_chunk_add(struct store *s, void *base, size_t size);
/* Gives back up to n chunks, emptiest then coldest first; their keys become misses at once. Costs
 * O(n + chunks held), never O(keys). Returns how many bases were stored in out. */
size_t store_chunks_take(struct store *s, size_t n, void **out);

/* The largest value storable under a key of klen bytes (0 when klen is over STORE_MAX_KEY). */
size_t store_max_value(const struct store *s, size_t klen);

/* A key for store_prefetch. */
struct store_key {
	const void *p;
	size_t n;
};
#define STORE_PREFETCH_MAX 64

/*
 * A hint that these keys (up to STORE_PREFETCH_MAX) are about to be looked up: starts loading their index buckets,
 * entries and item headers in three passes over the batch, so that the cache misses of many lookups overlap instead
 * of adding up (a lookup is a chain of dependent loads: bucket, entry, item). Changes nothing and returns nothing;
 * chunk memory is only prefetched for entries whose generation is the chunk's (and a prefetch never faults).
 */
void store_prefetch(const struct store *s, const struct store_key *keys, size_t n);

/* 0 and *v set, or -ENOENT. Refreshes the key's LRU time. */
int store_get(struct store *s, const void *key, size_t klen, uint64_t now, struct store_val *v);
/* Stores a value; expire_at is an absolute time in ms, 0 for none. Returns 0; -EEXIST (NX and the key exists),
 * -ENOENT (XX and it does not); -E2BIG (key + value larger than a chunk can hold); -ENOMEM (no chunk to hold
 * it and nothing to evict, or the index is full). On an error the old value, if any, is untouched. */
int store_set(struct store *s, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expire_at,
	      int flags, uint64_t now);
/* 0 or -ENOENT. */
int store_del(struct store *s, const void *key, size_t klen, uint64_t now);
/* Sets (expire_at > 0) or removes (0) a key's expiry; an expire_at <= now deletes the key. 0 or -ENOENT. */
int store_expire(struct store *s, const void *key, size_t klen, uint64_t expire_at, uint64_t now);
/* The key's absolute expiry in *expire_at (0: none). 0 or -ENOENT. */
int store_expiry(struct store *s, const void *key, size_t klen, uint64_t now, uint64_t *expire_at);
/* A key met by a walk: points into a chunk, valid until the next call that changes the store. */
typedef void (*store_key_fn)(void *arg, const char *key, size_t klen, int type);
/*
 * Walks up to `buckets` (at least one) index buckets from `cursor` (0: the start), calling fn for each live,
 * unexpired key; returns the next cursor, 0 when the walk is complete. Changes nothing, so two walks from the same
 * cursor meet the same keys. Redis's SCAN guarantee: a key present for the whole walk is met at least once.
 */
uint64_t store_scan(const struct store *s, uint64_t cursor, size_t buckets, uint64_t now, store_key_fn fn,
		    void *arg);
/* Calls fn for one live key picked at random (seeded by rnd_seed): 0, or -ENOENT when there is none. */
int store_random_key(const struct store *s, uint64_t now, uint64_t rnd_seed, store_key_fn fn, void *arg);
/* The bytes a key takes: its item slot and its index entry (MEMORY USAGE). 0 or -ENOENT. */
int store_usage(struct store *s, const void *key, size_t klen, uint64_t now, uint64_t *bytes);
/* Removes every key; chunks stay held. */
void store_flush(struct store *s);
/* Background work: reaps up to `budget` index buckets' stale and expired entries, resuming where the last
 * call stopped. Returns the number of entries reaped. */
size_t store_sweep(struct store *s, uint64_t now, size_t budget);

/* Hands written chunks (a base and a length: one chunk, or address-contiguous ones) back to the kernel; 0 or -errno. */
typedef int (*store_refree_fn)(void *base, size_t len, void *arg);
/* Reclaimable mode: calls fn for the chunks written since the last call (contiguous ones together), then forgets
 * them (a failed fn is the caller's to report). Returns the bytes fn accepted. Costs O(chunks) when anything was
 * written. */
uint64_t store_refree(struct store *s, store_refree_fn fn, void *arg);

void store_get_stats(const struct store *s, struct store_stats *out);
/* A count that moves on every successful set, delete, expiry change and flush (not on evictions, expiries or
 * deflation losses): whether a command changed anything. */
uint64_t store_writes(const struct store *s);

/* At most `bytes` of item slots (0: no limit, the default): a write that needs a new slot past it fails with
 * -ENOMEM and evicts nothing (a tenant's quota). A replaced value's old slot counts until the new one is written. */
void store_set_limit(struct store *s, uint64_t bytes);
/* Called when a write needs a chunk and the store has none free, before anything is evicted (at most once per
 * write): it may add one with store_chunk_add(s, ...) and return 0, or return -ENOMEM (then the store evicts). It may
 * take chunks from another store, never from s. */
typedef int (*store_refill_fn)(void *arg, struct store *s);
void store_set_refill(struct store *s, store_refill_fn fn, void *arg);

#endif
