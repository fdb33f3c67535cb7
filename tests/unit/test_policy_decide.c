#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"
#include "policy/balloon.h"

#define TICK_MS 1000

/* A fake domain the simulator applies plans to: free memory is what neither the app nor the balloon holds. */
struct world {
	uint64_t now_ms, total, app, grab;
	enum policy_pressure pressure;
	bool oom_event, worker_ready;
	struct policy_params params;
	struct policy_history history;
};

static struct world world_make(uint64_t total, uint64_t app, uint64_t lower)
{
	struct world w = { .now_ms = 100000, .total = total, .app = app, .worker_ready = true };

	policy_defaults(&w.params, total);
	w.params.grab_lower = lower;
	return w;
}

static struct policy_snapshot world_snapshot(const struct world *w)
{
	return (struct policy_snapshot){
		.now_ms = w->now_ms,
		.total = w->total,
		.free = sat_sub(w->total, sat_add(w->app, w->grab)),
		.grab = w->grab,
		.app_usage = w->app,
		.pressure = w->pressure,
		.oom_event = w->oom_event,
		.worker_ready = w->worker_ready,
	};
}

/* Every plan, whatever the input, is whole chunks and possible. */
static void assert_plan_possible(struct policy_plan plan, uint64_t grab)
{
	assert_true(plan.bytes % POLICY_CHUNK == 0);
	if (plan.action == POLICY_HOLD) {
		assert_true(plan.bytes == 0);
		assert_int_equal(plan.reason, POLICY_REASON_NONE);
	} else {
		assert_true(plan.bytes > 0);
	}
	if (plan.action == POLICY_DEFLATE)
		assert_true(plan.bytes <= grab);
}

/* One decision on the world's current state; the plan is applied, events are consumed, and time moves on. */
static struct policy_plan world_tick(struct world *w)
{
	struct policy_snapshot s = world_snapshot(w);
	struct policy_plan plan = policy_decide(&s, &w->params, &w->history);

	assert_plan_possible(plan, w->grab);
	if (plan.action == POLICY_INFLATE)
		w->grab += plan.bytes;
	else if (plan.action == POLICY_DEFLATE)
		w->grab -= plan.bytes;
	w->pressure = POLICY_PRESSURE_NONE;
	w->oom_event = false;
	w->now_ms += TICK_MS;
	return plan;
}

static void world_run(struct world *w, int ticks)
{
	for (int i = 0; i < ticks; i++)
		world_tick(w);
}

static struct policy_plan decide_once(struct world *w)
{
	struct policy_snapshot s = world_snapshot(w);
	struct policy_plan plan = policy_decide(&s, &w->params, &w->history);

	assert_plan_possible(plan, w->grab);
	return plan;
}

static void assert_plan(struct policy_plan plan, enum policy_action action, uint64_t bytes, enum policy_reason reason)
{
	assert_string_equal(policy_action_name(plan.action), policy_action_name(action));
	assert_string_equal(policy_reason_name(plan.reason), policy_reason_name(reason));
	assert_true(plan.bytes == bytes);
}

static void defaults_should_scale_headroom_and_margin_with_the_domain(void **state)
{
	struct policy_params p;

	policy_defaults(&p, 24 * GIB);
	assert_true(p.headroom == GIB);
	assert_true(p.burst_margin == 256 * MIB);
	assert_true(p.grab_lower == 0 && p.grab_upper == 24 * GIB);
	assert_true(p.step_max == 256 * MIB);
	assert_int_equal(p.medium_percent, 25);
	assert_true(p.cooldown_base_ms == 2000 && p.cooldown_max_ms == 60000 && p.calm_ms == 30000);
	assert_true(p.growth_window_ms == 5000);
	assert_true(p.deflate_on_oom);

	policy_defaults(&p, 2 * GIB);
	assert_true(p.headroom == 512 * MIB);
	assert_true(p.burst_margin == 128 * MIB);

	policy_defaults(&p, 128 * MIB);
	assert_true(p.headroom == 32 * MIB);
	assert_true(p.burst_margin == 64 * MIB);
}

static void defaults_should_pass_the_check_for_any_domain_size(void **state)
{
	static const uint64_t totals[] = { 0, 1, POLICY_CHUNK, 128 * MIB, 4 * GIB, 24 * GIB, UINT64_MAX };
	struct policy_params p;

	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		policy_defaults(&p, totals[i]);
		assert_null(policy_params_check(&p, totals[i]));
	}
}

static void assert_refused(const struct policy_params *p, uint64_t total, const char *message)
{
	const char *got = policy_params_check(p, total);

	assert_non_null(got);
	assert_string_equal(got, message);
}

static void params_check_should_name_the_offending_field(void **state)
{
	const uint64_t total = 8 * GIB;
	struct policy_params good, p;

	policy_defaults(&good, total);
	p = good;
	p.grab_lower = 2 * GIB;
	p.grab_upper = GIB;
	assert_refused(&p, total, "grab_lower must not exceed grab_upper");
	p = good;
	p.grab_upper = total + 1;
	assert_refused(&p, total, "grab_upper must not exceed the domain's total memory");
	p = good;
	p.headroom = total / 4 + 1;
	assert_refused(&p, total, "headroom must not exceed a quarter of the domain's total memory");
	p = good;
	p.step_max = POLICY_CHUNK - 1;
	assert_refused(&p, total, "step_max must be at least one chunk (2 MiB)");
	p = good;
	p.medium_percent = 0;
	assert_refused(&p, total, "medium_percent must be between 1 and 100");
	p.medium_percent = 101;
	assert_refused(&p, total, "medium_percent must be between 1 and 100");
	p = good;
	p.cooldown_base_ms = 0;
	assert_refused(&p, total, "cooldown_base_ms must be positive");
	p = good;
	p.cooldown_max_ms = p.cooldown_base_ms - 1;
	assert_refused(&p, total, "cooldown_max_ms must not be below cooldown_base_ms");
	p = good;
	p.calm_ms = 0;
	assert_refused(&p, total, "calm_ms must be positive");
	p = good;
	p.growth_window_ms = 0;
	assert_refused(&p, total, "growth_window_ms must be positive");
}

static void params_check_should_accept_every_limit_itself(void **state)
{
	const uint64_t total = 8 * GIB;
	struct policy_params p;

	policy_defaults(&p, total);
	p.grab_lower = p.grab_upper = total;
	p.headroom = total / 4;
	p.step_max = POLICY_CHUNK;
	p.medium_percent = 100;
	p.cooldown_max_ms = p.cooldown_base_ms = 1;
	assert_null(policy_params_check(&p, total));
	p.medium_percent = 1;
	assert_null(policy_params_check(&p, total));
}

static void decide_should_hold_when_the_worker_is_not_ready(void **state)
{
	struct world w = world_make(8 * GIB, 7 * GIB, 4 * GIB);

	w.grab = 4 * GIB;
	w.params.grab_upper = GIB;
	w.pressure = POLICY_PRESSURE_CRITICAL;
	w.oom_event = true;
	w.worker_ready = false;
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_int_equal(w.history.nsamples, 1);
	assert_true(w.history.samples[0].usage == 7 * GIB);
	assert_true(w.history.cooldown_ms == 0);

	w = world_make(8 * GIB, GIB, 4 * GIB);
	w.worker_ready = false;
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
}

static void decide_should_inflate_toward_lower_in_steps_no_bigger_than_step_max_while_the_app_grows(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 3 * GIB);
	int steps = 0;

	while (w.grab < w.params.grab_lower && steps < 100) {
		w.app += 4 * MIB;
		struct policy_plan plan = world_tick(&w);
		if (steps == 0) { /* one sample: no growth seen yet */
			assert_plan(plan, POLICY_INFLATE, 3 * GIB, POLICY_REASON_LOWER);
			w.grab = 0;
			steps++;
			continue;
		}
		assert_int_equal(plan.action, POLICY_INFLATE);
		assert_int_equal(plan.reason, POLICY_REASON_LOWER);
		assert_true(plan.bytes <= w.params.step_max);
		steps++;
	}
	assert_true(w.grab == 3 * GIB);
	assert_int_equal(steps, 13);

	w = world_make(8 * GIB, 2 * GIB, 3 * GIB);
	w.params.step_max = 3 * MIB;
	world_tick(&w);
	w.grab = 0;
	w.app += 4 * MIB;
	assert_plan(world_tick(&w), POLICY_INFLATE, POLICY_CHUNK, POLICY_REASON_LOWER);
}

static void decide_should_inflate_to_the_room_in_one_step_while_the_app_is_idle(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 6 * GIB);

	/* free 6 GiB - headroom 1 GiB - margin 256 MiB, in one step */
	assert_plan(world_tick(&w), POLICY_INFLATE, 6 * GIB - GIB - 256 * MIB, POLICY_REASON_LOWER);
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	/* Shrinking counts as idle too. */
	w = world_make(8 * GIB, 2 * GIB, 3 * GIB);
	world_tick(&w);
	w.grab = 0;
	w.app -= 512 * MIB;
	assert_plan(world_tick(&w), POLICY_INFLATE, 3 * GIB, POLICY_REASON_LOWER);
}

static void decide_should_never_inflate_past_lower(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, GIB + MIB);

	for (int i = 0; i < 50; i++) {
		world_tick(&w);
		assert_true(w.grab <= w.params.grab_lower);
	}
	assert_true(w.grab == GIB);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);

	w = world_make(8 * GIB, 2 * GIB, GIB);
	w.grab = GIB - POLICY_CHUNK;
	assert_plan(decide_once(&w), POLICY_INFLATE, POLICY_CHUNK, POLICY_REASON_LOWER);
	w.grab = GIB;
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
}

/* A fresh world with no balloon whose free memory is exactly `free`. */
static struct world world_with_free(uint64_t free)
{
	return world_make(8 * GIB, 8 * GIB - free, 8 * GIB);
}

static void decide_should_hold_when_free_minus_headroom_is_too_small(void **state)
{
	const uint64_t reserve = GIB + 256 * MIB; /* headroom + burst margin for 8 GiB */
	struct world w;

	w = world_with_free(reserve + POLICY_CHUNK - 1);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w = world_with_free(reserve);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w = world_with_free(GIB);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w = world_with_free(reserve + POLICY_CHUNK);
	assert_plan(decide_once(&w), POLICY_INFLATE, POLICY_CHUNK, POLICY_REASON_LOWER);
	w = world_with_free(reserve + 10 * POLICY_CHUNK + 1);
	assert_plan(decide_once(&w), POLICY_INFLATE, 10 * POLICY_CHUNK, POLICY_REASON_LOWER);
}

static void decide_should_stop_inflating_at_headroom_plus_margin(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 8 * GIB);

	world_run(&w, 100);
	assert_true(w.grab == 8 * GIB - 2 * GIB - GIB - 256 * MIB);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
}

static void decide_should_deflate_to_upper_at_once_even_when_pinned(void **state)
{
	for (int pinned = 0; pinned <= 1; pinned++) {
		struct world w = world_make(8 * GIB, GIB, 0);
		w.params.deflate_on_oom = !pinned;
		w.grab = 4 * GIB;
		w.params.grab_upper = GIB;
		assert_plan(decide_once(&w), POLICY_DEFLATE, 3 * GIB, POLICY_REASON_UPPER);

		w.params.grab_upper = GIB + MIB;
		assert_plan(world_tick(&w), POLICY_DEFLATE, 3 * GIB, POLICY_REASON_UPPER);
		assert_true(w.grab == GIB);
		assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);

		w.grab = 4 * GIB + MIB;
		w.params.grab_upper = 0;
		assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_UPPER);
	}
}

static void decide_should_still_release_everything_on_oom_above_upper(void **state)
{
	struct world w = world_make(8 * GIB, GIB, 0);

	w.grab = 4 * GIB;
	w.params.grab_upper = 3 * GIB;
	w.oom_event = true;
	assert_plan(world_tick(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_OOM);
	assert_true(w.history.cooldown_ms == w.params.cooldown_base_ms);

	w.grab = 4 * GIB;
	w.params.grab_upper = GIB;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(world_tick(&w), POLICY_DEFLATE, 3 * GIB, POLICY_REASON_UPPER);
	assert_true(w.history.cooldown_ms == 2 * w.params.cooldown_base_ms);
}

static void decide_should_release_deficit_and_margin_on_app_growth_but_not_everything(void **state)
{
	struct world w = world_make(8 * GIB, 3584 * MIB, 4 * GIB);

	w.grab = 4 * GIB; /* free: 512 MiB, half the headroom */
	assert_plan(world_tick(&w), POLICY_DEFLATE, 512 * MIB + 256 * MIB, POLICY_REASON_APP_GROWTH);
	assert_true(w.grab == 4 * GIB - 768 * MIB);
	assert_true(world_snapshot(&w).free == GIB + 256 * MIB);
	assert_true(w.history.inflate_after_ms == w.now_ms - TICK_MS + w.params.cooldown_base_ms);
	assert_true(w.history.cooldown_ms == 0);
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);

	w = world_make(8 * GIB, 7 * GIB + 512 * MIB, 0);
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
}

static void decide_should_add_the_expected_growth_when_the_app_grows(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);

	world_run(&w, 30);
	assert_true(w.grab == 4 * GIB);
	w.app = 3584 * MIB; /* 1.5 GiB in one tick: free falls to 512 MiB */
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == 0);
	assert_plan(world_tick(&w), POLICY_DEFLATE, 512 * MIB + 256 * MIB + 1536 * MIB, POLICY_REASON_APP_GROWTH);
	assert_true(w.grab > 0);
}

static void decide_should_release_a_proportion_on_medium_pressure(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);

	w.grab = 4 * GIB;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_DEFLATE, GIB, POLICY_REASON_MEDIUM);

	w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	w.grab = 4 * GIB;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	w.params.medium_percent = 30; /* 1228.8 MiB, rounded up to whole chunks */
	assert_plan(decide_once(&w), POLICY_DEFLATE, 1230 * MIB, POLICY_REASON_MEDIUM);

	/* when the headroom deficit plus margin is larger than the proportion, that is released */
	w = world_make(8 * GIB, 6 * GIB + 512 * MIB, GIB);
	w.grab = GIB;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 768 * MIB, POLICY_REASON_MEDIUM);

	w = world_make(8 * GIB, 7 * GIB, GIB);
	w.grab = 512 * MIB;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 512 * MIB, POLICY_REASON_MEDIUM);
}

static void decide_should_release_everything_on_critical_pressure_or_oom(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);

	w.grab = 4 * GIB;
	w.pressure = POLICY_PRESSURE_CRITICAL;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_CRITICAL);
	w.pressure = POLICY_PRESSURE_NONE;
	w.oom_event = true;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_OOM);
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_OOM);
}

static void decide_should_start_a_cool_down_on_pressure_even_when_empty(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	uint64_t t0 = w.now_ms;

	w.pressure = POLICY_PRESSURE_CRITICAL;
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_true(w.history.cooldown_ms == w.params.cooldown_base_ms);
	assert_true(w.history.inflate_after_ms == t0 + w.params.cooldown_base_ms);
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_int_equal(world_tick(&w).action, POLICY_INFLATE);
}

static void decide_should_ignore_pressure_and_app_growth_when_pinned(void **state)
{
	struct world w = world_make(8 * GIB, 7 * GIB, 4 * GIB);

	w.params.deflate_on_oom = false;
	w.grab = 512 * MIB; /* free: 512 MiB, under the headroom */
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w.pressure = POLICY_PRESSURE_CRITICAL;
	w.oom_event = true;
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_true(w.grab == 512 * MIB);
	assert_true(w.history.cooldown_ms == 0 && w.history.inflate_after_ms == 0);

	/* pressure still blocks inflation of a pinned balloon while it lasts, without a cool-down */
	w = world_make(8 * GIB, GIB, 4 * GIB);
	w.params.deflate_on_oom = false;
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w.oom_event = true;
	assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_int_equal(world_tick(&w).action, POLICY_INFLATE);
}

static void cool_down_should_block_reinflation_until_it_ends(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	uint64_t t0;

	world_run(&w, 30);
	assert_true(w.grab == 4 * GIB);
	t0 = w.now_ms;
	w.pressure = POLICY_PRESSURE_CRITICAL;
	assert_plan(world_tick(&w), POLICY_DEFLATE, 4 * GIB, POLICY_REASON_CRITICAL);
	assert_true(w.history.inflate_after_ms == t0 + w.params.cooldown_base_ms);
	while (w.now_ms < w.history.inflate_after_ms)
		assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_plan(world_tick(&w), POLICY_INFLATE, 4 * GIB, POLICY_REASON_LOWER); /* the app is idle: one step */
}

static void cool_down_should_double_on_repeated_pressure_up_to_the_cap(void **state)
{
	static const uint64_t expected[] = { 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000 };
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);

	for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		uint64_t now = w.now_ms;
		w.grab = 4 * GIB;
		w.pressure = i % 2 ? POLICY_PRESSURE_MEDIUM : POLICY_PRESSURE_CRITICAL;
		assert_int_equal(world_tick(&w).action, POLICY_DEFLATE);
		assert_true(w.history.cooldown_ms == expected[i]);
		assert_true(w.history.inflate_after_ms == now + expected[i]);
		assert_true(w.history.last_pressure_ms == now);
		assert_int_equal(w.history.pressure_streak, i + 1);
	}
}

static void cool_down_should_halve_once_per_calm_period_down_to_its_base(void **state)
{
	static const uint64_t expected[] = { 30000, 15000, 7500, 3750, 2000, 2000 };
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	uint64_t last_pressure;

	for (int i = 0; i < 6; i++) {
		w.pressure = POLICY_PRESSURE_CRITICAL;
		world_tick(&w);
	}
	assert_true(w.history.cooldown_ms == 60000);
	last_pressure = w.history.last_pressure_ms;
	for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		uint64_t calm_at = last_pressure + (i + 1) * w.params.calm_ms;
		while (w.now_ms < calm_at) {
			uint64_t before = w.history.cooldown_ms;
			world_tick(&w);
			assert_true(w.history.cooldown_ms == before);
		}
		world_tick(&w);
		assert_true(w.history.cooldown_ms == expected[i]);
		assert_int_equal(w.history.pressure_streak, 0);
	}
	w.pressure = POLICY_PRESSURE_CRITICAL;
	world_tick(&w);
	assert_true(w.history.cooldown_ms == 4000);
}

static void app_growth_should_not_shorten_a_pressure_cool_down(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	uint64_t until;

	for (int i = 0; i < 4; i++) {
		w.pressure = POLICY_PRESSURE_CRITICAL;
		world_tick(&w);
	}
	until = w.history.inflate_after_ms;
	w.grab = 2 * GIB;
	w.app = 5 * GIB; /* free: 1 GiB - 1 chunk */
	w.app += POLICY_CHUNK;
	assert_int_equal(world_tick(&w).reason, POLICY_REASON_APP_GROWTH);
	assert_true(w.history.inflate_after_ms == until);
}

/* Runs `ticks` seconds of a world hit by pressure every 15 s; counts the balloon's full-to-empty swings. */
static int swings_under_alternating_pressure(struct world *w, int ticks)
{
	static const enum policy_pressure kinds[] = { POLICY_PRESSURE_CRITICAL, POLICY_PRESSURE_MEDIUM,
						      POLICY_PRESSURE_NONE };
	int swings = 0, event = 0;
	bool was_full = false;

	for (int t = 0; t < ticks; t++) {
		if (t % 15 == 0) {
			w->pressure = kinds[event % 3];
			w->oom_event = kinds[event % 3] == POLICY_PRESSURE_NONE;
			event++;
		}
		world_tick(w);
		if (w->grab >= w->params.grab_lower)
			was_full = true;
		if (was_full && w->grab == 0) {
			swings++;
			was_full = false;
		}
	}
	return swings;
}

static void alternating_pressure_should_not_swing_the_balloon_between_full_and_empty(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 2 * GIB);
	struct world fixed = w;
	int swings, fixed_swings;

	/* the same world with a cool-down that cannot grow shows the scenario does provoke oscillation */
	fixed.params.cooldown_max_ms = fixed.params.cooldown_base_ms;
	fixed_swings = swings_under_alternating_pressure(&fixed, 600);
	assert_true(fixed_swings >= 20);

	swings = swings_under_alternating_pressure(&w, 600);
	assert_true(swings >= 1);
	assert_true(swings <= 4);
	assert_true(w.history.cooldown_ms == w.params.cooldown_max_ms);

	/* after the pressure stops, calm lets the balloon fill again */
	world_run(&w, 120);
	assert_true(w.grab == w.params.grab_lower);
	assert_true(w.history.cooldown_ms < w.params.cooldown_max_ms);
}

/* Feeds usage samples, one per tick, through decisions that cannot act (the worker is not ready). */
static void feed_usage(struct world *w, const uint64_t *usage, size_t n, uint64_t step_ms)
{
	w->worker_ready = false;
	for (size_t i = 0; i < n; i++) {
		w->app = usage[i];
		decide_once(w);
		w->now_ms += step_ms;
	}
	w->now_ms -= step_ms;
	w->worker_ready = true;
}

static void expected_growth_should_extrapolate_recent_samples_to_one_window(void **state)
{
	struct world w = world_make(8 * GIB, 0, 0);
	const struct policy_params *p = &w.params;
	uint64_t usage[10];

	assert_true(policy_expected_growth(&w.history, p, w.now_ms) == 0);

	for (int i = 0; i < 10; i++)
		usage[i] = GIB + (uint64_t)i * 100 * MIB;
	feed_usage(&w, usage, 10, 1000);
	assert_true(policy_expected_growth(&w.history, p, w.now_ms) == 500 * MIB);

	/* samples over less than a window are extrapolated, at most four times */
	w = world_make(8 * GIB, 0, 0);
	feed_usage(&w, usage, 2, 2000);
	assert_true(policy_expected_growth(&w.history, p, w.now_ms) == 250 * MIB);
	w = world_make(8 * GIB, 0, 0);
	feed_usage(&w, usage, 2, 1);
	assert_true(policy_expected_growth(&w.history, p, w.now_ms) == 400 * MIB);
}

static void expected_growth_should_ignore_shrinking_old_and_stale_samples(void **state)
{
	static const uint64_t shrinking[] = { 3 * GIB, 2 * GIB, GIB };
	static const uint64_t grew_then_stable[] = { 2 * GIB, 2 * GIB, 2 * GIB, 3 * GIB, 3 * GIB, 3 * GIB };
	struct world w = world_make(8 * GIB, 0, 0);

	feed_usage(&w, shrinking, 3, 1000);
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == 0);

	w = world_make(8 * GIB, 0, 0);
	feed_usage(&w, grew_then_stable, 6, 1000);
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == GIB);
	/* the 2 GiB samples have left the window; the newest is still in it */
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms + 3000) == 0);
	/* the newest has left it too: nothing is known about the app now */
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms + 10000) == 0);
}

static void expected_growth_should_survive_a_storm_of_events(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 0);
	uint64_t growth;

	/* 100 MiB/s for 10 s, one decision per millisecond: the ring must still see the whole window */
	w.worker_ready = false;
	for (int ms = 0; ms <= 10000; ms++) {
		w.app = 2 * GIB + (uint64_t)ms * 100 * MIB / 1000;
		decide_once(&w);
		w.now_ms++;
	}
	w.now_ms--;
	growth = policy_expected_growth(&w.history, &w.params, w.now_ms);
	assert_true(growth >= 450 * MIB);
	assert_true(growth <= 550 * MIB);
}

static void decide_should_keep_the_expected_growth_free_when_inflating(void **state)
{
	struct world w = world_make(8 * GIB, 0, 0);
	uint64_t usage[7];

	for (int i = 0; i < 7; i++)
		usage[i] = 2 * GIB + (uint64_t)i * 100 * MIB;
	feed_usage(&w, usage, 7, 1000);
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == 500 * MIB);
	w.params.grab_lower = 8 * GIB;
	w.params.step_max = 8 * GIB;
	/* free 5544 MiB - growth 500 - headroom 1024 - margin 256 */
	assert_plan(decide_once(&w), POLICY_INFLATE, 3764 * MIB, POLICY_REASON_LOWER);
}

static void decide_should_not_wrap_near_uint64_max(void **state)
{
	const uint64_t all = round_down(UINT64_MAX, POLICY_CHUNK);
	struct world w = world_make(UINT64_MAX, 0, UINT64_MAX);

	assert_plan(decide_once(&w), POLICY_INFLATE, all - GIB - 256 * MIB, POLICY_REASON_LOWER);

	w.grab = UINT64_MAX;
	w.params.grab_upper = 0;
	assert_plan(decide_once(&w), POLICY_DEFLATE, all, POLICY_REASON_UPPER);
	w.params.grab_upper = UINT64_MAX;
	w.pressure = POLICY_PRESSURE_CRITICAL;
	assert_plan(decide_once(&w), POLICY_DEFLATE, all, POLICY_REASON_CRITICAL);
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_DEFLATE, UINT64_C(1) << 62, POLICY_REASON_MEDIUM);
	w.params.medium_percent = 100;
	assert_plan(decide_once(&w), POLICY_DEFLATE, all, POLICY_REASON_MEDIUM);
	w.pressure = POLICY_PRESSURE_NONE;
	w.params.headroom = UINT64_MAX;
	w.params.burst_margin = UINT64_MAX;
	assert_plan(decide_once(&w), POLICY_DEFLATE, all, POLICY_REASON_APP_GROWTH);

	/* a growth from 0 to everything in a millisecond saturates instead of wrapping */
	w = world_make(UINT64_MAX, 0, UINT64_MAX);
	w.now_ms = UINT64_MAX - 1;
	decide_once(&w);
	w.now_ms++;
	w.app = UINT64_MAX;
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == 0);
	w.grab = GIB;
	w.params.headroom = GIB;
	w.oom_event = true;
	assert_plan(decide_once(&w), POLICY_DEFLATE, GIB, POLICY_REASON_OOM);
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == UINT64_MAX);
	assert_true(w.history.inflate_after_ms == UINT64_MAX);
	w.oom_event = false;
	assert_plan(decide_once(&w), POLICY_DEFLATE, GIB, POLICY_REASON_APP_GROWTH);
}

static void decide_should_cope_with_an_empty_domain(void **state)
{
	struct world w = world_make(0, 0, 0);

	assert_null(policy_params_check(&w.params, 0));
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w.pressure = POLICY_PRESSURE_MEDIUM;
	assert_plan(decide_once(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	w.grab = 4 * MIB;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * MIB, POLICY_REASON_MEDIUM);
	w.pressure = POLICY_PRESSURE_NONE;
	assert_plan(decide_once(&w), POLICY_DEFLATE, 4 * MIB, POLICY_REASON_UPPER);
	w.params.growth_window_ms = 0;
	w.params.calm_ms = 0;
	w.params.medium_percent = 0;
	world_run(&w, 3);
	assert_true(policy_expected_growth(&w.history, &w.params, w.now_ms) == 0);
}

/* xorshift64: a fixed sequence, so a failure is reproducible */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Sizes spread over every magnitude, with the edges (0, one chunk, UINT64_MAX) often. */
static uint64_t random_size(uint64_t *x)
{
	uint64_t r = next_random(x);

	switch (r % 8) {
	case 0: return 0;
	case 1: return UINT64_MAX - r % 3;
	case 2: return POLICY_CHUNK + r % 3 - 1;
	default: return next_random(x) >> (r >> 8) % 64;
	}
}

static void decide_should_always_plan_whole_chunks_within_bounds(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15;
	struct policy_history h = { 0 };

	for (int i = 0; i < 200000; i++) {
		struct policy_params p;
		struct policy_snapshot s = {
			.now_ms = random_size(&x), .total = random_size(&x), .free = random_size(&x),
			.grab = random_size(&x), .app_usage = random_size(&x),
			.pressure = (enum policy_pressure)(next_random(&x) % 3), .oom_event = next_random(&x) % 4 == 0,
			.worker_ready = next_random(&x) % 8 != 0,
		};
		policy_defaults(&p, s.total);
		p.grab_lower = random_size(&x);
		p.grab_upper = random_size(&x);
		p.headroom = random_size(&x);
		p.step_max = random_size(&x);
		p.burst_margin = random_size(&x);
		p.medium_percent = (uint32_t)(next_random(&x) % 120);
		p.deflate_on_oom = next_random(&x) % 4 != 0;
		if (i % 1000 == 0)
			h = (struct policy_history){ 0 };

		struct policy_plan plan = policy_decide(&s, &p, &h);
		assert_plan_possible(plan, s.grab);
		if (plan.action == POLICY_INFLATE) {
			assert_true(s.grab + plan.bytes <= p.grab_lower);
			if (policy_expected_growth(&h, &p, s.now_ms))
				assert_true(plan.bytes <= p.step_max);
			assert_true(plan.bytes <= sat_sub(sat_sub(s.free, p.headroom), p.burst_margin));
		}
		if (plan.action == POLICY_DEFLATE && !p.deflate_on_oom)
			assert_int_equal(plan.reason, POLICY_REASON_UPPER);
		assert_true(h.nsamples <= POLICY_GROWTH_SAMPLES && h.next < POLICY_GROWTH_SAMPLES);
	}
}

/* The reflex: what the worker releases on its own when free memory falls to the headroom. */
static void reflex_should_be_the_margin_plus_the_expected_growth(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	struct policy_snapshot s;

	world_run(&w, 30);
	assert_true(w.grab == 4 * GIB);
	s = world_snapshot(&w);
	assert_true(policy_reflex(&s, &w.params, &w.history) == w.params.burst_margin);
	/* The app grows 100 MiB a tick: the reflex adds the growth the decision would expect. */
	for (int i = 0; i < 5; i++) {
		w.app += 100 * MIB;
		world_tick(&w);
	}
	s = world_snapshot(&w);
	assert_true(policy_expected_growth(&w.history, &w.params, s.now_ms) > 0);
	assert_true(policy_reflex(&s, &w.params, &w.history) ==
		    round_up(w.params.burst_margin + policy_expected_growth(&w.history, &w.params, s.now_ms),
			     POLICY_CHUNK));
}

static void reflex_should_be_zero_when_pinned_or_empty_and_never_exceed_the_grab(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	struct policy_snapshot s;

	s = world_snapshot(&w);
	assert_true(policy_reflex(&s, &w.params, &w.history) == 0); /* nothing held */
	w.grab = 3 * POLICY_CHUNK + 4096;
	s = world_snapshot(&w);
	assert_true(policy_reflex(&s, &w.params, &w.history) == 3 * POLICY_CHUNK);
	w.grab = 4 * GIB;
	w.params.deflate_on_oom = false;
	s = world_snapshot(&w);
	assert_true(policy_reflex(&s, &w.params, &w.history) == 0);
}

/* Whatever the world, the reflex releases no more than the decision at the edge would, and that decision releases at
 * least the reflex: the controller's own release after it is never less than it decides. */
static void reflex_should_never_exceed_the_decision_just_past_the_edge(void **state)
{
	const uint64_t apps[] = { 0, 512 * MIB, 2 * GIB, 5 * GIB };
	const uint64_t grabs[] = { POLICY_CHUNK, 100 * MIB, GIB, 4 * GIB };

	for (size_t a = 0; a < sizeof(apps) / sizeof(apps[0]); a++) {
		for (size_t g = 0; g < sizeof(grabs) / sizeof(grabs[0]); g++) {
			struct world w = world_make(8 * GIB, apps[a], 4 * GIB);
			struct policy_history h;
			struct policy_snapshot s;
			uint64_t reflex;

			world_run(&w, 5);
			w.grab = grabs[g];
			s = world_snapshot(&w);
			reflex = policy_reflex(&s, &w.params, &w.history);
			/* just past the edge: free a page under the headroom */
			s.free = w.params.headroom - 4096;
			h = w.history;
			struct policy_plan plan = policy_decide(&s, &w.params, &h);
			if (!reflex)
				continue;
			assert_int_equal(plan.action, POLICY_DEFLATE);
			assert_true(plan.bytes >= reflex);
		}
	}
}

static void reflexed_should_delay_reinflation_like_app_growth(void **state)
{
	struct world w = world_make(8 * GIB, 2 * GIB, 4 * GIB);
	struct policy_snapshot s;
	struct policy_plan plan;
	uint64_t t0;

	world_run(&w, 30);
	w.grab -= 256 * MIB; /* the reflex released */
	s = world_snapshot(&w);
	s.reflexed = true;
	t0 = s.now_ms;
	plan = policy_decide(&s, &w.params, &w.history);
	assert_plan(plan, POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_true(w.history.inflate_after_ms == t0 + w.params.cooldown_base_ms);
	assert_true(w.history.cooldown_ms == 0); /* not pressure: the cool-down does not grow */
	w.now_ms += TICK_MS;
	while (w.now_ms < w.history.inflate_after_ms)
		assert_plan(world_tick(&w), POLICY_HOLD, 0, POLICY_REASON_NONE);
	assert_plan(world_tick(&w), POLICY_INFLATE, 256 * MIB, POLICY_REASON_LOWER);
}

static void names_should_be_stable_words(void **state)
{
	assert_string_equal(policy_action_name(POLICY_HOLD), "hold");
	assert_string_equal(policy_action_name(POLICY_INFLATE), "inflate");
	assert_string_equal(policy_action_name(POLICY_DEFLATE), "deflate");
	assert_string_equal(policy_action_name((enum policy_action)42), "unknown");
	assert_string_equal(policy_reason_name(POLICY_REASON_NONE), "none");
	assert_string_equal(policy_reason_name(POLICY_REASON_LOWER), "lower");
	assert_string_equal(policy_reason_name(POLICY_REASON_UPPER), "upper");
	assert_string_equal(policy_reason_name(POLICY_REASON_APP_GROWTH), "app_growth");
	assert_string_equal(policy_reason_name(POLICY_REASON_MEDIUM), "medium");
	assert_string_equal(policy_reason_name(POLICY_REASON_CRITICAL), "critical");
	assert_string_equal(policy_reason_name(POLICY_REASON_OOM), "oom");
	assert_string_equal(policy_reason_name(POLICY_REASON_RECLAIMED), "reclaimed");
	assert_string_equal(policy_reason_name((enum policy_reason)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_should_scale_headroom_and_margin_with_the_domain),
		cmocka_unit_test(defaults_should_pass_the_check_for_any_domain_size),
		cmocka_unit_test(params_check_should_name_the_offending_field),
		cmocka_unit_test(params_check_should_accept_every_limit_itself),
		cmocka_unit_test(decide_should_hold_when_the_worker_is_not_ready),
		cmocka_unit_test(decide_should_inflate_toward_lower_in_steps_no_bigger_than_step_max_while_the_app_grows),
		cmocka_unit_test(decide_should_inflate_to_the_room_in_one_step_while_the_app_is_idle),
		cmocka_unit_test(decide_should_never_inflate_past_lower),
		cmocka_unit_test(decide_should_hold_when_free_minus_headroom_is_too_small),
		cmocka_unit_test(decide_should_stop_inflating_at_headroom_plus_margin),
		cmocka_unit_test(decide_should_deflate_to_upper_at_once_even_when_pinned),
		cmocka_unit_test(decide_should_still_release_everything_on_oom_above_upper),
		cmocka_unit_test(decide_should_release_deficit_and_margin_on_app_growth_but_not_everything),
		cmocka_unit_test(decide_should_add_the_expected_growth_when_the_app_grows),
		cmocka_unit_test(decide_should_release_a_proportion_on_medium_pressure),
		cmocka_unit_test(decide_should_release_everything_on_critical_pressure_or_oom),
		cmocka_unit_test(decide_should_start_a_cool_down_on_pressure_even_when_empty),
		cmocka_unit_test(decide_should_ignore_pressure_and_app_growth_when_pinned),
		cmocka_unit_test(cool_down_should_block_reinflation_until_it_ends),
		cmocka_unit_test(cool_down_should_double_on_repeated_pressure_up_to_the_cap),
		cmocka_unit_test(cool_down_should_halve_once_per_calm_period_down_to_its_base),
		cmocka_unit_test(app_growth_should_not_shorten_a_pressure_cool_down),
		cmocka_unit_test(alternating_pressure_should_not_swing_the_balloon_between_full_and_empty),
		cmocka_unit_test(reflex_should_be_the_margin_plus_the_expected_growth),
		cmocka_unit_test(reflex_should_be_zero_when_pinned_or_empty_and_never_exceed_the_grab),
		cmocka_unit_test(reflex_should_never_exceed_the_decision_just_past_the_edge),
		cmocka_unit_test(reflexed_should_delay_reinflation_like_app_growth),
		cmocka_unit_test(expected_growth_should_extrapolate_recent_samples_to_one_window),
		cmocka_unit_test(expected_growth_should_ignore_shrinking_old_and_stale_samples),
		cmocka_unit_test(expected_growth_should_survive_a_storm_of_events),
		cmocka_unit_test(decide_should_keep_the_expected_growth_free_when_inflating),
		cmocka_unit_test(decide_should_not_wrap_near_uint64_max),
		cmocka_unit_test(decide_should_cope_with_an_empty_domain),
		cmocka_unit_test(decide_should_always_plan_whole_chunks_within_bounds),
		cmocka_unit_test(names_should_be_stable_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
