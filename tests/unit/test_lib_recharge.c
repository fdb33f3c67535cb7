/* Registering after the fill: re-charging a region into fresh pages (recharge.c) and the tracker's ranking
 * (tracker.h), in this process (no root, no daemon; the cgroup side is tests/integration/lib_classic.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/recharge.h"
#include "lib/tracker.h"
#include "lib/usbd.h"

#define MIB (1u << 20)
#define LEN (6 * MIB)

/* LEN bytes at a 2 MiB boundary + 1 MiB (chunks are cut on the 2 MiB grid), every word but the last MiB written. */
static uint64_t *filled(void)
{
	char *raw = mmap(NULL, LEN + 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *p = (uint64_t *)((((uintptr_t)raw + 2 * MIB - 1) & ~(uintptr_t)(2 * MIB - 1)) + MIB);

	assert_true(raw != MAP_FAILED);
	for (size_t w = 0; w < (LEN - MIB) / 8; w++)
		p[w] = w * 2654435761u + 1;
	return p;
}

/* Every word holds what filled() wrote, but those of the page at `hole` (NULL: none). */
static void check_but(const uint64_t *p, const void *hole)
{
	for (size_t w = 0; w < LEN / 8; w++) {
		if (hole && (const char *)&p[w] >= (const char *)hole && (const char *)&p[w] < (const char *)hole + 4096)
			continue;
		if (p[w] != (w < (LEN - MIB) / 8 ? w * 2654435761u + 1 : 0))
			fail_msg("word %zu holds %llu", w, (unsigned long long)p[w]);
	}
}

static void check(const uint64_t *p) { check_but(p, NULL); }

static void recharge_should_keep_every_value_and_leave_the_range_protected(void **state)
{
	uint64_t *p = filled();
	unsigned char vec[LEN / 4096];

	assert_int_equal(mprotect(p, LEN, PROT_NONE), 0);
	assert_int_equal(recharge_range((uintptr_t)p, LEN, 2 * MIB, false), LEN);
	/* Pages never written stay unfaulted in the new mapping. */
	assert_int_equal(mincore((char *)p + LEN - MIB, MIB, vec), 0);
	for (size_t i = 0; i < MIB / 4096; i++)
		assert_int_equal(vec[i] & 1, 0);
	assert_int_equal(mprotect(p, LEN, PROT_READ | PROT_WRITE), 0);
	check(p);
}

static void recharge_should_keep_the_values_around_a_hole(void **state)
{
	uint64_t *p = filled();

	/* A hole in the second chunk: whether this kernel's mremap moves it (6.17+ moves several mappings at once) or
	 * refuses, every value around it stays where it was. */
	char *hole = (char *)p + MIB + 4096;

	assert_int_equal(mprotect(p, LEN, PROT_NONE), 0);
	assert_int_equal(munmap(hole, 4096), 0);
	assert_true(recharge_range((uintptr_t)p, LEN, 2 * MIB, false) >= LEN - 2 * MIB);
	assert_int_equal(mprotect(p, MIB + 4096, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(mprotect(hole + 4096, LEN - MIB - 8192, PROT_READ | PROT_WRITE), 0);
	check_but(p, hole);
}

/* A process that registered with its memory filled: the tracker re-charges what it adds, and holds back a touch
 * during the move; the values stay; nothing is picked until the region is ranked. */
static void tracker_should_recharge_after_registration_and_wait_to_rank(void **state)
{
	struct usbd_tracker *t;
	struct usbd_range r[8];
	uint64_t *p = filled();
	uint32_t wait;

	tracker_set_stranded(LEN);
	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_add(t, p, LEN, 0), 0);
	tracker_set_stranded(0);
	check(p); /* through the tracker's faults */
	wait = tracker_unranked_ms(t);
	assert_true(wait > 0 && wait <= TRACK_RANK_MAX_MS);
	assert_int_equal(usbd_tracker_pick(t, LEN, USBD_PICK_HOT, r, 8), 1); /* only what was seen in use */
	usleep(wait * 1000u);
	while ((wait = tracker_unranked_ms(t)) > 0)
		usleep(wait * 1000u);
	usbd_tracker_free(t);
	check(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recharge_should_keep_every_value_and_leave_the_range_protected),
		cmocka_unit_test(recharge_should_keep_the_values_around_a_hole),
		cmocka_unit_test(tracker_should_recharge_after_registration_and_wait_to_rank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
