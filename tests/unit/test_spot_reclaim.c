/*
 * The store in reclaimable mode. The kernel dropping a lazily freed page is played by MADV_DONTNEED on a private
 * anonymous mapping: the page then reads back as zeros, exactly what a dropped MADV_FREE page looks like.
 */
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
#define PAGE 4096u
#define MAX_CHUNKS 8

struct fixture {
	struct store *s;
	char *base[MAX_CHUNKS];
	size_t n;
};

static struct fixture *fixture_new(size_t chunks, bool reclaimable)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = store_new(0, 0, 7);
	assert_non_null(f->s);
	store_set_reclaimable(f->s, reclaimable);
	/* One mapping, so that the chunks are address-contiguous as the worker's are; each is unmapped on its own. */
	char *all = mmap(NULL, chunks * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(all != MAP_FAILED);
	for (; f->n < chunks; f->n++) {
		f->base[f->n] = all + f->n * CHUNK;
		assert_int_equal(store_chunk_add(f->s, f->base[f->n], CHUNK), 0);
	}
	return f;
}

static void fixture_free(struct fixture *f)
{
	void *out[MAX_CHUNKS];
	size_t got = store_chunks_take(f->s, MAX_CHUNKS, out);

	assert_int_equal(got, f->n);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(munmap(out[i], CHUNK), 0);
	store_free(f->s);
	free(f);
}

/* What the kernel does to a lazily freed page under pressure. */
static void drop_page(void *addr)
{
	assert_int_equal(madvise((void *)((uintptr_t)addr & ~(uintptr_t)(PAGE - 1)), PAGE, MADV_DONTNEED), 0);
}

/* The chunk of the fixture holding addr, or -1. */
static int chunk_of(const struct fixture *f, const void *addr)
{
	for (size_t i = 0; i < f->n; i++)
		if ((const char *)addr >= f->base[i] && (const char *)addr < f->base[i] + CHUNK)
			return (int)i;
	return -1;
}

/* Where a key's bytes live: found by scanning the chunks for them (the store does not say). */
static char *find_bytes(const struct fixture *f, const void *p, size_t n)
{
	for (size_t i = 0; i < f->n; i++)
		for (size_t off = 0; off + n <= CHUNK; off += 16)
			if (!memcmp(f->base[i] + off, p, n))
				return f->base[i] + off;
	return NULL;
}

static void fill_value(char *v, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (char)(1 + (seed * 131 + i * 7) % 251);
}

/* Where an item lives: its key followed by the start of its value. */
static char *find_item(const struct fixture *f, const char *key, const char *v)
{
	char buf[64];
	size_t k = strlen(key);

	assert_true(k + 8 <= sizeof(buf));
	memcpy(buf, key, k);
	memcpy(buf + k, v, 8);
	return find_bytes(f, buf, k + 8);
}

static uint64_t dropped(const struct fixture *f)
{
	struct store_stats st;

	store_get_stats(f->s, &st);
	return st.dropped;
}

static void get_should_miss_when_a_page_inside_the_value_was_dropped(void **state)
{
	struct fixture *f = fixture_new(2, true);
	static char v[100 * 1024];
	struct store_val out;
	char *at;

	(void)state;
	fill_value(v, sizeof(v), 1);
	assert_int_equal(store_set(f->s, "big", 3, v, sizeof(v), 0, 0, 1), 0);
	assert_int_equal(store_get(f->s, "big", 3, 2, &out), 0);
	assert_memory_equal(out.p, v, sizeof(v));
	at = find_item(f, "big", v);
	assert_non_null(at);
	drop_page(at + 50 * 1024);
	assert_int_equal(store_get(f->s, "big", 3, 3, &out), -ENOENT);
	assert_int_equal(dropped(f), 1);
	fixture_free(f);
}

static void a_dropped_page_should_lose_its_whole_chunk_and_nothing_else(void **state)
{
	struct fixture *f = fixture_new(2, true);
	char key[32], v[40];
	struct store_val out;
	int lost_chunk, in_chunk = 0, other = -1;
	char *first;

	(void)state;
	/* 64-byte slots: the first chunk fills with 32768 items, the next key goes to the second chunk. */
	for (int i = 0; i < 40000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		assert_int_equal(store_set(f->s, key, strlen(key), v, sizeof(v), 0, 0, 1), 0);
	}
	fill_value(v, sizeof(v), 0);
	first = find_item(f, "k0", v);
	assert_non_null(first);
	lost_chunk = chunk_of(f, first);
	drop_page(first);
	for (int i = 0; i < 40000; i++) {
		int r;

		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		r = store_get(f->s, key, strlen(key), 2, &out);
		if (r == 0) {
			assert_int_equal(out.n, sizeof(v));
			assert_memory_equal(out.p, v, sizeof(v));
			other = i;
		} else {
			assert_int_equal(r, -ENOENT);
			in_chunk++;
		}
	}
	/* Every item of that chunk is a miss, counted once; the other chunk is untouched. */
	assert_int_equal(dropped(f), (uint64_t)in_chunk);
	assert_true(in_chunk >= 32000 && in_chunk < 40000);
	assert_true(other >= 0);
	snprintf(key, sizeof(key), "k%d", other);
	fill_value(v, sizeof(v), (unsigned)other);
	assert_int_not_equal(chunk_of(f, find_item(f, key, v)), lost_chunk);
	fixture_free(f);
}

static void writing_into_a_dropped_page_should_not_revive_its_neighbours(void **state)
{
	struct fixture *f = fixture_new(1, true);
	char key[32], v[40], nv[40];
	struct store_val out;

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		assert_int_equal(store_set(f->s, key, strlen(key), v, sizeof(v), 0, 0, 1), 0);
	}
	drop_page(f->base[0]);
	/* Rewriting k3 in place writes into the dropped page again: it must come back whole, its neighbours not. */
	fill_value(nv, sizeof(nv), 999);
	assert_int_equal(store_set(f->s, "k3", 2, nv, sizeof(nv), 0, 0, 2), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (store_get(f->s, key, strlen(key), 3, &out) == 0) {
			fill_value(v, sizeof(v), i == 3 ? 999 : (unsigned)i);
			assert_int_equal(out.n, sizeof(v));
			assert_memory_equal(out.p, v, sizeof(v));
			assert_int_equal(i, 3);
		}
	}
	assert_int_equal(store_get(f->s, "k3", 2, 4, &out), 0);
	assert_memory_equal(out.p, nv, sizeof(nv));
	fixture_free(f);
}

static void a_free_list_in_a_dropped_page_should_not_be_followed(void **state)
{
	struct fixture *f = fixture_new(1, true);
	char key[32], v[40];
	struct store_val out;
	struct store_stats st;
	uint64_t hits = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		assert_int_equal(store_set(f->s, key, strlen(key), v, sizeof(v), 0, 0, 1), 0);
	}
	/* Deleting puts slots of the first page on the free list; then the page goes. */
	for (int i = 0; i < 60; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(store_del(f->s, key, strlen(key), 1), 0);
	}
	drop_page(f->base[0]);
	for (int i = 200; i < 300; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		assert_int_equal(store_set(f->s, key, strlen(key), v, sizeof(v), 0, 0, 2), 0);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill_value(v, sizeof(v), (unsigned)i);
		if (store_get(f->s, key, strlen(key), 3, &out) == 0) {
			assert_memory_equal(out.p, v, sizeof(v));
			hits++;
		}
	}
	/* The keys written after the loss live on; the count of keys is what can be read. */
	assert_true(hits >= 100);
	store_get_stats(f->s, &st);
	assert_int_equal(st.keys, hits);
	fixture_free(f);
}

struct ranges {
	size_t n;
	char *base[16];
	size_t len[16];
};

static int record(void *base, size_t len, void *arg)
{
	struct ranges *r = arg;

	assert_true(r->n < 16);
	r->base[r->n] = base;
	r->len[r->n++] = len;
	return 0;
}

static void refree_should_hand_back_each_written_chunk_once_and_whole(void **state)
{
	struct fixture *f = fixture_new(2, true);
	static char v[10000];
	struct ranges r = { 0 };
	uint64_t bytes;
	char *at;

	(void)state;
	fill_value(v, sizeof(v), 5);
	assert_int_equal(store_set(f->s, "a", 1, v, sizeof(v), 0, 0, 1), 0);
	assert_int_equal(store_set(f->s, "b", 1, v, sizeof(v), 0, 0, 1), 0);
	bytes = store_refree(f->s, record, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(bytes, CHUNK);
	at = find_item(f, "a", v);
	assert_ptr_equal(r.base[0], f->base[chunk_of(f, at)]);
	assert_int_equal(r.len[0], CHUNK);
	r.n = 0;
	assert_int_equal(store_refree(f->s, record, &r), 0);
	assert_int_equal(r.n, 0);
	/* A delete writes the slot's header: that chunk goes back again. */
	assert_int_equal(store_del(f->s, "a", 1, 2), 0);
	assert_int_equal(store_refree(f->s, record, &r), CHUNK);
	fixture_free(f);
}

static void refree_should_hand_back_neighbouring_chunks_in_one_call(void **state)
{
	struct fixture *f = fixture_new(3, true);
	static char small[100], big[300000];
	struct ranges r = { 0 };

	(void)state;
	fill_value(small, sizeof(small), 1);
	fill_value(big, sizeof(big), 2);
	/* Two size classes: two chunks written. */
	assert_int_equal(store_set(f->s, "s", 1, small, sizeof(small), 0, 0, 1), 0);
	assert_int_equal(store_set(f->s, "b", 1, big, sizeof(big), 0, 0, 1), 0);
	assert_int_equal(store_refree(f->s, record, &r), 2 * CHUNK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], 2 * CHUNK);
	fixture_free(f);
}

static void pinned_mode_should_neither_track_writes_nor_copy_values(void **state)
{
	struct fixture *f = fixture_new(1, false);
	struct ranges r = { 0 };
	struct store_val out;

	(void)state;
	assert_int_equal(store_set(f->s, "a", 1, "value", 5, 0, 0, 1), 0);
	assert_int_equal(store_refree(f->s, record, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_get(f->s, "a", 1, 2, &out), 0);
	assert_int_equal(chunk_of(f, out.p), 0);
	fixture_free(f);
}

/* A model-checked churn: random writes, deletes, reads and page drops. Every read is the latest value or a miss. */
#define MODEL_KEYS 2000
static void churn_with_dropped_pages_should_return_latest_or_miss(void **state)
{
	struct fixture *f = fixture_new(4, true);
	static uint32_t written_at[MODEL_KEYS], length[MODEL_KEYS]; /* length 0: absent */
	static char v[10000];
	uint64_t rng = 12345, hits = 0;
	struct store_val out;
	char key[32];

	(void)state;
	for (uint32_t op = 1; op <= 200000; op++) {
		uint32_t k, len;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		k = (uint32_t)(rng % MODEL_KEYS);
		/* Mostly small values, some over several pages; few size classes, so that chunks stay put. */
		len = k % 10 ? 30 + (uint32_t)((rng >> 20) % 10) : 9000 + (uint32_t)((rng >> 20) % 500);
		snprintf(key, sizeof(key), "key:%u", k);
		switch ((rng >> 40) % 16) {
		case 0:
			/* Now and then the kernel drops a random page of a random chunk. */
			if ((rng >> 36) % 64)
				break;
			drop_page(f->base[(rng >> 44) % f->n] + ((rng >> 48) % (CHUNK / PAGE)) * PAGE);
			break;
		case 1:
			store_del(f->s, key, strlen(key), op);
			length[k] = 0;
			break;
		case 2: case 3: case 4: case 5: case 6:
			fill_value(v, len, op);
			length[k] = store_set(f->s, key, strlen(key), v, len, 0, 0, op) == 0 ? len : 0;
			written_at[k] = op;
			break;
		default:
			if (store_get(f->s, key, strlen(key), op, &out) != 0)
				break;
			assert_int_not_equal(length[k], 0);
			assert_int_equal(out.n, length[k]);
			fill_value(v, out.n, written_at[k]);
			assert_memory_equal(out.p, v, out.n);
			hits++;
		}
	}
	assert_true(hits > 1000);
	assert_true(dropped(f) > 0);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_should_miss_when_a_page_inside_the_value_was_dropped),
		cmocka_unit_test(a_dropped_page_should_lose_its_whole_chunk_and_nothing_else),
		cmocka_unit_test(writing_into_a_dropped_page_should_not_revive_its_neighbours),
		cmocka_unit_test(a_free_list_in_a_dropped_page_should_not_be_followed),
		cmocka_unit_test(refree_should_hand_back_each_written_chunk_once_and_whole),
		cmocka_unit_test(refree_should_hand_back_neighbouring_chunks_in_one_call),
		cmocka_unit_test(pinned_mode_should_neither_track_writes_nor_copy_values),
		cmocka_unit_test(churn_with_dropped_pages_should_return_latest_or_miss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
