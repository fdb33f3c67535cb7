/* The tracker's pure arithmetic: history, hotness score, cost budget (src/lib/track_cost.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/track_cost.h"

static void decay_should_halve_per_half_life_and_never_grow(void **state)
{
	float prev = 2.0f;

	assert_true(tc_decay(0) == 1.0f);
	assert_true(tc_decay(TC_HALF_LIFE_MS) == 0.5f);
	assert_true(tc_decay(3 * TC_HALF_LIFE_MS) == 0.125f);
	for (uint32_t ms = 0; ms < 5 * TC_HALF_LIFE_MS; ms += 997) {
		assert_true(tc_decay(ms) <= prev);
		prev = tc_decay(ms);
	}
	assert_true(tc_decay(UINT32_MAX) == 0.0f);
}

static void score_should_rank_long_idle_blocks_colder_and_frequent_faulters_hotter(void **state)
{
	struct tc_hist never = { 0, 0 }, hot = { 0, 0 }, once = { 0, 0 };

	/* hot: re-armed 8 times, faulting 10 ms after each arming; once: one fault after 5 s armed */
	for (uint32_t i = 0; i < 8; i++)
		tc_fold(&hot, i * 1000, i * 1000 + 10, (i + 1) * 1000);
	tc_fold(&once, 0, 5000, 8000);
	/* never: armed since 0; the other two re-armed at 8 s; none touched since; now 9 s */
	assert_true(tc_score(&never, 0, 9000, 511) < tc_score(&once, 8000, 9000, 511));
	assert_true(tc_score(&once, 8000, 9000, 511) < tc_score(&hot, 8000, 9000, 511));
	/* the longer a block stays untouched, the colder it looks, hot history or not */
	assert_true(tc_score(&hot, 8000, 30000, 511) < tc_score(&hot, 8000, 9000, 511));
	assert_true(tc_score(&never, 0, 60000, 511) < tc_score(&never, 0, 1000, 511));
	/* a phase long past fades: the hot block idle for a minute ranks below a block touched once lately */
	assert_true(tc_score(&hot, 8000, 68000, 511) < tc_score(&once, 67000, 68000, 511));
	assert_int_equal(tc_score(&(struct tc_hist){ 1e9f, 0 }, 0, 0, 300), 300);
}

static void budget_should_earn_its_share_pay_spending_and_cap_savings(void **state)
{
	struct tc_budget b = { .frac = 0.02, .balance_ns = 0 };
	int64_t left;

	tc_budget_update(&b, 1000000000u, 0);     /* 1 s: earns 20 ms */
	assert_int_equal(b.balance_ns, 20000000);
	left = b.balance_ns;
	assert_true(tc_budget_take(&b, &left, 15000000));
	assert_false(tc_budget_take(&b, &left, 15000000)); /* only 5 ms left this tick */
	tc_budget_update(&b, 0, 50000000);        /* 50 ms of faults: in debt */
	assert_int_equal(b.balance_ns, -30000000);
	left = b.balance_ns;
	assert_false(tc_budget_take(&b, &left, 1));
	tc_budget_update(&b, 3600000000000u, 0);  /* an hour idle saves up only TC_BALANCE_CAP_MS worth */
	assert_int_equal(b.balance_ns, (int64_t)(0.02 * TC_BALANCE_CAP_MS * 1e6));
}

static void no_budget_should_allow_everything(void **state)
{
	struct tc_budget b = { .frac = 1.0, .balance_ns = 0 };
	int64_t left = 0;

	tc_budget_update(&b, 0, UINT32_MAX);
	assert_true(tc_budget_take(&b, &left, UINT32_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decay_should_halve_per_half_life_and_never_grow),
		cmocka_unit_test(score_should_rank_long_idle_blocks_colder_and_frequent_faulters_hotter),
		cmocka_unit_test(budget_should_earn_its_share_pay_spending_and_cap_savings),
		cmocka_unit_test(no_budget_should_allow_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
