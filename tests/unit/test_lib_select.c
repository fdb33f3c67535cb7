#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/select.h"

#define BLK 65536u
#define BASE 0x10000000u

static void blocks(struct sel_block *b, const uint16_t *scores, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (struct sel_block){ .addr = BASE + i * BLK, .len = BLK, .score = scores[i] };
}

static void pick_should_take_the_coldest_blocks_first(void **state)
{
	static const uint16_t s[] = { 0x40, 0x01, 0x00, 0x20 };
	struct sel_block b[4];
	struct usbd_range r[4];

	blocks(b, s, 4);
	assert_int_equal(sel_pick(b, 4, 2 * BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + BLK));
	assert_int_equal(r[0].len, 2 * BLK);
}

static void pick_should_never_take_busy_blocks_nor_paged_out_ones(void **state)
{
	static const uint16_t s[] = { 0x00, 0x00, 0x10, 0x00 };
	struct sel_block b[4];
	struct usbd_range r[4];

	blocks(b, s, 4);
	b[0].busy = b[1].busy = true; /* colder by score, but touched since armed */
	b[3].out = true;
	assert_int_equal(sel_pick(b, 4, 4 * BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 2 * BLK));
	assert_int_equal(r[0].len, BLK);
}

static void pick_should_prefer_the_longest_cold_run_among_equally_cold_blocks(void **state)
{
	/* equal scores: a lone block at 0, a run of three at 2..4 */
	static const uint16_t s[] = { 0x10, 0x7f, 0x10, 0x10, 0x10, 0x7f };
	struct sel_block b[6];
	struct usbd_range r[4];

	blocks(b, s, 6);
	assert_int_equal(sel_pick(b, 6, 3 * BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 2 * BLK));
	assert_int_equal(r[0].len, 3 * BLK);
}

static void pick_should_round_up_to_whole_blocks_and_merge_adjacent_ones(void **state)
{
	static const uint16_t s[] = { 0, 0, 0, 0 };
	struct sel_block b[4];
	struct usbd_range r[4];

	blocks(b, s, 4);
	assert_int_equal(sel_pick(b, 4, BLK + 1, 0, r, 4), 1);
	assert_int_equal(r[0].len, 2 * BLK);
}

static void pick_should_not_merge_blocks_that_are_not_address_contiguous(void **state)
{
	static const uint16_t s[] = { 0, 0 };
	struct sel_block b[2];
	struct usbd_range r[4];

	blocks(b, s, 2);
	b[1].addr += BLK; /* another region, a gap between */
	assert_int_equal(sel_pick(b, 2, 2 * BLK, 0, r, 4), 2);
	assert_int_equal(r[0].len, BLK);
	assert_int_equal(r[1].len, BLK);
}

static void pick_should_return_what_is_cold_when_asked_for_more_and_respect_max(void **state)
{
	static const uint16_t s[] = { 0, 0, 0, 0, 0 };
	struct sel_block b[5];
	struct usbd_range r[2];

	blocks(b, s, 5);
	b[1].busy = b[3].busy = true;
	assert_int_equal(sel_pick(b, 5, 100 * BLK, 0, r, 2), 2);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)BASE);
	assert_ptr_equal(r[1].addr, (void *)(uintptr_t)(BASE + 2 * BLK));
	assert_int_equal(sel_pick(b, 5, 0, 0, r, 2), 0);
}

static void pick_should_take_a_run_from_the_end_away_from_busy_blocks(void **state)
{
	/* a scan front: 0..1 busy, 2..5 equally cold (2 is where the scan is headed) */
	static const uint16_t s[] = { 0, 0, 0x10, 0x10, 0x10, 0x10 };
	struct sel_block b[6];
	struct usbd_range r[4];

	blocks(b, s, 6);
	b[0].busy = b[1].busy = true;
	assert_int_equal(sel_pick(b, 6, 2 * BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 4 * BLK));
	assert_int_equal(r[0].len, 2 * BLK);
	/* busy on both sides: no side to prefer, address order */
	b[5].busy = true;
	assert_int_equal(sel_pick(b, 6, BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 2 * BLK));
}

static void pick_should_take_busy_blocks_only_when_asked_and_cold_ones_run_out(void **state)
{
	/* 0..2 open, last seen touched in the order 2, 0, 1; 3 armed again 0.5 s ago, untouched since; 2 paged out;
	 * 4..5 cold */
	static const uint16_t s[] = { SEL_SCORE_MAX, SEL_SCORE_MAX, SEL_SCORE_MAX, SEL_SCORE_MAX, 0, 0 };
	static const uint32_t seen[] = { 200, 300, 100, 150, 0, 0 };
	struct sel_block b[6];
	struct usbd_range r[4];

	blocks(b, s, 6);
	for (size_t i = 0; i < 6; i++) {
		b[i].seen = seen[i];
		b[i].busy = i < 4;
		b[i].idle_ms = i == 3 ? 500 : i > 3 ? 9000 : 0;
	}
	b[2].out = true;
	/* cold first; without hot_too only the cold */
	assert_int_equal(sel_pick(b, 6, 4 * BLK, 0, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 4 * BLK));
	assert_int_equal(r[0].len, 2 * BLK);
	/* with hot_too: the block armed lately (3), then the open one seen longest ago (0; 2 is out) */
	assert_int_equal(sel_pick(b, 6, 4 * BLK, SEL_HOT, r, 4), 2);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)BASE);
	assert_int_equal(r[0].len, BLK);
	assert_ptr_equal(r[1].addr, (void *)(uintptr_t)(BASE + 3 * BLK));
	assert_int_equal(r[1].len, 3 * BLK);
	assert_false(b[1].chosen);
	/* then 1 */
	assert_int_equal(sel_pick(b, 6, 5 * BLK, SEL_HOT, r, 4), 2);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)BASE);
	assert_int_equal(r[0].len, 2 * BLK);
	/* with 3 open too, seen at 150: before 0 */
	b[3].idle_ms = 0;
	assert_int_equal(sel_pick(b, 6, 3 * BLK, SEL_HOT, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 3 * BLK));
	assert_int_equal(r[0].len, 3 * BLK);
	/* enough cold: no busy block is touched, whatever the flag */
	assert_int_equal(sel_pick(b, 6, BLK, SEL_HOT, r, 4), 1);
	assert_false(b[0].chosen || b[1].chosen || b[3].chosen);
}

/* 16 open blocks, block i seen at 10 i. */
static void open_blocks(struct sel_block *b)
{
	for (size_t i = 0; i < 16; i++)
		b[i] = (struct sel_block){ .addr = BASE + i * BLK, .len = BLK, .score = SEL_SCORE_MAX, .busy = true,
					   .seen = (uint32_t)(10 * i) };
}

static void chosen_by(const struct sel_block *b, size_t from, size_t to, uint8_t by)
{
	for (size_t i = from; i < to; i++) {
		assert_true(b[i].chosen);
		assert_int_equal(b[i].by, by);
	}
}

static void pick_should_take_memory_in_use_by_lru_or_in_a_loop_by_mru_with_an_eighth_the_other_way(void **state)
{
	struct sel_block b[16];
	struct usbd_range r[4];

	/* LRU: 7 blocks seen longest ago, 1 (an eighth) seen last */
	open_blocks(b);
	assert_int_equal(sel_pick(b, 16, 8 * BLK, SEL_HOT, r, 4), 2);
	chosen_by(b, 0, 7, SEL_BY_LRU);
	chosen_by(b, 15, 16, SEL_BY_MRU);
	for (size_t i = 7; i < 15; i++)
		assert_false(b[i].chosen);
	/* A loop: 7 seen last, 1 seen longest ago */
	assert_int_equal(sel_pick(b, 16, 8 * BLK, SEL_HOT | SEL_LOOP, r, 4), 2);
	chosen_by(b, 0, 1, SEL_BY_LRU);
	chosen_by(b, 9, 16, SEL_BY_MRU);
	for (size_t i = 1; i < 9; i++)
		assert_false(b[i].chosen);
	/* Under eight blocks, no probe: LRU alone, not a block more than asked */
	assert_int_equal(sel_pick(b, 16, 3 * BLK, SEL_HOT, r, 4), 1);
	chosen_by(b, 0, 3, SEL_BY_LRU);
	for (size_t i = 3; i < 16; i++)
		assert_false(b[i].chosen);
	/* SEL_LOOP without SEL_HOT takes no memory in use */
	assert_int_equal(sel_pick(b, 16, 8 * BLK, SEL_LOOP, r, 4), 0);
}

static void pick_should_handle_huge_blocks_whole(void **state)
{
	struct sel_block b[2] = {
		{ .addr = 0x40000000u, .len = 2u << 20, .score = 0 },
		{ .addr = 0x40200000u, .len = 2u << 20, .score = 0x04 },
	};
	struct usbd_range r[2];

	assert_int_equal(sel_pick(b, 2, 4096, 0, r, 2), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)0x40000000u);
	assert_int_equal(r[0].len, 2u << 20);
}

static void pick_should_never_take_unranked_blocks_not_even_for_memory_in_use(void **state)
{
	static const uint16_t s[] = { 0x00, 0x00, 0x00, 0x00 };
	struct sel_block b[4];
	struct usbd_range r[4];

	blocks(b, s, 4);
	/* A region just added: nothing seen touched yet but block 3, open. */
	b[0].unranked = b[1].unranked = b[2].unranked = true;
	b[3].busy = true;
	b[3].seen = 5;
	assert_int_equal(sel_pick(b, 4, 4 * BLK, 0, r, 4), 0);
	assert_int_equal(sel_pick(b, 4, 4 * BLK, SEL_HOT, r, 4), 1);
	assert_ptr_equal(r[0].addr, (void *)(uintptr_t)(BASE + 3 * BLK));
	assert_int_equal(r[0].len, BLK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pick_should_never_take_unranked_blocks_not_even_for_memory_in_use),
		cmocka_unit_test(pick_should_take_the_coldest_blocks_first),
		cmocka_unit_test(pick_should_never_take_busy_blocks_nor_paged_out_ones),
		cmocka_unit_test(pick_should_prefer_the_longest_cold_run_among_equally_cold_blocks),
		cmocka_unit_test(pick_should_round_up_to_whole_blocks_and_merge_adjacent_ones),
		cmocka_unit_test(pick_should_not_merge_blocks_that_are_not_address_contiguous),
		cmocka_unit_test(pick_should_return_what_is_cold_when_asked_for_more_and_respect_max),
		cmocka_unit_test(pick_should_take_a_run_from_the_end_away_from_busy_blocks),
		cmocka_unit_test(pick_should_take_busy_blocks_only_when_asked_and_cold_ones_run_out),
		cmocka_unit_test(pick_should_take_memory_in_use_by_lru_or_in_a_loop_by_mru_with_an_eighth_the_other_way),
		cmocka_unit_test(pick_should_handle_huge_blocks_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
