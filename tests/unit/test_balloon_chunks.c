#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "balloon/chunks.h"

/*
 * munmap, mlock and madvise are interposed: this program's definitions take precedence over libc's for the
 * pool's calls, so the tests count munmap calls (coalescing) and make mlock or MADV_POPULATE_WRITE fail the
 * way the kernel can.
 */
static int munmap_calls;
static int mlock_fail_errno;
static int populate_calls, populate_fail_at, populate_fail_errno;

int madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_POPULATE_WRITE && ++populate_calls == populate_fail_at) {
		errno = populate_fail_errno;
		return -1;
	}
	return syscall(SYS_madvise, addr, len, advice);
}

int munmap(void *addr, size_t len)
{
	munmap_calls++;
	return syscall(SYS_munmap, addr, len);
}

int mlock(const void *addr, size_t len)
{
	if (mlock_fail_errno) {
		errno = mlock_fail_errno;
		return -1;
	}
	return syscall(SYS_mlock, addr, len);
}

static bool mapped(const void *base, size_t len)
{
	unsigned char vec[CHUNK_SIZE / 4096];

	assert_true(len <= CHUNK_SIZE);
	/* mincore fails with ENOMEM when part of the range is not mapped */
	return mincore((void *)base, len, vec) == 0;
}

static size_t resident_pages(const void *base)
{
	unsigned char vec[CHUNK_SIZE / 4096];
	size_t n = 0;

	assert_int_equal(mincore((void *)base, CHUNK_SIZE, vec), 0);
	for (size_t i = 0; i < sizeof(vec); i++)
		n += vec[i] & 1;
	return n;
}

/* A tenant that records what it is given and hands back the chunks the test chose. */
struct fake_tenant {
	void *added[64];
	size_t n_added, added_size_wrong;
	void *give[64];
	size_t n_give, asked;
};

static void fake_chunk_added(void *ctx, void *base, size_t size)
{
	struct fake_tenant *t = ctx;

	assert_true(t->n_added < 64);
	t->added[t->n_added++] = base;
	if (size != CHUNK_SIZE)
		t->added_size_wrong++;
}

static size_t fake_chunks_take(void *ctx, size_t n, void **out)
{
	struct fake_tenant *t = ctx;
	size_t k = t->n_give < n ? t->n_give : n;

	t->asked = n;
	memcpy(out, t->give, k * sizeof(*out));
	return k;
}

static struct worker_tenant tenant_of(struct fake_tenant *t)
{
	return (struct worker_tenant){ .ctx = t, .chunk_added = fake_chunk_added, .chunks_take = fake_chunks_take };
}

static bool pool_holds(const struct chunk_pool *p, const void *base)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->base[i] == base)
			return true;
	return false;
}

static void grow_should_add_populated_chunks_aligned_to_2_mib(void **state)
{
	struct chunk_pool p;
	uint64_t grown = 0;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, 3 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_true(grown == 3 * CHUNK_SIZE);
	assert_int_equal(p.n, 3);
	assert_true(chunks_bytes(&p) == 3 * CHUNK_SIZE);
	for (size_t i = 0; i < p.n; i++) {
		assert_int_equal((uintptr_t)p.base[i] % CHUNK_SIZE, 0);
		assert_int_equal(resident_pages(p.base[i]), CHUNK_SIZE / 4096);
	}
	assert_true(chunks_resident(&p) == 3 * CHUNK_SIZE);
	chunks_free(&p);
	assert_int_equal(p.n, 0);
}

static void grow_should_round_down_to_whole_chunks(void **state)
{
	struct chunk_pool p;
	uint64_t grown = 1;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, CHUNK_SIZE - 1, NULL, NULL, &grown), 0);
	assert_true(grown == 0);
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE - 1, NULL, NULL, &grown), 0);
	assert_true(grown == CHUNK_SIZE);
	assert_int_equal(p.n, 1);
	chunks_free(&p);
}

static void new_chunks_should_read_as_zeros(void **state)
{
	struct chunk_pool p;
	uint64_t grown;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	for (size_t i = 0; i < p.n; i++) {
		const uint64_t *w = p.base[i];

		for (size_t j = 0; j < CHUNK_SIZE / sizeof(*w); j++)
			if (w[j])
				fail_msg("chunk %zu word %zu is %#llx", i, j, (unsigned long long)w[j]);
		/* the memory is ours to write */
		memset(p.base[i], 0xff, CHUNK_SIZE);
	}
	chunks_free(&p);
}

static int stop_calls;

static bool stop_after_first_batch(void *arg)
{
	stop_calls++;
	return *(int *)arg == stop_calls;
}

static void grow_should_stop_between_batches_when_asked(void **state)
{
	struct chunk_pool p;
	uint64_t grown;
	int stop_at = 1;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	stop_calls = 0;
	assert_int_equal(chunks_grow(&p, 3 * CHUNK_BATCH, stop_after_first_batch, &stop_at, &grown), 0);
	assert_int_equal(stop_calls, 1);
	assert_true(grown == CHUNK_BATCH);
	assert_true(chunks_bytes(&p) == CHUNK_BATCH);
	/* the region's unfilled rest is not kept mapped */
	assert_false(mapped((char *)p.base[p.n - 1] + CHUNK_SIZE, CHUNK_SIZE));

	/* Not asked after the last batch: there is nothing left to stop. */
	stop_calls = 0;
	stop_at = 99;
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_BATCH, stop_after_first_batch, &stop_at, &grown), 0);
	assert_int_equal(stop_calls, 1);
	assert_true(grown == 2 * CHUNK_BATCH);
	assert_true(chunks_bytes(&p) == 3 * CHUNK_BATCH);
	chunks_free(&p);
}

static void shrink_without_tenant_should_release_the_most_recently_added(void **state)
{
	struct chunk_pool p;
	uint64_t grown, released;
	void *first[2];

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	memcpy(first, p.base, sizeof(first));
	assert_int_equal(chunks_grow(&p, 3 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	void *later[3] = { p.base[2], p.base[3], p.base[4] };

	assert_int_equal(chunks_shrink(&p, 3 * CHUNK_SIZE, &released), 0);
	assert_true(released == 3 * CHUNK_SIZE);
	assert_int_equal(p.n, 2);
	assert_true(pool_holds(&p, first[0]) && pool_holds(&p, first[1]));
	for (int i = 0; i < 3; i++)
		assert_false(mapped(later[i], CHUNK_SIZE));
	assert_true(mapped(first[0], CHUNK_SIZE) && mapped(first[1], CHUNK_SIZE));
	chunks_free(&p);
	assert_false(mapped(first[0], CHUNK_SIZE) || mapped(first[1], CHUNK_SIZE));
}

static void shrink_should_round_up_and_release_everything_for_uint64_max(void **state)
{
	struct chunk_pool p;
	uint64_t grown, released;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, 4 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_int_equal(chunks_shrink(&p, 0, &released), 0);
	assert_true(released == 0);
	assert_int_equal(chunks_shrink(&p, 1, &released), 0);
	assert_true(released == CHUNK_SIZE);
	assert_int_equal(chunks_shrink(&p, UINT64_MAX, &released), 0);
	assert_true(released == 3 * CHUNK_SIZE);
	assert_int_equal(p.n, 0);
	assert_int_equal(chunks_shrink(&p, UINT64_MAX, &released), 0);
	assert_true(released == 0);
	chunks_free(&p);
}

static void shrink_should_unmap_contiguous_chunks_with_one_munmap_per_batch(void **state)
{
	struct chunk_pool p;
	uint64_t grown, released;
	void *lo;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	/* Two and a half batches of one region: address-contiguous chunks. A munmap frees its huge pages together at its
	 * end, so the first memory is back after one batch's worth, not after the whole release. */
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_BATCH + 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	lo = p.base[0];
	munmap_calls = 0;
	assert_int_equal(chunks_shrink(&p, 2 * CHUNK_BATCH + 2 * CHUNK_SIZE, &released), 0);
	assert_true(released == 2 * CHUNK_BATCH + 2 * CHUNK_SIZE);
	assert_int_equal(munmap_calls, 3);
	for (size_t off = 0; off < 2 * CHUNK_BATCH + 2 * CHUNK_SIZE; off += CHUNK_SIZE)
		assert_false(mapped((char *)lo + off, CHUNK_SIZE));
	chunks_free(&p);
}

static void tenant_should_get_every_new_chunk_and_pick_what_goes_back(void **state)
{
	struct fake_tenant t = { 0 };
	struct worker_tenant wt = tenant_of(&t);
	struct chunk_pool p;
	uint64_t grown, released;

	chunks_init(&p, BALLOON_RECLAIMABLE, &wt);
	assert_int_equal(chunks_grow(&p, 6 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_int_equal(t.n_added, 6);
	assert_int_equal(t.added_size_wrong, 0);
	assert_memory_equal(t.added, p.base, 6 * sizeof(void *));

	/* The tenant gives back chunks 0, 1, 2 and 4 (two address runs), in its own order. */
	void *a = t.added[0], *b = t.added[1], *c = t.added[2], *d = t.added[4];
	t.give[0] = d;
	t.give[1] = b;
	t.give[2] = a;
	t.give[3] = c;
	t.n_give = 4;
	munmap_calls = 0;
	assert_int_equal(chunks_shrink(&p, 3 * CHUNK_SIZE + 1, &released), 0);
	assert_int_equal(t.asked, 4);
	assert_true(released == 4 * CHUNK_SIZE);
	assert_int_equal(munmap_calls, 2);
	assert_int_equal(p.n, 2);
	assert_true(pool_holds(&p, t.added[3]) && pool_holds(&p, t.added[5]));
	assert_false(mapped(a, CHUNK_SIZE) || mapped(b, CHUNK_SIZE) || mapped(c, CHUNK_SIZE) ||
		     mapped(d, CHUNK_SIZE));
	assert_true(mapped(t.added[3], CHUNK_SIZE) && mapped(t.added[5], CHUNK_SIZE));
	chunks_free(&p);
}

static void shrink_should_skip_a_base_the_pool_does_not_hold(void **state)
{
	struct fake_tenant t = { 0 };
	struct worker_tenant wt = tenant_of(&t);
	struct chunk_pool p, other;
	uint64_t grown, released;

	chunks_init(&other, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&other, CHUNK_SIZE, NULL, NULL, &grown), 0);
	chunks_init(&p, BALLOON_RECLAIMABLE, &wt);
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	t.give[0] = other.base[0];
	t.give[1] = t.added[1];
	t.n_give = 2;
	assert_int_equal(chunks_shrink(&p, 2 * CHUNK_SIZE, &released), -EINVAL);
	assert_true(released == CHUNK_SIZE);
	assert_int_equal(p.n, 1);
	assert_true(p.base[0] == t.added[0]);
	assert_true(mapped(other.base[0], CHUNK_SIZE));
	assert_false(mapped(t.added[1], CHUNK_SIZE));
	chunks_free(&p);
	chunks_free(&other);
}

static uint64_t vm_lck_kib(void)
{
	char line[256];
	unsigned long long kib = UINT64_MAX;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %llu kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib != UINT64_MAX);
	return kib;
}

static void pinned_grow_should_lock_its_chunks(void **state)
{
	struct chunk_pool p;
	uint64_t grown, before = vm_lck_kib();

	/* One chunk fits the default unprivileged RLIMIT_MEMLOCK (8 MiB). */
	chunks_init(&p, BALLOON_PINNED, NULL);
	assert_int_equal(chunks_grow(&p, CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_true(grown == CHUNK_SIZE);
	assert_true(vm_lck_kib() == before + CHUNK_SIZE / KIB);
	chunks_free(&p);
	assert_true(vm_lck_kib() == before);
}

static void reclaimable_grow_should_not_lock(void **state)
{
	struct chunk_pool p;
	uint64_t grown, before = vm_lck_kib();

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_true(vm_lck_kib() == before);
	chunks_free(&p);
}

static void failed_mlock_should_unmap_its_batch_and_report(void **state)
{
	struct fake_tenant t = { 0 };
	struct worker_tenant wt = tenant_of(&t);
	struct chunk_pool p;
	uint64_t grown = 1;

	chunks_init(&p, BALLOON_PINNED, &wt);
	mlock_fail_errno = EAGAIN;
	munmap_calls = 0;
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), -EAGAIN);
	mlock_fail_errno = 0;
	assert_true(grown == 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(t.n_added, 0);
	/* alignment trims (up to two) plus the failed batch itself */
	assert_true(munmap_calls >= 1 && munmap_calls <= 3);
	chunks_free(&p);
}

static void failed_populate_should_keep_the_batches_before_it(void **state)
{
	struct fake_tenant t = { 0 };
	struct worker_tenant wt = tenant_of(&t);
	struct chunk_pool p;
	uint64_t grown = 0;

	chunks_init(&p, BALLOON_RECLAIMABLE, &wt);
	populate_calls = 0;
	populate_fail_at = 3;
	populate_fail_errno = ENOMEM;
	assert_int_equal(chunks_grow(&p, 4 * CHUNK_BATCH, NULL, NULL, &grown), -ENOMEM);
	populate_fail_at = 0;
	assert_true(grown == 2 * CHUNK_BATCH);
	assert_true(chunks_bytes(&p) == 2 * CHUNK_BATCH);
	assert_int_equal(t.n_added, p.n);
	assert_true(chunks_resident(&p) == 2 * CHUNK_BATCH);
	/* the failed batch and the rest of the region are gone */
	assert_false(mapped((char *)p.base[p.n - 1] + CHUNK_SIZE, CHUNK_SIZE));
	assert_false(mapped((char *)p.base[p.n - 1] + CHUNK_BATCH + CHUNK_SIZE, CHUNK_SIZE));
	chunks_free(&p);
}

static void grow_should_touch_pages_when_the_kernel_lacks_populate_write(void **state)
{
	struct chunk_pool p;
	uint64_t grown = 0;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	populate_calls = 0;
	populate_fail_at = 1;
	populate_fail_errno = EINVAL;
	assert_int_equal(chunks_grow(&p, 2 * CHUNK_SIZE, NULL, NULL, &grown), 0);
	populate_fail_at = 0;
	assert_int_equal(populate_calls, 1);
	assert_true(grown == 2 * CHUNK_SIZE);
	assert_true(chunks_resident(&p) == 2 * CHUNK_SIZE);
	chunks_free(&p);
}

static void failed_mmap_should_leave_the_pool_as_it_was(void **state)
{
	struct rlimit old, low;
	struct chunk_pool p;
	uint64_t grown = 1;
	unsigned long long vm_kib = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int err;

	chunks_init(&p, BALLOON_RECLAIMABLE, NULL);
	assert_int_equal(chunks_grow(&p, CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %llu kB", &vm_kib) == 1)
			break;
	fclose(f);
	assert_true(vm_kib > 0);
	/* Too little address space left for the region: mmap itself fails with ENOMEM. */
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	low = old;
	low.rlim_cur = vm_kib * KIB + CHUNK_BATCH;
	assert_int_equal(setrlimit(RLIMIT_AS, &low), 0);
	err = chunks_grow(&p, 4 * CHUNK_BATCH, NULL, NULL, &grown);
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	assert_int_equal(err, -ENOMEM);
	assert_true(grown == 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(chunks_grow(&p, CHUNK_SIZE, NULL, NULL, &grown), 0);
	assert_int_equal(p.n, 2);
	chunks_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grow_should_add_populated_chunks_aligned_to_2_mib),
		cmocka_unit_test(grow_should_round_down_to_whole_chunks),
		cmocka_unit_test(new_chunks_should_read_as_zeros),
		cmocka_unit_test(grow_should_stop_between_batches_when_asked),
		cmocka_unit_test(shrink_without_tenant_should_release_the_most_recently_added),
		cmocka_unit_test(shrink_should_round_up_and_release_everything_for_uint64_max),
		cmocka_unit_test(shrink_should_unmap_contiguous_chunks_with_one_munmap_per_batch),
		cmocka_unit_test(tenant_should_get_every_new_chunk_and_pick_what_goes_back),
		cmocka_unit_test(shrink_should_skip_a_base_the_pool_does_not_hold),
		cmocka_unit_test(pinned_grow_should_lock_its_chunks),
		cmocka_unit_test(reclaimable_grow_should_not_lock),
		cmocka_unit_test(failed_mlock_should_unmap_its_batch_and_report),
		cmocka_unit_test(failed_populate_should_keep_the_batches_before_it),
		cmocka_unit_test(grow_should_touch_pages_when_the_kernel_lacks_populate_write),
		cmocka_unit_test(failed_mmap_should_leave_the_pool_as_it_was),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
