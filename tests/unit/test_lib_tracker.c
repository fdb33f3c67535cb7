/* The tracker for real: mprotect sampling and its SIGSEGV handler in this process (no root, no daemon). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/tracker.h"
#include "lib/usbd.h"

#define BLK 65536u
#define NBLK 16u

/* NBLK blocks aligned on the block grid (the mapping is one block longer and is never unmapped). */
static unsigned char *map(void)
{
	unsigned char *raw = mmap(NULL, (NBLK + 1) * BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p = (unsigned char *)(((uintptr_t)raw + BLK - 1) & ~(uintptr_t)(BLK - 1));

	assert_true(raw != MAP_FAILED);
	for (size_t i = 0; i < NBLK * BLK; i++)
		p[i] = (unsigned char)(i * 7 + 1);
	return p;
}

static void tracker_should_select_only_blocks_the_app_stopped_touching(void **state)
{
	struct usbd_tracker *t;
	struct usbd_tracker_stats st;
	struct usbd_range r[NBLK];
	unsigned char *p = map();
	volatile unsigned sum = 0;
	size_t n, i;

	assert_int_equal(usbd_tracker_new(&t, &(struct usbd_tracker_config){ .budget_permille = 1000 }), 0);
	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	/* Ticks in which only blocks 0..7 are read. */
	for (int epoch = 0; epoch < 3; epoch++) {
		assert_int_equal(usbd_tracker_tick(t), 0);
		for (i = 0; i < NBLK / 2; i++)
			sum += p[i * BLK + 5];
	}
	/* Blocks never touched are offered once the region is ranked (lib/tracker.h); blocks 0..7 are open. */
	assert_int_equal(usbd_tracker_select(t, NBLK * BLK, r, NBLK), 0);
	usleep(tracker_unranked_ms(t) * 1000u);
	assert_int_equal(tracker_unranked_ms(t), 0);
	n = usbd_tracker_select(t, NBLK * BLK, r, NBLK);
	assert_int_equal(n, 1);
	assert_ptr_equal(r[0].addr, p + NBLK / 2 * BLK);
	assert_int_equal(r[0].len, NBLK / 2 * BLK);
	usbd_tracker_stats(t, &st);
	assert_true(st.faults >= NBLK / 2);
	assert_int_equal(st.blocks, NBLK);
	assert_int_equal(st.ticks, 3);

	/* Marked out, they are not chosen again until touched. */
	usbd_tracker_mark_out(t, r, n);
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.out_bytes, NBLK / 2 * BLK);
	assert_int_equal(usbd_tracker_select(t, NBLK * BLK, r, NBLK), 0);
	p[(NBLK - 1) * BLK] = 9; /* a write, through the handler */
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.out_bytes, (NBLK / 2 - 1) * BLK);

	usbd_tracker_free(t);
	/* Memory is intact and accessible after the tracker is gone. */
	for (i = 0; i < NBLK * BLK; i++)
		if (i != (NBLK - 1) * BLK)
			assert_int_equal(p[i], (unsigned char)(i * 7 + 1));
	(void)sum;
}

static uint64_t faults_of(struct usbd_tracker *t)
{
	struct usbd_tracker_stats st;

	usbd_tracker_stats(t, &st);
	return st.faults;
}

static struct usbd_tracker *tracker(unsigned budget_permille)
{
	struct usbd_tracker *t;

	assert_int_equal(usbd_tracker_new(&t, &(struct usbd_tracker_config){ .budget_permille = budget_permille }), 0);
	return t;
}

/* With no budget, a tick re-arms every touched block: each touch after a tick faults again. */
static void tracker_without_budget_should_rearm_every_touched_block_each_tick(void **state)
{
	struct usbd_tracker *t = tracker(1000);
	struct usbd_tracker_stats st;
	unsigned char *p = map();
	volatile unsigned sum = 0;
	size_t i;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (int round = 1; round <= 3; round++) {
		for (i = 0; i < NBLK; i++)
			sum += p[i * BLK + 64];
		assert_int_equal(faults_of(t), round * NBLK);
		assert_int_equal(usbd_tracker_tick(t), 0);
	}
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.rearmed, 3 * NBLK);
	assert_int_equal(st.armed_blocks, NBLK);
	assert_true(st.fault_cost_ns >= 1000); /* calibrated at add */
	assert_true(st.cost_ns >= st.faults * st.fault_cost_ns);
	usbd_tracker_free(t);
	(void)sum;
}

/* Under a budget, ticks back to back earn next to nothing and re-arm nothing: the touched blocks stay open, and
 * touching them again costs no fault. The blocks nobody touched stay armed throughout. */
static void tracker_under_budget_should_rearm_only_what_the_budget_pays_for(void **state)
{
	struct usbd_tracker *t = tracker(1);
	struct usbd_tracker_stats st;
	unsigned char *p = map();
	volatile unsigned sum = 0;
	size_t i;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (int round = 0; round < 3; round++) {
		for (i = 0; i < NBLK / 2; i++)
			sum += p[i * BLK + 64];
		assert_int_equal(usbd_tracker_tick(t), 0);
	}
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.faults, NBLK / 2); /* the initial arming's faults put the budget in debt */
	assert_int_equal(st.rearmed, 0);
	assert_int_equal(st.armed_blocks, NBLK / 2);
	usbd_tracker_free(t);
	(void)sum;
}

/* A block that was touched and re-armed is offered only after a second untouched: a hot block, re-armed, is
 * untouched only until the app's next pass. */
static void tracker_should_offer_a_rearmed_block_only_after_a_second_untouched(void **state)
{
	struct usbd_tracker *t = tracker(1000);
	unsigned char *p = map();
	struct usbd_range r[NBLK];
	volatile unsigned sum = 0;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (size_t i = 0; i < NBLK; i++)
		sum += p[i * BLK];
	assert_int_equal(usbd_tracker_select(t, BLK, r, NBLK), 0); /* all open */
	assert_int_equal(usbd_tracker_tick(t), 0);
	assert_int_equal(usbd_tracker_select(t, BLK, r, NBLK), 0); /* all re-armed just now */
	usleep(1100 * 1000);
	assert_int_equal(usbd_tracker_select(t, BLK, r, NBLK), 1);
	usbd_tracker_free(t);
	(void)sum;
}

/* Nothing cold: with USBD_PICK_HOT the pick takes first the blocks armed lately and untouched since, then the
 * open blocks seen touched longest ago; without it, nothing. */
static void tracker_pick_hot_should_take_what_the_app_passed_last(void **state)
{
	struct usbd_tracker *t = tracker(1000);
	unsigned char *p = map();
	struct usbd_range r[NBLK];
	volatile unsigned sum = 0;
	size_t i;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (i = 0; i < NBLK; i++)
		sum += p[i * BLK];
	assert_int_equal(usbd_tracker_tick(t), 0); /* all re-armed just now: none is cold */
	for (i = 0; i < NBLK; i++) {               /* touched from 12 round to 9; 10 and 11 untouched */
		size_t j = (12 + i) % NBLK;
		if (j == 10 || j == 11)
			continue;
		usleep(2 * 1000);
		sum += p[j * BLK + 8];
	}
	assert_int_equal(usbd_tracker_select(t, 3 * BLK, r, NBLK), 0);
	assert_int_equal(usbd_tracker_pick(t, 2 * BLK, USBD_PICK_HOT, r, NBLK), 1);
	assert_ptr_equal(r[0].addr, p + 10 * BLK);
	assert_int_equal(r[0].len, 2 * BLK);
	/* then 12, 13, 14: touched first, not 9, 8, 7, touched last */
	assert_int_equal(usbd_tracker_pick(t, 5 * BLK, USBD_PICK_HOT, r, NBLK), 1);
	assert_ptr_equal(r[0].addr, p + 10 * BLK);
	assert_int_equal(r[0].len, 5 * BLK);
	usbd_tracker_free(t);
	(void)sum;
}

/* Memory in use, paged out: protected again, so the app reading it back shows it in use again (it faults once),
 * and a later pick may take it again. Unprotected it would look out forever. */
static void tracker_should_see_an_open_block_read_back_after_it_went_out(void **state)
{
	struct usbd_tracker *t = tracker(1000);
	struct usbd_tracker_stats st;
	unsigned char *p = map();
	struct usbd_range r[NBLK];
	volatile unsigned sum = 0;
	uint64_t before;
	size_t i;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (i = 0; i < NBLK; i++)
		sum += p[i * BLK]; /* every block open */
	assert_int_equal(usbd_tracker_pick(t, NBLK * BLK, USBD_PICK_HOT, r, NBLK), 1);
	usbd_tracker_mark_out(t, r, 1);
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.out_bytes, NBLK * BLK);
	assert_int_equal(usbd_tracker_pick(t, BLK, USBD_PICK_HOT, r, NBLK), 0); /* all out */
	before = faults_of(t);
	for (i = 0; i < 4; i++)
		sum += p[i * BLK + 100] + p[i * BLK + 200]; /* read back: one fault per block */
	assert_int_equal(faults_of(t), before + 4);
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.out_bytes, (NBLK - 4) * BLK);
	/* In use again, and what a pick of memory in use can take. */
	assert_int_equal(usbd_tracker_pick(t, 4 * BLK, USBD_PICK_HOT, r, NBLK), 1);
	assert_ptr_equal(r[0].addr, p);
	assert_int_equal(r[0].len, 4 * BLK);
	usbd_tracker_free(t);
	for (i = 0; i < NBLK * BLK; i++)
		assert_int_equal(p[i], (unsigned char)(i * 7 + 1));
	(void)sum;
}

static bool range_has(const struct usbd_range *r, size_t n, const void *addr)
{
	for (size_t i = 0; i < n; i++)
		if ((const char *)addr >= (const char *)r[i].addr && (const char *)addr < (const char *)r[i].addr + r[i].len)
			return true;
	return false;
}

/* A loop: what LRU pages out comes back at once, what was seen last stays out longer. After a few rounds the
 * tracker takes memory in use most recently seen first. No budget, so every tick re-arms every block (with one,
 * what a tick re-arms depends on the fault cost the tracker calibrates: 1 permille of a 300 ms round re-armed
 * all 16 at the 6-9 us a fault of a faster host, and a re-armed block untouched is cold, not in use); each round
 * then touches every block again, 0..13 before 14 and 15, so that all are in use, in that order, at the next pick. */
static void tracker_should_turn_to_mru_when_lru_victims_come_back_sooner(void **state)
{
	struct usbd_tracker *t = tracker(1000);
	unsigned char *p = map();
	struct usbd_range r[NBLK];
	volatile unsigned sum = 0;
	size_t i, n;

	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), 0);
	for (i = 0; i < NBLK; i++) {
		usleep(2 * 1000);
		sum += p[i * BLK]; /* open, seen in address order */
	}
	/* Not yet a loop: 8 blocks are 7 by LRU (0..6) and one by MRU (15), not 14 */
	n = usbd_tracker_pick(t, 8 * BLK, USBD_PICK_HOT, r, NBLK);
	assert_true(range_has(r, n, p) && range_has(r, n, p + 15 * BLK) && !range_has(r, n, p + 14 * BLK));
	for (int round = 0; round < 4; round++) {
		/* All 16: LRU takes 0..13, the MRU probe 14 and 15. LRU's come back at once, MRU's 300 ms later. */
		n = usbd_tracker_pick(t, NBLK * BLK, USBD_PICK_HOT, r, NBLK);
		usbd_tracker_mark_out(t, r, n);
		for (i = 0; i < NBLK - 2; i++)
			sum += p[i * BLK + 64];
		usleep(300 * 1000);
		sum += p[14 * BLK + 64] + p[15 * BLK + 64];
		assert_int_equal(usbd_tracker_tick(t), 0);
		for (i = 0; i < NBLK - 2; i++)
			sum += p[i * BLK + 128];
		usleep(2 * 1000);
		sum += p[14 * BLK + 128] + p[15 * BLK + 128];
	}
	/* A loop: 8 blocks are 7 by MRU (15, 14, then the ties in address order) and one by LRU */
	n = usbd_tracker_pick(t, 8 * BLK, USBD_PICK_HOT, r, NBLK);
	assert_true(range_has(r, n, p + 14 * BLK) && range_has(r, n, p + 15 * BLK));
	usbd_tracker_free(t);
	for (i = 0; i < NBLK * BLK; i++)
		assert_int_equal(p[i], (unsigned char)(i * 7 + 1));
	(void)sum;
}

static void tracker_should_refuse_a_second_tracker_and_bad_regions(void **state)
{
	struct usbd_tracker *t, *u;
	unsigned char *p = map();

	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_new(&u, NULL), -EBUSY);
	assert_int_equal(usbd_tracker_add(t, p + 1, BLK, 0), -EINVAL);
	assert_int_equal(usbd_tracker_add(t, p, 0, 0), -EINVAL);
	assert_int_equal(usbd_tracker_add(t, p, BLK, 0x80), -EINVAL);
	usbd_tracker_free(t);
	assert_int_equal(usbd_tracker_new(&u, &(struct usbd_tracker_config){ .block_bytes = 3 * 4096 }), -EINVAL);
}

static void tracker_should_use_whole_2mib_blocks_for_huge_regions(void **state)
{
	struct usbd_tracker *t;
	struct usbd_tracker_stats st;
	size_t len = 8u << 20;
	unsigned char *raw = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p = (unsigned char *)(((uintptr_t)raw + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	struct usbd_range r[4];

	assert_true(raw != MAP_FAILED);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 1, len);
	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_add(t, p, len, USBD_TRACK_HUGE), 0);
	p[0] = 2;
	assert_int_equal(usbd_tracker_tick(t), 0);
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.blocks, 4);
	usleep(tracker_unranked_ms(t) * 1000u);
	p[0] = 3; /* in use again: the front the run 1..3 is taken away from */
	assert_int_equal(usbd_tracker_select(t, 4096, r, 4), 1);
	/* blocks 1..3 are equally cold; block 3 is the farthest from the one touched */
	assert_ptr_equal(r[0].addr, p + (6u << 20));
	assert_int_equal(r[0].len, 2u << 20);
	usbd_tracker_free(t);
	assert_int_equal(p[0], 3);
	munmap(raw, len + (2u << 20));
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A region of 256 blocks whose first `early` blocks are touched at once; 2.1 s later `late` more are touched for the
 * first time; with `fold`, a tick folds each batch of touches (the tracker then counts them from its own record, not
 * from the blocks still open). Returns tracker_unranked_ms() right after, or UINT32_MAX if this thread was held up
 * so long (0.5 s) that the last touches may have left the second (a rare stall of a loaded machine: try again). */
static uint32_t unranked_after_late_first_touches(size_t early, size_t late, bool fold)
{
	const size_t nb = 256;
	struct usbd_tracker *t;
	unsigned char *raw = mmap(NULL, (nb + 1) * BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p = (unsigned char *)(((uintptr_t)raw + BLK - 1) & ~(uintptr_t)(BLK - 1));
	uint32_t wait;
	uint64_t t0;
	size_t i;

	assert_true(raw != MAP_FAILED);
	memset(p, 1, nb * BLK);
	assert_int_equal(usbd_tracker_new(&t, &(struct usbd_tracker_config){ .budget_permille = 1000 }), 0);
	assert_int_equal(usbd_tracker_add(t, p, nb * BLK, 0), 0);
	for (i = 0; i < early; i++)
		p[i * BLK] = 2;
	if (fold)
		assert_int_equal(usbd_tracker_tick(t), 0);
	usleep(2100 * 1000);
	t0 = mono_ms();
	for (i = early; i < early + late; i++)
		p[i * BLK] = 3;
	if (fold)
		assert_int_equal(usbd_tracker_tick(t), 0);
	wait = tracker_unranked_ms(t);
	if (mono_ms() - t0 > 500)
		wait = UINT32_MAX;
	usbd_tracker_free(t);
	munmap(raw, (nb + 1) * BLK);
	return wait;
}

static void tracker_should_rank_a_region_whose_first_touches_only_trickle(void **state)
{
	uint32_t w;

	for (int fold = 0; fold <= 1; fold++) {
		/* 200 blocks found long ago, 2 more just now (an 80/20 mix's cold blocks turn up one by one): ranked. */
		while ((w = unranked_after_late_first_touches(200, 2, fold)) == UINT32_MAX)
			;
		assert_int_equal(w, 0);
		/* 32 found, then 16 more within the last second (a first pass still under way): not yet. */
		while ((w = unranked_after_late_first_touches(32, 16, fold)) == UINT32_MAX)
			;
		assert_true(w > 0 && w <= TRACK_RANK_QUIET_MS);
	}
	(void)state;
}

/* MAP_NORESERVE address space: nothing is committed, and the tracker only protects it. */
static unsigned char *map_huge_space(size_t len, unsigned char **raw)
{
	*raw = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(*raw != MAP_FAILED);
	return (unsigned char *)(((uintptr_t)*raw + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
}

/* Tracks len with the defaults; its blocks must number `blocks`, and a touched block goes open as a whole. */
static void track_with_defaults(size_t len, uint64_t blocks)
{
	struct usbd_tracker *t;
	struct usbd_tracker_stats st;
	struct usbd_range r[4];
	unsigned char *raw, *p = map_huge_space(len, &raw);
	size_t block = len / blocks;

	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_add(t, p, len, 0), 0);
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.blocks, blocks);
	assert_int_equal(st.tracked_bytes, len);
	p[len / 2 + 4096] = 7; /* faults once, opens the whole block */
	p[len / 2 + block - 1] = 8;
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.armed_blocks, blocks - 1);
	/* The coldest request comes in whole blocks of the scaled size, once the region is ranked. */
	usleep(tracker_unranked_ms(t) * 1000u);
	assert_int_equal(usbd_tracker_select(t, 4096, r, 4), 1);
	assert_int_equal(r[0].len, block);
	usbd_tracker_free(t);
	assert_int_equal(p[len / 2 + 4096], 7);
	munmap(raw, len + (2u << 20));
}

static void tracker_should_track_4gib_with_the_defaults_in_128kib_blocks(void **state)
{
	track_with_defaults((size_t)4 << 30, 32768);
}

static void tracker_should_track_64gib_with_the_defaults_in_2mib_blocks(void **state)
{
	track_with_defaults((size_t)64 << 30, 32768);
}

/* A first region that takes the largest share still leaves every later region slot its reserve. */
static void tracker_should_add_15_regions_after_one_that_took_the_most(void **state)
{
	struct usbd_tracker *t;
	struct usbd_tracker_stats st;
	size_t big = (size_t)4 << 30;
	unsigned char *raw, *p = map_huge_space(big + 16 * (1u << 20), &raw);

	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_add(t, p, big, 0), 0);
	for (unsigned i = 0; i < 15; i++)
		assert_int_equal(usbd_tracker_add(t, p + big + (size_t)i * (1u << 20), 1u << 20, 0), 0);
	usbd_tracker_stats(t, &st);
	/* 1 MiB is 16 blocks of 64 KiB: the reserve keeps the default size for each. */
	assert_int_equal(st.blocks, 32768 + 15 * 16);
	assert_int_equal(usbd_tracker_add(t, p + big + (size_t)15 * (1u << 20), 1u << 20, 0), -ENOSPC);
	usbd_tracker_free(t);
	munmap(raw, big + 16 * (1u << 20) + (2u << 20));
}

/* Every code usbd_tracker_new and usbd_tracker_add return, each for its one cause; a refused region is left as
 * it was (readable, writable, untracked). */
static void tracker_add_should_return_one_code_per_cause(void **state)
{
	struct usbd_tracker *t, *u;
	struct usbd_tracker_stats st;
	unsigned char *p = map();

	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_new(&u, NULL), -EBUSY);
	assert_int_equal(usbd_tracker_add(t, p + 1, BLK, 0), -EINVAL);
	assert_int_equal(usbd_tracker_add(t, p, 0, 0), -EINVAL);
	assert_int_equal(usbd_tracker_add(t, p, BLK, 0x80), -EINVAL);
	assert_int_equal(usbd_tracker_add(t, (void *)(uintptr_t)-4096, 8192, 0), -EINVAL); /* wraps */
	/* a hole in the middle: nothing protected, not even the part before it */
	assert_int_equal(munmap(p + 8 * BLK, BLK), 0);
	assert_int_equal(usbd_tracker_add(t, p, NBLK * BLK, 0), -EFAULT);
	p[0] = 9;
	p[9 * BLK] = 9;
	assert_int_equal(usbd_tracker_add(t, p, 4 * BLK, 0), 0);
	assert_int_equal(usbd_tracker_add(t, p + 2 * BLK, 4 * BLK, 0), -EEXIST);
	assert_int_equal(usbd_tracker_add(t, p, BLK, 0), -EEXIST);
	assert_int_equal(usbd_tracker_add(t, p + 4 * BLK, 4 * BLK, 0), 0); /* adjacent is fine */
	usbd_tracker_stats(t, &st);
	assert_int_equal(st.blocks, 8);
	assert_int_equal(st.faults, 0);
	usbd_tracker_free(t);
	assert_int_equal(usbd_tracker_new(&u, &(struct usbd_tracker_config){ .block_bytes = 3 * 4096 }), -EINVAL);
	assert_int_equal(usbd_tracker_new(&u, &(struct usbd_tracker_config){ .block_bytes = 2048 }), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tracker_should_select_only_blocks_the_app_stopped_touching),
		cmocka_unit_test(tracker_without_budget_should_rearm_every_touched_block_each_tick),
		cmocka_unit_test(tracker_under_budget_should_rearm_only_what_the_budget_pays_for),
		cmocka_unit_test(tracker_should_offer_a_rearmed_block_only_after_a_second_untouched),
		cmocka_unit_test(tracker_pick_hot_should_take_what_the_app_passed_last),
		cmocka_unit_test(tracker_should_see_an_open_block_read_back_after_it_went_out),
		cmocka_unit_test(tracker_should_turn_to_mru_when_lru_victims_come_back_sooner),
		cmocka_unit_test(tracker_should_refuse_a_second_tracker_and_bad_regions),
		cmocka_unit_test(tracker_should_use_whole_2mib_blocks_for_huge_regions),
		cmocka_unit_test(tracker_should_track_4gib_with_the_defaults_in_128kib_blocks),
		cmocka_unit_test(tracker_should_track_64gib_with_the_defaults_in_2mib_blocks),
		cmocka_unit_test(tracker_should_add_15_regions_after_one_that_took_the_most),
		cmocka_unit_test(tracker_add_should_return_one_code_per_cause),
		cmocka_unit_test(tracker_should_rank_a_region_whose_first_touches_only_trickle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
