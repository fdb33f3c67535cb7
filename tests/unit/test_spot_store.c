#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "spot/store.h"

#define CHUNK STORE_CHUNK_SIZE
#define MAX_CHUNKS 16

/* Chunks are mapped and, once taken, unmapped: a store that read a taken chunk would crash the test. */
static void *map_chunk(void)
{
	void *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static struct store *store_with(size_t chunks, uint64_t max_keys)
{
	struct store *s = store_new(max_keys, 0, 42);

	assert_non_null(s);
	for (size_t i = 0; i < chunks; i++)
		assert_int_equal(store_chunk_add(s, map_chunk(), CHUNK), 0);
	return s;
}

static size_t take_and_unmap(struct store *s, size_t n)
{
	void *out[64];
	size_t got;

	assert_true(n <= 64);
	got = store_chunks_take(s, n, out);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(munmap(out[i], CHUNK), 0);
	return got;
}

static void store_done(struct store *s)
{
	take_and_unmap(s, 64);
	store_free(s);
}

static void key_of(char *buf, size_t len, int i) { snprintf(buf, len, "key:%d", i); }

/* A value that names its key and version, so any foreign or stale value is recognised. */
static size_t value_of(char *buf, size_t cap, int key, int version, size_t len)
{
	int n = snprintf(buf, cap, "%d/%d/", key, version);

	for (size_t i = (size_t)n; i < len && i < cap; i++)
		buf[i] = (char)('a' + (key * 31 + version * 7 + (int)i) % 26);
	return len > (size_t)n ? len : (size_t)n;
}

static void assert_get(struct store *s, const char *key, const char *want, size_t n)
{
	struct store_val v;

	assert_int_equal(store_get(s, key, strlen(key), 1, &v), 0);
	assert_int_equal(v.n, n);
	assert_memory_equal(v.p, want, n);
}

static void set_then_get_should_return_the_value(void **state)
{
	struct store *s = store_with(2, 0);
	struct store_val v;

	assert_int_equal(store_set(s, "a", 1, "hello", 5, 0, 0, 1), 0);
	assert_get(s, "a", "hello", 5);
	assert_int_equal(store_get(s, "b", 1, 1, &v), -ENOENT);
	assert_int_equal(store_set(s, "", 0, "", 0, 0, 0, 1), 0);
	assert_int_equal(store_get(s, "", 0, 1, &v), 0);
	assert_int_equal(v.n, 0);
	store_done(s);
}

static void set_should_replace_the_value_across_size_classes(void **state)
{
	struct store *s = store_with(4, 0);
	static char big[100000];
	struct store_stats st;

	memset(big, 'B', sizeof(big));
	assert_int_equal(store_set(s, "k", 1, "small", 5, 0, 0, 1), 0);
	assert_int_equal(store_set(s, "k", 1, big, sizeof(big), 0, 0, 1), 0);
	assert_get(s, "k", big, sizeof(big));
	assert_int_equal(store_set(s, "k", 1, "tiny", 4, 0, 0, 1), 0);
	assert_get(s, "k", "tiny", 4);
	assert_int_equal(store_set(s, "k", 1, "tin2", 4, 0, 0, 1), 0);
	assert_get(s, "k", "tin2", 4);
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 1);
	assert_int_equal(st.index_entries, 1);
	/* The chunk that held the big value is empty again and back in the free pool. */
	assert_int_equal(st.chunks_free, 3);
	store_done(s);
}

static void set_should_honour_nx_and_xx(void **state)
{
	struct store *s = store_with(1, 0);

	assert_int_equal(store_set(s, "k", 1, "1", 1, 0, STORE_SET_XX, 1), -ENOENT);
	assert_int_equal(store_set(s, "k", 1, "1", 1, 0, STORE_SET_NX, 1), 0);
	assert_int_equal(store_set(s, "k", 1, "2", 1, 0, STORE_SET_NX, 1), -EEXIST);
	assert_get(s, "k", "1", 1);
	assert_int_equal(store_set(s, "k", 1, "3", 1, 0, STORE_SET_XX, 1), 0);
	assert_get(s, "k", "3", 1);
	store_done(s);
}

static void del_should_make_the_key_miss(void **state)
{
	struct store *s = store_with(1, 0);
	struct store_val v;
	struct store_stats st;

	assert_int_equal(store_set(s, "k", 1, "v", 1, 0, 0, 1), 0);
	assert_int_equal(store_del(s, "k", 1, 1), 0);
	assert_int_equal(store_del(s, "k", 1, 1), -ENOENT);
	assert_int_equal(store_get(s, "k", 1, 1, &v), -ENOENT);
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.index_entries, 0);
	store_done(s);
}

static void expiry_should_make_keys_miss_once_their_time_passed(void **state)
{
	struct store *s = store_with(1, 0);
	struct store_val v;
	struct store_stats st;
	uint64_t at;

	assert_int_equal(store_set(s, "k", 1, "v", 1, 1000, 0, 10), 0);
	assert_int_equal(store_expiry(s, "k", 1, 10, &at), 0);
	assert_int_equal(at, 1000);
	assert_int_equal(store_get(s, "k", 1, 999, &v), 0);
	assert_int_equal(store_get(s, "k", 1, 1000, &v), -ENOENT);
	/* KEEPTTL keeps it, a plain SET drops it, store_expire sets and clears it. */
	assert_int_equal(store_set(s, "j", 1, "v", 1, 500, 0, 10), 0);
	assert_int_equal(store_set(s, "j", 1, "w", 1, 0, STORE_SET_KEEPTTL, 10), 0);
	assert_int_equal(store_expiry(s, "j", 1, 10, &at), 0);
	assert_int_equal(at, 500);
	assert_int_equal(store_set(s, "j", 1, "x", 1, 0, 0, 10), 0);
	assert_int_equal(store_expiry(s, "j", 1, 10, &at), 0);
	assert_int_equal(at, 0);
	assert_int_equal(store_expire(s, "j", 1, 20, 10), 0);
	assert_int_equal(store_expire(s, "j", 1, 10, 10), 0);
	assert_int_equal(store_get(s, "j", 1, 10, &v), -ENOENT);
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.expires, 0);
	assert_int_equal(st.expired, 1);
	store_done(s);
}

static void sweep_should_reap_expired_keys_nobody_reads(void **state)
{
	struct store *s = store_with(1, 0);
	struct store_stats st;
	char key[32];

	for (int i = 0; i < 100; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(store_set(s, key, strlen(key), "v", 1, i % 2 ? 50 : 0, 0, 1), 0);
	}
	store_sweep(s, 100, 1 << 20);
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 50);
	assert_int_equal(st.expired, 50);
	assert_int_equal(st.expires, 0);
	assert_int_equal(st.index_entries, 50);
	store_done(s);
}

static void full_store_should_evict_least_recently_used_keys(void **state)
{
	struct store *s = store_with(1, 0);
	struct store_stats st;
	struct store_val v;
	char key[32], val[1000];
	int hot_hits = 0;
	const int n = 6000; /* about three chunks' worth of 1000-byte items in one chunk */

	for (int i = 0; i < n; i++) {
		size_t len = value_of(val, sizeof(val), i, 0, sizeof(val) - 40);

		key_of(key, sizeof(key), i);
		assert_int_equal(store_set(s, key, strlen(key), val, len, 0, 0, (uint64_t)i + 10), 0);
		/* Keys 0-9 are read all the time: they are the hot set. */
		key_of(key, sizeof(key), i % 10);
		store_get(s, key, strlen(key), (uint64_t)i + 10, &v);
	}
	store_get_stats(s, &st);
	assert_true(st.evictions > 0);
	assert_true(st.used <= CHUNK);
	assert_int_equal(st.keys + st.evictions, n);
	for (int i = 0; i < n; i++) {
		size_t len = value_of(val, sizeof(val), i, 0, sizeof(val) - 40);

		key_of(key, sizeof(key), i);
		if (store_get(s, key, strlen(key), n + 20, &v) == 0) {
			assert_int_equal(v.n, len);
			assert_memory_equal(v.p, val, len);
			hot_hits += i < 10;
		}
	}
	assert_true(hot_hits >= 8);
	store_done(s);
}

static void chunks_take_should_turn_their_keys_into_misses_at_once(void **state)
{
	struct store *s = store_with(4, 0);
	struct store_stats before, after;
	struct store_val v;
	char key[32], val[20000];
	int present = 0;
	const int n = 300;

	for (int i = 0; i < n; i++) {
		size_t len = value_of(val, sizeof(val), i, 1, 5000 + (size_t)(i % 3) * 5000);

		key_of(key, sizeof(key), i);
		assert_int_equal(store_set(s, key, strlen(key), val, len, 0, 0, 1), 0);
	}
	store_get_stats(s, &before);
	assert_int_equal(before.keys, n);
	assert_int_equal(take_and_unmap(s, 2), 2);
	store_get_stats(s, &after);
	assert_int_equal(after.chunks, 2);
	assert_int_equal(after.capacity, 2 * CHUNK);
	assert_true(after.losses > 0);
	assert_int_equal(after.keys + after.losses, n);
	/* The bytes lost are what the store held less what it holds now. */
	assert_true(after.loss_bytes > 0 && after.loss_bytes == before.used - after.used);
	/* Stale entries stay in the index until touched: the take did not walk the keys. */
	assert_int_equal(after.index_entries, n);
	for (int i = 0; i < n; i++) {
		size_t len = value_of(val, sizeof(val), i, 1, 5000 + (size_t)(i % 3) * 5000);

		key_of(key, sizeof(key), i);
		if (store_get(s, key, strlen(key), 1, &v) == 0) {
			assert_int_equal(v.n, len);
			assert_memory_equal(v.p, val, len);
			present++;
		}
	}
	assert_int_equal(present, after.keys);
	store_get_stats(s, &after);
	assert_int_equal(after.index_entries, after.keys);
	store_done(s);
}

static void chunks_take_should_give_free_then_emptiest_chunks_first(void **state)
{
	struct store *s = store_with(3, 0);
	struct store_stats st;
	char key[32], val[100000];
	void *out[3];

	memset(val, 'v', sizeof(val));
	/* One chunk with a small item, one nearly full of big items, one untouched. */
	assert_int_equal(store_set(s, "small", 5, "x", 1, 0, 0, 1), 0);
	for (int i = 0; i < 15; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(store_set(s, key, strlen(key), val, sizeof(val), 0, 0, 1), 0);
	}
	assert_int_equal(store_chunks_take(s, 1, out), 1);
	store_get_stats(s, &st);
	assert_int_equal(st.losses, 0);
	assert_int_equal(st.loss_bytes, 0);
	assert_int_equal(munmap(out[0], CHUNK), 0);
	assert_int_equal(store_chunks_take(s, 1, out), 1);
	store_get_stats(s, &st);
	assert_int_equal(st.losses, 1);
	assert_int_equal(st.keys, 15);
	assert_int_equal(munmap(out[0], CHUNK), 0);
	store_done(s);
}

static void a_reused_chunk_should_never_resurrect_old_keys(void **state)
{
	struct store *s = store_new(0, 0, 7);
	char *mem = aligned_alloc(CHUNK, CHUNK);
	struct store_val v;
	void *out[1];

	assert_non_null(mem);
	memset(mem, 0, CHUNK);
	assert_int_equal(store_chunk_add(s, mem, CHUNK), 0);
	assert_int_equal(store_set(s, "k", 1, "old", 3, 0, 0, 1), 0);
	assert_int_equal(store_chunks_take(s, 1, out), 1);
	assert_ptr_equal(out[0], mem);
	/* The same memory comes back, still holding the old bytes, in the same table slot. */
	assert_int_equal(store_chunk_add(s, mem, CHUNK), 0);
	assert_int_equal(store_get(s, "k", 1, 1, &v), -ENOENT);
	assert_int_equal(store_set(s, "other", 5, "new", 3, 0, 0, 1), 0);
	assert_int_equal(store_get(s, "k", 1, 1, &v), -ENOENT);
	assert_get(s, "other", "new", 3);
	assert_int_equal(store_set(s, "k", 1, "newer", 5, 0, 0, 1), 0);
	assert_get(s, "k", "newer", 5);
	assert_int_equal(store_chunks_take(s, 1, out), 1);
	store_free(s);
	free(mem);
}

static void no_chunks_should_refuse_writes_and_miss_reads(void **state)
{
	struct store *s = store_new(0, 0, 1);
	struct store_val v;

	assert_int_equal(store_set(s, "k", 1, "v", 1, 0, 0, 1), -ENOMEM);
	assert_int_equal(store_get(s, "k", 1, 1, &v), -ENOENT);
	assert_int_equal(store_del(s, "k", 1, 1), -ENOENT);
	store_free(s);
}

static void values_larger_than_a_chunk_should_be_refused(void **state)
{
	struct store *s = store_with(1, 0);
	size_t max = store_max_value(s, 1);
	char *big = calloc(1, max + 1);

	assert_non_null(big);
	assert_int_equal(max, CHUNK - STORE_ITEM_HDR - 1);
	assert_int_equal(store_set(s, "k", 1, big, max + 1, 0, 0, 1), -E2BIG);
	assert_int_equal(store_set(s, "k", 1, big, max, 0, 0, 1), 0);
	assert_get(s, "k", big, max);
	assert_int_equal(store_max_value(s, STORE_MAX_KEY + 1), 0);
	assert_int_equal(store_set(s, big, STORE_MAX_KEY + 1, "v", 1, 0, 0, 1), -E2BIG);
	free(big);
	store_done(s);
}

static void a_full_index_should_evict_rather_than_grow(void **state)
{
	struct store *s = store_with(1, 100);
	struct store_stats st;
	char key[32];

	for (int i = 0; i < 500; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(store_set(s, key, strlen(key), "v", 1, 0, 0, (uint64_t)i), 0);
	}
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 100);
	assert_int_equal(st.evictions, 400);
	assert_true(st.index_bytes >= 100 * 40);
	assert_true(st.index_bytes < 64 * 1024);
	store_done(s);
}

static void odd_sized_chunks_should_be_held_unused_and_given_back_first(void **state)
{
	struct store *s = store_with(1, 0);
	char odd[4096];
	void *out[1];
	struct store_stats st;

	assert_int_equal(store_chunk_add(s, odd, sizeof(odd)), -EINVAL);
	store_get_stats(s, &st);
	assert_int_equal(st.capacity, CHUNK + sizeof(odd));
	assert_int_equal(store_chunks_take(s, 1, out), 1);
	assert_ptr_equal(out[0], odd);
	store_done(s);
}

static void flush_should_remove_every_key_and_keep_the_chunks(void **state)
{
	struct store *s = store_with(2, 0);
	struct store_stats st;
	struct store_val v;

	assert_int_equal(store_set(s, "a", 1, "1", 1, 0, 0, 1), 0);
	assert_int_equal(store_set(s, "b", 1, "2", 1, 5, 0, 1), 0);
	store_flush(s);
	store_get_stats(s, &st);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.expires, 0);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.chunks_free, 2);
	assert_int_equal(store_get(s, "a", 1, 1, &v), -ENOENT);
	assert_int_equal(store_set(s, "a", 1, "3", 1, 0, 0, 1), 0);
	assert_get(s, "a", "3", 1);
	store_done(s);
}

/* store_prefetch is a hint: over present keys, keys lost to a take (their chunks unmapped), keys never written and
 * batches longer than STORE_PREFETCH_MAX, it changes no count, reaps no stale entry, and every read after it is right. */
static void prefetch_should_change_nothing(void **state)
{
	enum { N = 300 };
	struct store *s = store_with(4, 0);
	struct store_stats before, after;
	static char keys[N + 50][32], val[20000];
	struct store_key batch[N + 50];
	struct store_val v;

	for (int i = 0; i < N + 50; i++) {
		key_of(keys[i], sizeof(keys[i]), i);
		batch[i] = (struct store_key){ keys[i], strlen(keys[i]) };
	}
	for (int i = 0; i < N; i++) {
		size_t len = value_of(val, sizeof(val), i, 1, 5000 + (size_t)(i % 3) * 5000);

		assert_int_equal(store_set(s, keys[i], strlen(keys[i]), val, len, 0, 0, 1), 0);
	}
	assert_int_equal(take_and_unmap(s, 2), 2);
	store_get_stats(s, &before);
	assert_true(before.losses > 0);
	for (size_t off = 0; off < N + 50; off += 7)
		store_prefetch(s, batch + off, N + 50 - off);
	store_prefetch(s, batch, 0);
	store_get_stats(s, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(after.index_entries, N);
	for (int i = 0; i < N + 50; i++) {
		size_t len = value_of(val, sizeof(val), i, 1, 5000 + (size_t)(i % 3) * 5000);

		if (store_get(s, keys[i], strlen(keys[i]), 1, &v) == 0) {
			assert_true(i < N);
			assert_int_equal(v.n, len);
			assert_memory_equal(v.p, val, len);
		}
	}
	store_done(s);
}

/* Random writes, deletes, takes and adds against a model: every read is the latest value written or a miss,
 * and a miss only when the key was deleted or something was evicted or taken since it was written. */
static void churn_should_never_return_stale_or_foreign_values(void **state)
{
	enum { KEYS = 400 };
	struct store *s = store_with(6, 0);
	static int version[KEYS], len_of[KEYS];
	static char val[60000];
	unsigned seed = 99;
	uint64_t tick = 1;
	size_t held = 6;

	memset(version, 0xff, sizeof(version));
	for (int step = 0; step < 30000; step++, tick++) {
		int k = rand_r(&seed) % KEYS, op = rand_r(&seed) % 100;
		char key[32];
		struct store_val v;
		struct store_stats st;

		key_of(key, sizeof(key), k);
		if (op < 45) {
			size_t want = (size_t)(rand_r(&seed) % 3 ? rand_r(&seed) % 300 : rand_r(&seed) % 50000);
			size_t len = value_of(val, sizeof(val), k, step, want);
			int err = store_set(s, key, strlen(key), val, len, 0, 0, tick);

			if (err == 0) {
				version[k] = step;
				len_of[k] = (int)len;
			} else {
				assert_int_equal(err, -ENOMEM);
				assert_int_equal(held, 0);
			}
		} else if (op < 85) {
			struct store_key pk = { key, strlen(key) };
			int r;

			/* The server prefetches before it reads: a hint that must change nothing. */
			store_prefetch(s, &pk, 1);
			r = store_get(s, key, strlen(key), tick, &v);

			store_get_stats(s, &st);
			if (r == 0) {
				assert_true(version[k] >= 0);
				value_of(val, sizeof(val), k, version[k], (size_t)len_of[k]);
				assert_int_equal(v.n, len_of[k]);
				assert_memory_equal(v.p, val, v.n);
			} else if (version[k] >= 0) {
				/* Lost: only possible through eviction or a take since it was written. */
				assert_true(st.evictions + st.losses > 0);
				version[k] = -1;
			}
		} else if (op < 93) {
			store_del(s, key, strlen(key), tick);
			version[k] = -1;
		} else if (op < 97 && held) {
			held -= take_and_unmap(s, (size_t)(rand_r(&seed) % 3) + 1);
		} else if (held < MAX_CHUNKS) {
			assert_int_equal(store_chunk_add(s, map_chunk(), CHUNK), 0);
			held++;
		}
		if (step % 1000 == 0)
			store_sweep(s, tick, 64);
	}
	store_done(s);
}

/* Marks each key met by a walk ("key:N") in a seen-count array. */
static void count_key(void *arg, const char *key, size_t klen, int type)
{
	unsigned *seen = arg;
	char buf[32];
	int i;

	assert_int_equal(type, STORE_STRING);
	assert_true(klen < sizeof(buf));
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	assert_int_equal(sscanf(buf, "key:%d", &i), 1);
	seen[i]++;
}

/* SCAN's promise: every key present for the whole walk is met at least once, even when the index doubles between
 * two steps; keys deleted or expired before the walk are not met; a walk changes nothing. */
static void scan_should_meet_every_key_across_an_index_growth(void **state)
{
	enum { N = 3000, MORE = 6000 };
	static unsigned seen[N + MORE];
	struct store *s = store_with(4, 0);
	struct store_stats before, after;
	char k[32];
	uint64_t cursor = 0;
	int steps = 0;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		key_of(k, sizeof(k), i);
		assert_int_equal(store_set(s, k, strlen(k), "v", 1, i % 3 == 0 ? 5000 : 0, 0, 1000), 0);
	}
	key_of(k, sizeof(k), 1);
	assert_int_equal(store_del(s, k, strlen(k), 1000), 0);
	do {
		store_get_stats(s, &before);
		cursor = store_scan(s, cursor, 16, 1000, count_key, seen);
		store_get_stats(s, &after);
		assert_int_equal(before.index_entries, after.index_entries);
		/* Half-way, the index grows (more keys than buckets). */
		if (++steps == 40)
			for (int i = N; i < N + MORE; i++) {
				key_of(k, sizeof(k), i);
				assert_int_equal(store_set(s, k, strlen(k), "v", 1, 0, 0, 1000), 0);
			}
	} while (cursor);
	for (int i = 0; i < N; i++)
		if (i != 1)
			assert_true(seen[i] >= 1);
	assert_int_equal(seen[1], 0);

	/* Past their expiry, keys are not met. */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(store_scan(s, 0, SIZE_MAX, 6000, count_key, seen), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], i % 3 == 0 || i == 1 ? 0 : 1);
	store_done(s);
}

static void pick_key(void *arg, const char *key, size_t klen, int type)
{
	(void)type;
	memcpy(arg, key, klen);
	((char *)arg)[klen] = '\0';
}

static void random_key_should_pick_a_live_key_or_say_none(void **state)
{
	struct store *s = store_with(1, 0);
	char got[32];

	(void)state;
	assert_int_equal(store_random_key(s, 1000, 7, pick_key, got), -ENOENT);
	assert_int_equal(store_set(s, "gone", 4, "v", 1, 0, 0, 1000), 0);
	assert_int_equal(store_set(s, "only", 4, "v", 1, 0, 0, 1000), 0);
	assert_int_equal(store_set(s, "late", 4, "v", 1, 1500, 0, 1000), 0);
	assert_int_equal(store_del(s, "gone", 4, 1000), 0);
	for (uint64_t seed = 1; seed < 50; seed++) {
		assert_int_equal(store_random_key(s, 2000, seed, pick_key, got), 0);
		assert_string_equal(got, "only");
	}
	store_done(s);
}

/* avg_ttl comes from the mean expiry, kept as keys come, change expiry and go (and as chunks are lost). */
static void stats_should_keep_the_mean_expiry(void **state)
{
	struct store *s = store_with(2, 0);
	struct store_stats st;

	(void)state;
	assert_int_equal(store_set(s, "a", 1, "v", 1, 11000, 0, 1000), 0);
	assert_int_equal(store_set(s, "b", 1, "v", 1, 31000, 0, 1000), 0);
	assert_int_equal(store_set(s, "c", 1, "v", 1, 0, 0, 1000), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.expire_avg, 21000);
	assert_int_equal(store_expire(s, "b", 1, 0, 1000), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.expire_avg, 11000);
	assert_int_equal(store_set(s, "a", 1, "longer value", 12, 51000, 0, 1000), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.expire_avg, 51000);
	assert_int_equal(store_del(s, "a", 1, 1000), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.expire_avg, 0);
	assert_int_equal(store_set(s, "d", 1, "v", 1, 9000, 0, 1000), 0);
	take_and_unmap(s, 2);
	store_get_stats(s, &st);
	assert_int_equal(st.expires, 0);
	assert_int_equal(st.expire_avg, 0);
	store_done(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_then_get_should_return_the_value),
		cmocka_unit_test(set_should_replace_the_value_across_size_classes),
		cmocka_unit_test(set_should_honour_nx_and_xx),
		cmocka_unit_test(del_should_make_the_key_miss),
		cmocka_unit_test(expiry_should_make_keys_miss_once_their_time_passed),
		cmocka_unit_test(sweep_should_reap_expired_keys_nobody_reads),
		cmocka_unit_test(full_store_should_evict_least_recently_used_keys),
		cmocka_unit_test(chunks_take_should_turn_their_keys_into_misses_at_once),
		cmocka_unit_test(chunks_take_should_give_free_then_emptiest_chunks_first),
		cmocka_unit_test(a_reused_chunk_should_never_resurrect_old_keys),
		cmocka_unit_test(no_chunks_should_refuse_writes_and_miss_reads),
		cmocka_unit_test(values_larger_than_a_chunk_should_be_refused),
		cmocka_unit_test(a_full_index_should_evict_rather_than_grow),
		cmocka_unit_test(odd_sized_chunks_should_be_held_unused_and_given_back_first),
		cmocka_unit_test(flush_should_remove_every_key_and_keep_the_chunks),
		cmocka_unit_test(prefetch_should_change_nothing),
		cmocka_unit_test(churn_should_never_return_stale_or_foreign_values),
		cmocka_unit_test(scan_should_meet_every_key_across_an_index_growth),
		cmocka_unit_test(random_key_should_pick_a_live_key_or_say_none),
		cmocka_unit_test(stats_should_keep_the_mean_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
