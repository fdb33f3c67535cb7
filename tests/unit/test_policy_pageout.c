#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"
#include "policy/pageout.h"

#define PAGE 4096u

static const char MAPS[] =
	"55d0c0000000-55d0c0002000 r--p 00000000 fe:01 131 /usr/bin/app\n"
	"55d0c0002000-55d0c0004000 r-xp 00002000 fe:01 131 /usr/bin/app\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"7f0000100000-7f0000200000 ---p 00000000 00:00 0\n"
	"7f0000300000-7f0000400000 rw-s 00000000 00:05 7 /dev/zero (deleted)\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffc000fe000-7ffc00100000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0                          [vdso]\n";

static struct pageout_area areas[16];
static int nareas;
static struct pageout_limits lim;

static int setup(void **state)
{
	nareas = pageout_parse_maps(MAPS, areas, 16);
	pageout_limits_default(&lim);
	return nareas < 0;
}

static enum usbd_reason judge1(uint64_t addr, uint64_t len, uint64_t free_bytes)
{
	struct umsg_range r = { addr, len };
	uint64_t bytes = 0;

	return pageout_judge(&r, 1, areas, (size_t)nareas, free_bytes, 128 * MIB, &lim, &bytes);
}

static void parse_maps_should_merge_adjacent_private_areas_and_skip_shared_and_special(void **state)
{
	assert_int_equal(nareas, 3);
	assert_true(areas[0].start == 0x55d0c0000000ull && areas[0].end == 0x55d0c0004000ull);
	/* the PROT_NONE part of a tracked region is still the app's own */
	assert_true(areas[1].start == 0x7f0000000000ull && areas[1].end == 0x7f0000200000ull);
	assert_true(areas[2].start == 0x7ffc00000000ull && areas[2].end == 0x7ffc00021000ull);
}

static void parse_maps_should_refuse_malformed_and_unsorted_lines(void **state)
{
	struct pageout_area a[4];

	assert_int_equal(pageout_parse_maps("7f00-7e00 rw-p 0 00:00 0\n", a, 4), -EINVAL);
	assert_int_equal(pageout_parse_maps("zzz\n", a, 4), -EINVAL);
	assert_int_equal(pageout_parse_maps("1000-2000 rw-p 0 00:00\n", a, 4), -EINVAL);
	assert_int_equal(pageout_parse_maps("3000-4000 rw-p 0 00:00 0\n1000-2000 rw-p 0 00:00 0\n", a, 4), -EINVAL);
	assert_int_equal(pageout_parse_maps("", a, 4), 0);
}

static void parse_maps_should_refuse_more_areas_than_the_caller_holds(void **state)
{
	struct pageout_area a[1];

	assert_int_equal(pageout_parse_maps("1000-2000 rw-p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n", a, 1), -E2BIG);
}

static void judge_should_honour_owned_aligned_ranges_below_the_threshold(void **state)
{
	struct umsg_range r[2] = { { 0x7f0000000000ull, 64 * PAGE }, { 0x7f00000ff000ull, 2 * PAGE } };
	uint64_t bytes = 0;

	assert_int_equal(pageout_judge(r, 2, areas, (size_t)nareas, 64 * MIB, 128 * MIB, &lim, &bytes), USBD_REASON_OK);
	assert_true(bytes == 66 * PAGE);
}

static void judge_should_refuse_at_or_above_the_threshold(void **state)
{
	assert_int_equal(judge1(0x7f0000000000ull, PAGE, 128 * MIB), USBD_REASON_ABOVE_THRESHOLD);
	assert_int_equal(judge1(0x7f0000000000ull, PAGE, GIB), USBD_REASON_ABOVE_THRESHOLD);
}

static void judge_should_refuse_memory_the_app_does_not_own_whatever_free_memory(void **state)
{
	assert_int_equal(judge1(0x7f0000200000ull, PAGE, 0), USBD_REASON_NOT_OWNED);            /* a hole */
	assert_int_equal(judge1(0x7f00001ff000ull, 2 * PAGE, 0), USBD_REASON_NOT_OWNED);        /* runs past the end */
	assert_int_equal(judge1(0x7f0000300000ull, PAGE, 0), USBD_REASON_NOT_OWNED);            /* shared */
	assert_int_equal(judge1(0x7ffc00100000ull, PAGE, 0), USBD_REASON_NOT_OWNED);            /* [vdso] */
	assert_int_equal(judge1(0xffff800000000000ull, PAGE, 0), USBD_REASON_NOT_OWNED);        /* the kernel */
	assert_int_equal(judge1(0x1000, PAGE, 0), USBD_REASON_NOT_OWNED);                       /* before all */
	assert_int_equal(judge1(0x7f0000000000ull, PAGE, GIB), USBD_REASON_ABOVE_THRESHOLD);
	assert_int_equal(judge1(0x7f0000200000ull, PAGE, GIB), USBD_REASON_NOT_OWNED);
}

static void judge_should_refuse_unaligned_empty_and_wrapping_ranges(void **state)
{
	assert_int_equal(judge1(0x7f0000000001ull, PAGE, 0), USBD_REASON_UNALIGNED);
	assert_int_equal(judge1(0x7f0000000000ull, PAGE + 1, 0), USBD_REASON_UNALIGNED);
	assert_int_equal(judge1(0x7f0000000000ull, 0, 0), USBD_REASON_UNALIGNED);
	assert_int_equal(judge1(0xfffffffffffff000ull, 2 * PAGE, 0), USBD_REASON_UNALIGNED);
}

static void judge_should_refuse_too_many_ranges_and_too_many_bytes(void **state)
{
	struct umsg_range r[UMSG_MAX_RANGES + 1];
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i <= UMSG_MAX_RANGES; i++)
		r[i] = (struct umsg_range){ 0x7f0000000000ull + i * PAGE, PAGE };
	assert_int_equal(pageout_judge(r, UMSG_MAX_RANGES + 1, areas, (size_t)nareas, 0, MIB, &lim, &bytes),
			 USBD_REASON_TOO_MANY);
	assert_int_equal(pageout_judge(r, 0, areas, (size_t)nareas, 0, MIB, &lim, &bytes), USBD_REASON_BAD_REQUEST);
	lim.max_bytes = 4 * PAGE;
	assert_int_equal(pageout_judge(r, 5, areas, (size_t)nareas, 0, MIB, &lim, &bytes), USBD_REASON_TOO_LARGE);
	assert_int_equal(pageout_judge(r, 4, areas, (size_t)nareas, 0, MIB, &lim, &bytes), USBD_REASON_OK);
	pageout_limits_default(&lim);
}

static void reasons_should_map_to_the_errnos_usbd_pageout_documents(void **state)
{
	assert_int_equal(pageout_reason_errno(USBD_REASON_OK), 0);
	assert_int_equal(pageout_reason_errno(USBD_REASON_ABOVE_THRESHOLD), -EAGAIN);
	assert_int_equal(pageout_reason_errno(USBD_REASON_NOT_OWNED), -EFAULT);
	assert_int_equal(pageout_reason_errno(USBD_REASON_UNALIGNED), -EINVAL);
	assert_int_equal(pageout_reason_errno(USBD_REASON_NOT_REGISTERED), -EPERM);
	assert_string_equal(pageout_reason_text(USBD_REASON_ABOVE_THRESHOLD), "free memory is above the threshold");
}

static void share_should_split_a_deficit_by_resident_memory(void **state)
{
	/* Two apps of 256 and 128 MiB asked for 60 MiB: 40 and 20, which is the deficit once. */
	assert_true(pageout_share(60 * MIB, 256 * MIB, 384 * MIB) == 40 * MIB);
	assert_true(pageout_share(60 * MIB, 128 * MIB, 384 * MIB) == 20 * MIB);
	/* Rounded up to a MiB: three equal apps and 10 MiB get 4 MiB each. */
	assert_true(pageout_share(10 * MIB, 100 * MIB, 300 * MIB) == 4 * MIB);
	/* A tiny app still gets a MiB; never more than the deficit. */
	assert_true(pageout_share(64 * MIB, 4096, 8 * GIB) == MIB);
	assert_true(pageout_share(KIB, 4096, 8 * GIB) == KIB);
	/* One app, racing readings, nothing read: the whole deficit. */
	assert_true(pageout_share(64 * MIB, 512 * MIB, 512 * MIB) == 64 * MIB);
	assert_true(pageout_share(64 * MIB, 600 * MIB, 512 * MIB) == 64 * MIB);
	assert_true(pageout_share(64 * MIB, 0, 0) == 64 * MIB);
	assert_true(pageout_share(0, 1, 2) == 0);
	/* No overflow at the extremes. */
	assert_true(pageout_share(UINT64_MAX / 2, UINT64_MAX / 4, UINT64_MAX / 2) <= UINT64_MAX / 2);
	assert_true(pageout_share((uint64_t)INT32_MAX * MIB, 1, 3) == UINT64_C(715827883) * MIB);
}

/* A lib_deficit.sh run where two apps paged out a 68 MiB deficit twice (167 MiB): threshold 128 MiB, free read
 * 60 MiB. The 128 MiB app paged out 39 MiB at 35.050 s, the 256 MiB app 61 MiB at 35.223 s; memory.stat showed
 * 35 MiB of it at the next round (36.1 s), which asked both again, and all of it only at 36.97 s, 2 s after its
 * flush before. */
static void free_should_count_page_outs_the_counters_do_not_show_yet(void **state)
{
	struct pageout_unseen u = { 0 };
	uint64_t t = 35000000, judged;

	assert_true(pageout_free(&u, t, 60 * MIB) == 60 * MIB);
	judged = pageout_free(&u, t + 50, 60 * MIB);
	assert_true(judged < 128 * MIB);
	pageout_unseen_add(&u, t + 50, judged, 39 * MIB);
	/* The second app's request, judged on a reading that does not show the first page-out. */
	judged = pageout_free(&u, t + 223, 60 * MIB);
	assert_true(judged == 99 * MIB);
	pageout_unseen_add(&u, t + 223, judged, 61 * MIB);
	/* The next round, on a reading that shows 35 of the 100 MiB: the deficit is covered, nobody is asked. */
	assert_true(pageout_free(&u, t + 1100, 95 * MIB) == 160 * MIB);
	assert_true(pageout_free(&u, t + 223 + PAGEOUT_UNSEEN_MS - 1, 60 * MIB) == 160 * MIB);
	/* A reading above the floor is taken as it is. */
	assert_true(pageout_free(&u, t + 2000, 170 * MIB) == 170 * MIB);
	/* Once the counters have had time to show it, the readings rule again, memory taken meanwhile included. */
	assert_true(pageout_free(&u, t + 223 + PAGEOUT_UNSEEN_MS, 100 * MIB) == 100 * MIB);
	/* A page-out after the window starts from what it was judged with, not from the old floor. */
	pageout_unseen_add(&u, t + 5000, 100 * MIB, 10 * MIB);
	assert_true(pageout_free(&u, t + 5001, 100 * MIB) == 110 * MIB);
}

static void free_should_start_from_a_higher_reading_and_never_overflow(void **state)
{
	struct pageout_unseen u = { 0 };

	/* Judged with more than the floor (memory freed meanwhile): the new floor starts there. */
	pageout_unseen_add(&u, 1000, 50 * MIB, 10 * MIB);
	pageout_unseen_add(&u, 1500, 80 * MIB, 10 * MIB);
	assert_true(pageout_free(&u, 1600, 0) == 90 * MIB);
	/* Nothing honoured yet, or nothing paged out: the reading. */
	u = (struct pageout_unseen){ 0 };
	assert_true(pageout_free(&u, 0, 7) == 7);
	pageout_unseen_add(&u, 1000, 50 * MIB, 0);
	assert_true(pageout_free(&u, 1001, 40 * MIB) == 40 * MIB);
	pageout_unseen_add(&u, UINT64_MAX - 10, UINT64_MAX - 1, 5);
	assert_true(pageout_free(&u, UINT64_MAX - 9, 0) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_maps_should_merge_adjacent_private_areas_and_skip_shared_and_special),
		cmocka_unit_test(parse_maps_should_refuse_malformed_and_unsorted_lines),
		cmocka_unit_test(parse_maps_should_refuse_more_areas_than_the_caller_holds),
		cmocka_unit_test(judge_should_honour_owned_aligned_ranges_below_the_threshold),
		cmocka_unit_test(judge_should_refuse_at_or_above_the_threshold),
		cmocka_unit_test(judge_should_refuse_memory_the_app_does_not_own_whatever_free_memory),
		cmocka_unit_test(judge_should_refuse_unaligned_empty_and_wrapping_ranges),
		cmocka_unit_test(judge_should_refuse_too_many_ranges_and_too_many_bytes),
		cmocka_unit_test(reasons_should_map_to_the_errnos_usbd_pageout_documents),
		cmocka_unit_test(share_should_split_a_deficit_by_resident_memory),
		cmocka_unit_test(free_should_count_page_outs_the_counters_do_not_show_yet),
		cmocka_unit_test(free_should_start_from_a_higher_reading_and_never_overflow),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
