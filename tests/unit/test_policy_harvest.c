/* Unit tests of the harvester's pure decision (src/control/policy_harvest.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/size.h"
#include "policy/harvest.h"

#define TICK 100

struct fixture {
	struct harvest_params p;
	struct harvest_history h;
	struct harvest_input in;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	policy_harvest_defaults(&f.p);
	f.p.duty_percent = 100; /* no pause between steps, except in the pace test */
	f.in = (struct harvest_input){ .usage = GIB, .swap = 0, .target = 512 * MIB, .calm = true, .majfault = 0 };
	*state = &f;
	return 0;
}

/* Most tests start past the slow start (it has tests of its own), so that steps are step_max. */
static int setup_started(void **state)
{
	setup(state);
	((struct fixture *)*state)->h.started = true;
	return 0;
}

/* Ticks until `until_ms` with the current reading, failing on any step; returns the last decision. */
static struct harvest_decision tick_until(struct fixture *f, uint64_t until_ms)
{
	struct harvest_decision d = { 0 };

	for (; f->in.now_ms < until_ms; f->in.now_ms += TICK) {
		d = policy_harvest_decide(&f->in, &f->p, &f->h);
		assert_int_equal(d.step, 0);
	}
	return d;
}

/* Ticks until a step comes (at most `max_ms`), returns it. */
static uint64_t tick_to_step(struct fixture *f, uint64_t max_ms)
{
	uint64_t end = f->in.now_ms + max_ms;

	for (; f->in.now_ms < end; f->in.now_ms += TICK) {
		struct harvest_decision d = policy_harvest_decide(&f->in, &f->p, &f->h);
		if (d.step) {
			assert_int_equal(d.state, HARVEST_STEPPING);
			return d.step;
		}
	}
	fail_msg("no step within %llu ms", (unsigned long long)max_ms);
	return 0;
}

/* The executor's part: the step moved `bytes` from usage to swap and ended now. */
static void complete(struct fixture *f, uint64_t bytes)
{
	f->in.usage -= bytes;
	f->in.swap += bytes;
	policy_harvest_done(&f->h, f->in.now_ms);
}

static void decide_should_wait_a_whole_window_before_the_first_step(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d = tick_until(f, f->p.stable_window_ms);

	assert_int_equal(d.state, HARVEST_IDLE);
	assert_int_equal(tick_to_step(f, 3000), 64 * MIB);
}

static void decide_should_start_slow_and_double_the_step_after_clean_steps(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	for (uint64_t want = 8 * MIB; want <= 64 * MIB; want *= 2) {
		assert_int_equal(tick_to_step(f, 3000), want);
		f->in.now_ms += TICK;
		complete(f, 0);
	}
	assert_int_equal(tick_to_step(f, 3000), 64 * MIB);
}

static void slow_start_should_not_go_under_step_min(void **state)
{
	struct fixture *f = *state;

	f->p.step_min = 16 * MIB;
	tick_until(f, f->p.stable_window_ms);
	assert_int_equal(tick_to_step(f, 3000), 16 * MIB);
}

static void decide_should_step_when_stable_calm_and_below_target(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	assert_int_equal(tick_to_step(f, 1000), f->p.step_max);
	assert_true(f->h.in_flight);
}

static void decide_should_hold_while_a_step_is_in_flight_and_settling(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d;

	tick_until(f, f->p.stable_window_ms);
	tick_to_step(f, 1000);
	f->in.now_ms += TICK;
	d = tick_until(f, f->in.now_ms + 5000);
	assert_int_equal(d.state, HARVEST_STEPPING);
	complete(f, 64 * MIB);
	d = tick_until(f, f->in.now_ms + f->p.settle_ms);
	assert_int_equal(d.state, HARVEST_STEPPING);
	assert_int_equal(tick_to_step(f, 2 * TICK), 64 * MIB);
}

/* With a duty of 25 %, a step that took 4 s is followed by 12 s without one (settling included), then the next. */
static void decide_should_pause_after_a_step_so_that_steps_take_their_duty_share(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d;

	f->p.duty_percent = 25;
	tick_until(f, f->p.stable_window_ms);
	tick_to_step(f, 1000);
	d = tick_until(f, f->in.now_ms + 4000);
	assert_int_equal(d.state, HARVEST_STEPPING);
	complete(f, 64 * MIB);
	d = tick_until(f, f->in.now_ms + 12000);
	assert_int_equal(d.state, HARVEST_STEPPING);
	assert_int_equal(tick_to_step(f, 2 * TICK), 64 * MIB);
	/* at the target during the pause: reported as such */
	f->in.now_ms += TICK;
	complete(f, 448 * MIB);
	d = tick_until(f, f->in.now_ms + f->p.settle_ms + TICK);
	assert_int_equal(d.state, HARVEST_AT_TARGET);
}

static void decide_should_stop_at_the_target(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d;
	uint64_t steps = 0;

	tick_until(f, f->p.stable_window_ms);
	while (f->in.swap < f->in.target) {
		uint64_t step = tick_to_step(f, 3000);
		assert_true(step <= f->in.target - f->in.swap);
		complete(f, step);
		steps++;
	}
	assert_int_equal(f->in.swap, 512 * MIB);
	/* 64 MiB each while 10% of usage allows it, smaller ones as usage falls under 640 MiB. */
	assert_int_equal(steps, 9);
	d = tick_until(f, f->in.now_ms + 60000);
	assert_int_equal(d.state, HARVEST_AT_TARGET);
}

static void decide_should_count_swap_above_the_target_as_at_target(void **state)
{
	struct fixture *f = *state;

	f->in.swap = 600 * MIB;
	assert_int_equal(tick_until(f, 20000).state, HARVEST_AT_TARGET);
}

static void step_should_not_exceed_the_gap_to_the_target(void **state)
{
	struct fixture *f = *state;

	f->in.swap = 500 * MIB;
	tick_until(f, f->p.stable_window_ms);
	assert_int_equal(tick_to_step(f, 1000), 12 * MIB);
}

static void step_should_not_exceed_a_share_of_usage(void **state)
{
	struct fixture *f = *state;

	f->in.usage = 200 * MIB + 123;
	tick_until(f, f->p.stable_window_ms);
	assert_int_equal(tick_to_step(f, 1000), round_down((200 * MIB + 123) / 10, HARVEST_PAGE));
}

static void decide_should_not_step_while_the_app_grows(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d = { 0 };

	/* 40 MiB/s, well past min(2% of 1 GiB, 32 MiB) per 10 s. */
	for (; f->in.now_ms < 60000; f->in.now_ms += TICK, f->in.usage += 4 * MIB) {
		d = policy_harvest_decide(&f->in, &f->p, &f->h);
		assert_int_equal(d.step, 0);
	}
	assert_int_equal(d.state, HARVEST_GROWING);
}

static void decide_should_resume_a_window_after_growth_stops(void **state)
{
	struct fixture *f = *state;

	for (; f->in.now_ms < 30000; f->in.now_ms += TICK, f->in.usage += 4 * MIB)
		assert_int_equal(policy_harvest_decide(&f->in, &f->p, &f->h).step, 0);
	/* The last second of growth fits under the threshold: the window clears a little before it has passed. */
	assert_int_equal(tick_until(f, 30000 + f->p.stable_window_ms - 2000).state, HARVEST_GROWING);
	assert_int_equal(tick_to_step(f, 3000), 64 * MIB);
}

static void decide_should_tolerate_growth_under_the_threshold(void **state)
{
	struct fixture *f = *state;

	/* 1 MiB/s: 10 MiB per window, under 2% of 1 GiB (20 MiB). */
	for (; f->in.now_ms < 20000; f->in.now_ms += TICK, f->in.usage += 100 * KIB) {
		struct harvest_decision d = policy_harvest_decide(&f->in, &f->p, &f->h);
		if (d.step)
			return;
		assert_int_not_equal(d.state, HARVEST_GROWING);
	}
	fail_msg("slow growth blocked harvesting");
}

static void decide_should_not_take_a_step_moving_usage_to_swap_for_growth(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	for (int i = 0; i < 3; i++) {
		uint64_t step = tick_to_step(f, 3000);
		complete(f, step);
		assert_int_not_equal(tick_until(f, f->in.now_ms + TICK).state, HARVEST_GROWING);
	}
}

static void decide_should_not_step_under_pressure(void **state)
{
	struct fixture *f = *state;

	f->in.calm = false;
	assert_int_equal(tick_until(f, 30000).state, HARVEST_PRESSURE);
	f->in.calm = true;
	assert_int_equal(tick_to_step(f, 1000), 64 * MIB);
}

static void decide_should_be_idle_without_a_target(void **state)
{
	struct fixture *f = *state;

	f->in.target = 0;
	assert_int_equal(tick_until(f, 30000).state, HARVEST_IDLE);
}

/* One step that made the app fault `faults` times before it settled. */
static void step_with_faults(struct fixture *f, uint64_t faults)
{
	tick_to_step(f, 600000);
	f->in.now_ms += TICK;
	f->in.majfault += faults;
	policy_harvest_done(&f->h, f->in.now_ms);
}

static void decide_should_back_off_and_halve_the_step_when_faults_rise(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d;

	tick_until(f, f->p.stable_window_ms);
	step_with_faults(f, 10000);
	d = tick_until(f, f->in.now_ms + f->p.settle_ms + TICK);
	assert_int_equal(d.state, HARVEST_BACKOFF);
	assert_int_equal(f->h.backoffs, 1);
	d = tick_until(f, f->h.backoff_until_ms);
	assert_int_equal(d.state, HARVEST_BACKOFF);
	assert_int_equal(tick_to_step(f, 2 * TICK), 32 * MIB);
}

static void decide_should_not_back_off_for_a_few_faults(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	step_with_faults(f, 10);
	tick_until(f, f->in.now_ms + f->p.settle_ms);
	assert_int_equal(tick_to_step(f, 2 * TICK), 64 * MIB);
	assert_int_equal(f->h.backoffs, 0);
}

static void back_off_should_double_up_to_its_cap_and_step_stay_above_min(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	for (int i = 0; i < 12; i++)
		step_with_faults(f, 1000000);
	tick_until(f, f->in.now_ms + f->p.settle_ms + TICK);
	assert_int_equal(f->h.backoffs, 12);
	assert_int_equal(f->h.backoff_ms, f->p.backoff_max_ms);
	assert_int_equal(policy_harvest_step_cap(&f->h, &f->p), f->p.step_min);
}

static void step_should_recover_gradually_after_clean_steps(void **state)
{
	struct fixture *f = *state;

	tick_until(f, f->p.stable_window_ms);
	step_with_faults(f, 1000000);
	step_with_faults(f, 1000000);
	assert_int_equal(tick_to_step(f, 600000), 16 * MIB);
	f->in.now_ms += TICK;
	complete(f, 0);
	assert_int_equal(tick_to_step(f, 600000), 32 * MIB);
	f->in.now_ms += TICK;
	complete(f, 0);
	assert_int_equal(tick_to_step(f, 600000), 64 * MIB);
	assert_int_equal(f->h.backoff_ms, 0);
}

static void decide_should_survive_extreme_values(void **state)
{
	struct fixture *f = *state;
	struct harvest_decision d;

	uint64_t steps = 0;

	f->p.stable_window_ms = 1000;
	f->in = (struct harvest_input){ .now_ms = UINT64_MAX - 50 * TICK, .usage = UINT64_MAX, .swap = 0,
					.target = UINT64_MAX, .calm = true, .majfault = UINT64_MAX };
	for (int i = 0; i < 40; i++, f->in.now_ms += TICK) {
		d = policy_harvest_decide(&f->in, &f->p, &f->h);
		assert_true(d.step <= f->p.step_max);
		assert_int_equal(d.step % HARVEST_PAGE, 0);
		if (d.step) {
			steps++;
			policy_harvest_done(&f->h, f->in.now_ms);
		}
	}
	assert_true(steps > 0);
	f->h.step_start_faults = 0;
	f->h.settling = true;
	f->h.step_done_ms = 0;
	f->h.step_start_ms = f->in.now_ms;
	d = policy_harvest_decide(&f->in, &f->p, &f->h);
	assert_int_equal(d.state, HARVEST_BACKOFF);
	assert_int_equal(f->h.backoff_until_ms, UINT64_MAX);
}

static void decide_should_ignore_a_fault_counter_that_went_backwards(void **state)
{
	struct fixture *f = *state;

	f->in.majfault = 1000000;
	tick_until(f, f->p.stable_window_ms);
	tick_to_step(f, 1000);
	f->in.majfault = 0;
	complete(f, 64 * MIB);
	tick_until(f, f->in.now_ms + f->p.settle_ms);
	assert_int_equal(tick_to_step(f, 2 * TICK), 64 * MIB);
}

static void check_should_refuse_unusable_params(void **state)
{
	struct harvest_params p;

	policy_harvest_defaults(&p);
	assert_null(policy_harvest_check(&p));
	p.step_min = 1000;
	assert_non_null(strstr(policy_harvest_check(&p), "step_min"));
	policy_harvest_defaults(&p);
	p.step_max = p.step_min - HARVEST_PAGE;
	assert_non_null(strstr(policy_harvest_check(&p), "step_max"));
	policy_harvest_defaults(&p);
	p.usage_share_percent = 101;
	assert_non_null(strstr(policy_harvest_check(&p), "usage_share_percent"));
	policy_harvest_defaults(&p);
	p.stable_window_ms = 0;
	assert_non_null(strstr(policy_harvest_check(&p), "stable_window_ms"));
	policy_harvest_defaults(&p);
	p.backoff_base_ms = p.backoff_max_ms + 1;
	assert_non_null(strstr(policy_harvest_check(&p), "back-off"));
	policy_harvest_defaults(&p);
	p.duty_percent = 0;
	assert_non_null(strstr(policy_harvest_check(&p), "duty_percent"));
	p.duty_percent = 101;
	assert_non_null(strstr(policy_harvest_check(&p), "duty_percent"));
}

static void own_pressure_should_cover_a_step_and_its_grace_only(void **state)
{
	struct fixture *f = *state;
	uint64_t step, done;

	f->in.now_ms = 1000;
	assert_false(policy_harvest_own_pressure(&f->h, f->in.now_ms));  /* no step yet */
	step = tick_to_step(f, 20000);
	assert_true(step > 0);
	assert_true(policy_harvest_own_pressure(&f->h, f->in.now_ms + 60000));  /* in flight, however long */
	f->in.now_ms += 500;
	done = f->in.now_ms;
	policy_harvest_done(&f->h, done);
	assert_true(policy_harvest_own_pressure(&f->h, done + HARVEST_OWN_PRESSURE_MS));
	f->in.calm = false;  /* no next step: the grace is measured from this one */
	tick_until(f, done + HARVEST_OWN_PRESSURE_MS);  /* the step is judged meanwhile */
	assert_true(policy_harvest_own_pressure(&f->h, done + HARVEST_OWN_PRESSURE_MS));
	assert_false(policy_harvest_own_pressure(&f->h, done + HARVEST_OWN_PRESSURE_MS + 1));
}

static void state_names_should_match_the_status_words(void **state)
{
	assert_string_equal(harvest_state_name(HARVEST_IDLE), "idle");
	assert_string_equal(harvest_state_name(HARVEST_AT_TARGET), "at_target");
	assert_string_equal(harvest_state_name(HARVEST_GROWING), "growing");
	assert_string_equal(harvest_state_name(HARVEST_PRESSURE), "pressure");
	assert_string_equal(harvest_state_name(HARVEST_BACKOFF), "backoff");
	assert_string_equal(harvest_state_name(HARVEST_STEPPING), "stepping");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(decide_should_wait_a_whole_window_before_the_first_step, setup_started),
		cmocka_unit_test_setup(decide_should_start_slow_and_double_the_step_after_clean_steps, setup),
		cmocka_unit_test_setup(slow_start_should_not_go_under_step_min, setup),
		cmocka_unit_test_setup(decide_should_step_when_stable_calm_and_below_target, setup_started),
		cmocka_unit_test_setup(decide_should_hold_while_a_step_is_in_flight_and_settling, setup_started),
		cmocka_unit_test_setup(decide_should_pause_after_a_step_so_that_steps_take_their_duty_share, setup_started),
		cmocka_unit_test_setup(decide_should_stop_at_the_target, setup_started),
		cmocka_unit_test_setup(decide_should_count_swap_above_the_target_as_at_target, setup_started),
		cmocka_unit_test_setup(step_should_not_exceed_the_gap_to_the_target, setup_started),
		cmocka_unit_test_setup(step_should_not_exceed_a_share_of_usage, setup_started),
		cmocka_unit_test_setup(decide_should_not_step_while_the_app_grows, setup_started),
		cmocka_unit_test_setup(decide_should_resume_a_window_after_growth_stops, setup_started),
		cmocka_unit_test_setup(decide_should_tolerate_growth_under_the_threshold, setup_started),
		cmocka_unit_test_setup(decide_should_not_take_a_step_moving_usage_to_swap_for_growth, setup_started),
		cmocka_unit_test_setup(decide_should_not_step_under_pressure, setup_started),
		cmocka_unit_test_setup(decide_should_be_idle_without_a_target, setup_started),
		cmocka_unit_test_setup(decide_should_back_off_and_halve_the_step_when_faults_rise, setup_started),
		cmocka_unit_test_setup(decide_should_not_back_off_for_a_few_faults, setup_started),
		cmocka_unit_test_setup(back_off_should_double_up_to_its_cap_and_step_stay_above_min, setup_started),
		cmocka_unit_test_setup(step_should_recover_gradually_after_clean_steps, setup_started),
		cmocka_unit_test_setup(decide_should_survive_extreme_values, setup_started),
		cmocka_unit_test_setup(decide_should_ignore_a_fault_counter_that_went_backwards, setup_started),
		cmocka_unit_test_setup(own_pressure_should_cover_a_step_and_its_grace_only, setup_started),
		cmocka_unit_test(check_should_refuse_unusable_params),
		cmocka_unit_test(state_names_should_match_the_status_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
