/*
 * The chunk pool in reclaimable mode: chunks are lazily freed once populated (the kernel's own LazyFree count in
 * /proc/self/smaps shows it), resident bytes follow what the kernel dropped, and a refill brings them back. The
 * kernel dropping lazily freed pages is played by MADV_DONTNEED, which leaves them reading as zeros the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "balloon/chunks.h"

/* Bytes the kernel counts as lazily freeable in the mappings that overlap [lo, hi). */
static uint64_t lazyfree_in(uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool inside = false;
	uint64_t kib, total = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start, end;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = start < hi && end > lo;
		else if (inside && sscanf(line, "LazyFree: %" SCNu64 " kB", &kib) == 1)
			total += kib * 1024;
	}
	fclose(f);
	return total;
}

/*
 * The kernel moves small folios to the lazy-free list through a per-CPU batch of 31 (huge ones at once): until the
 * batch drains, up to 30 small pages are lazily freed but not yet counted.
 */
static void assert_lazyfree(uintptr_t lo, uint64_t bytes)
{
	uint64_t got = lazyfree_in(lo, lo + bytes);

	assert_true(got <= bytes);
	assert_true(got + 30 * 4096 >= bytes);
}

static uintptr_t lowest(const struct chunk_pool *p)
{
	uintptr_t lo = UINTPTR_MAX;

	for (size_t i = 0; i < p->n; i++)
		if ((uintptr_t)p->base[i] < lo)
			lo = (uintptr_t)p->base[i];
	return lo;
}

static void grow_reclaimable(struct chunk_pool *p, uint64_t bytes)
{
	uint64_t grown;

	chunks_init(p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(p, bytes, NULL, NULL, &grown), 0);
	assert_int_equal(grown, bytes);
}

static void grown_chunks_should_be_resident_and_lazily_freed(void **state)
{
	struct chunk_pool p;
	uintptr_t lo;

	(void)state;
	grow_reclaimable(&p, 8 * MIB);
	lo = lowest(&p);
	assert_int_equal(chunks_resident(&p), 8 * MIB);
	assert_lazyfree(lo, 8 * MIB);
	chunks_free(&p);
}

static void resident_should_fall_by_what_the_kernel_dropped(void **state)
{
	struct chunk_pool p;

	(void)state;
	grow_reclaimable(&p, 8 * MIB);
	assert_int_equal(madvise(p.base[1], MIB, MADV_DONTNEED), 0);
	assert_int_equal(madvise(p.base[3], CHUNK_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(chunks_resident(&p), 5 * MIB);
	assert_int_equal(chunks_bytes(&p), 8 * MIB);
	chunks_free(&p);
}

static void refill_should_bring_back_dropped_pages_lazily_freed_again(void **state)
{
	struct chunk_pool p;
	uint64_t refilled;
	uintptr_t lo;

	(void)state;
	grow_reclaimable(&p, 8 * MIB);
	lo = lowest(&p);
	/* A write cancels a lazy free: the refill must free the chunk again, not leave it dirty. */
	memset(p.base[0], 0x5a, CHUNK_SIZE);
	assert_int_equal(madvise(p.base[0], MIB, MADV_DONTNEED), 0);
	assert_int_equal(chunks_refill(&p, UINT64_MAX, &refilled), 0);
	assert_int_equal(refilled, MIB);
	assert_int_equal(chunks_resident(&p), 8 * MIB);
	assert_lazyfree(lo, 8 * MIB);
	/* What was kept survives the refill; what was dropped comes back as zeros. */
	assert_int_equal(((unsigned char *)p.base[0])[MIB + 5], 0x5a);
	assert_int_equal(((unsigned char *)p.base[0])[5], 0);
	chunks_free(&p);
}

static void refill_should_stop_once_enough_is_back(void **state)
{
	struct chunk_pool p;
	uint64_t refilled;

	(void)state;
	grow_reclaimable(&p, 8 * MIB);
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(madvise(p.base[i], CHUNK_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(chunks_refill(&p, CHUNK_SIZE, &refilled), 0);
	assert_int_equal(refilled, CHUNK_SIZE);
	assert_int_equal(chunks_resident(&p), CHUNK_SIZE);
	assert_int_equal(chunks_refill(&p, 0, &refilled), 0);
	assert_int_equal(refilled, 0);
	chunks_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grown_chunks_should_be_resident_and_lazily_freed),
		cmocka_unit_test(resident_should_fall_by_what_the_kernel_dropped),
		cmocka_unit_test(refill_should_bring_back_dropped_pages_lazily_freed_again),
		cmocka_unit_test(refill_should_stop_once_enough_is_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
