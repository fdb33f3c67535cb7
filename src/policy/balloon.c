/* policy: the balloon's pure decision function. The rules and their reasons are in docs/POLICY.md. */
#include "policy/balloon.h"

#include "common/size.h"

/*
 * A growth seen over a small part of the window is extrapolated at most this many times: a few milliseconds of
 * allocation must not be read as gigabytes per window.
 */
#define GROWTH_EXTRAPOLATION_MAX 4

void policy_defaults(struct policy_params *p, uint64_t total)
{
	uint64_t headroom = min_u64(GIB, total / 4);

	*p = (struct policy_params){
		.grab_lower = 0,
		.grab_upper = total,
		.headroom = headroom,
		.step_max = 256 * MIB,
		.burst_margin = max_u64(64 * MIB, headroom / 4),
		.medium_percent = 25,
		.cooldown_base_ms = 2000,
		.cooldown_max_ms = 60000,
		.calm_ms = 30000,
		.growth_window_ms = 5000,
		.deflate_on_oom = true,
	};
}

const char *policy_params_check(const struct policy_params *p, uint64_t total)
{
	if (p->grab_lower > p->grab_upper)
		return "grab_lower must not exceed grab_upper";
	if (p->grab_upper > total)
		return "grab_upper must not exceed the domain's total memory";
	if (p->headroom > total / 4)
		return "headroom must not exceed a quarter of the domain's total memory";
	if (p->step_max < POLICY_CHUNK)
		return "step_max must be at least one chunk (2 MiB)";
	if (p->medium_percent < 1 || p->medium_percent > 100)
		return "medium_percent must be between 1 and 100";
	if (p->cooldown_base_ms == 0)
		return "cooldown_base_ms must be positive";
	if (p->cooldown_max_ms < p->cooldown_base_ms)
		return "cooldown_max_ms must not be below cooldown_base_ms";
	if (p->calm_ms == 0)
		return "calm_ms must be positive";
	if (p->growth_window_ms == 0)
		return "growth_window_ms must be positive";
	return NULL;
}

/* a * b / c without overflow, saturating at UINT64_MAX; c > 0. */
static uint64_t mul_div_sat(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = (unsigned __int128)a * b / c;

	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static unsigned ring_index(unsigned next, unsigned back)
{
	return (next + POLICY_GROWTH_SAMPLES - 1 - back) % POLICY_GROWTH_SAMPLES;
}

/*
 * A new sample closer than this to the one before the newest overwrites the newest, so a storm of events cannot
 * squeeze the ring into a few milliseconds: every other sample is at least this far apart, and the ring spans
 * about two growth windows.
 */
static uint64_t sample_spacing(const struct policy_params *p)
{
	return p->growth_window_ms / (POLICY_GROWTH_SAMPLES / 4);
}

static void history_record(struct policy_history *h, const struct policy_params *p, uint64_t now, uint64_t usage)
{
	unsigned slot = h->next;

	if (h->nsamples >= 2) {
		uint64_t before = h->samples[ring_index(h->next, 1)].t_ms;
		if (now >= before && now - before < sample_spacing(p))
			slot = ring_index(h->next, 0);
	}
	h->samples[slot].t_ms = now;
	h->samples[slot].usage = usage;
	if (slot == h->next) {
		h->next = (h->next + 1) % POLICY_GROWTH_SAMPLES;
		if (h->nsamples < POLICY_GROWTH_SAMPLES)
			h->nsamples++;
	}
}

uint64_t policy_expected_growth(const struct policy_history *h, const struct policy_params *p, uint64_t now_ms)
{
	const struct policy_sample *newest = &h->samples[ring_index(h->next, 0)];
	uint64_t window = p->growth_window_ms, from = sat_sub(now_ms, window);
	uint64_t lowest, oldest, span;

	if (h->nsamples == 0 || window == 0 || newest->t_ms > now_ms || newest->t_ms < from)
		return 0;
	lowest = newest->usage;
	oldest = newest->t_ms;
	for (unsigned i = 1; i < h->nsamples; i++) {
		const struct policy_sample *s = &h->samples[ring_index(h->next, i)];
		if (s->t_ms < from || s->t_ms > now_ms)
			continue;
		lowest = min_u64(lowest, s->usage);
		oldest = min_u64(oldest, s->t_ms);
	}
	span = max_u64(newest->t_ms - oldest, max_u64(window / GROWTH_EXTRAPOLATION_MAX, 1));
	return mul_div_sat(newest->usage - lowest, window, span);
}

/* Calm: each calm_ms without a pressure deflation halves the cool-down, down to its base. */
static void history_calm(struct policy_history *h, const struct policy_params *p, uint64_t now)
{
	uint64_t since = max_u64(h->last_pressure_ms, h->last_calm_check_ms);

	if (h->cooldown_ms == 0 || now < since || now - since < p->calm_ms)
		return;
	h->cooldown_ms = min_u64(max_u64(h->cooldown_ms / 2, p->cooldown_base_ms), h->cooldown_ms);
	h->last_calm_check_ms = now;
	h->pressure_streak = 0;
}

/* Only ever pushes the re-inflation time later: a short wait must not cut short a longer one. */
static void history_delay_inflation(struct policy_history *h, uint64_t until)
{
	h->inflate_after_ms = max_u64(h->inflate_after_ms, until);
}

static void history_pressure(struct policy_history *h, const struct policy_params *p, uint64_t now)
{
	uint64_t next = h->cooldown_ms ? sat_add(h->cooldown_ms, h->cooldown_ms) : p->cooldown_base_ms;

	h->cooldown_ms = min_u64(next, p->cooldown_max_ms);
	history_delay_inflation(h, sat_add(now, h->cooldown_ms));
	h->last_pressure_ms = now;
	if (h->pressure_streak < UINT32_MAX)
		h->pressure_streak++;
}

static struct policy_plan plan_hold(void)
{
	return (struct policy_plan){ .action = POLICY_HOLD, .bytes = 0, .reason = POLICY_REASON_NONE };
}

/* Releases `want` rounded up to a chunk, but never more than the whole chunks the balloon holds. */
static struct policy_plan plan_deflate(uint64_t grab, uint64_t want, enum policy_reason reason)
{
	uint64_t bytes = min_u64(round_up(want, POLICY_CHUNK), round_down(grab, POLICY_CHUNK));

	if (bytes == 0)
		return plan_hold();
	return (struct policy_plan){ .action = POLICY_DEFLATE, .bytes = bytes, .reason = reason };
}

/* grab * percent / 100 without overflow (percent is capped at 100). */
static uint64_t percent_of(uint64_t grab, uint32_t percent)
{
	uint64_t pc = min_u64(percent, 100);

	return grab / 100 * pc + grab % 100 * pc / 100;
}

static enum policy_reason pressure_reason(const struct policy_snapshot *s)
{
	if (s->oom_event)
		return POLICY_REASON_OOM;
	if (s->pressure == POLICY_PRESSURE_CRITICAL)
		return POLICY_REASON_CRITICAL;
	if (s->pressure == POLICY_PRESSURE_MEDIUM)
		return POLICY_REASON_MEDIUM;
	return POLICY_REASON_NONE;
}

static uint64_t pressure_release(const struct policy_snapshot *s, const struct policy_params *p,
				 enum policy_reason reason)
{
	if (reason != POLICY_REASON_MEDIUM)
		return s->grab;
	return max_u64(percent_of(s->grab, p->medium_percent),
		       sat_add(sat_sub(p->headroom, s->free), p->burst_margin));
}

static struct policy_plan plan_inflate(const struct policy_snapshot *s, const struct policy_params *p,
				       const struct policy_history *h, uint64_t growth)
{
	uint64_t room, bytes, step;

	if (s->grab >= p->grab_lower || s->now_ms < h->inflate_after_ms || s->pressure != POLICY_PRESSURE_NONE ||
	    s->oom_event)
		return plan_hold();
	room = sat_sub(sat_sub(sat_sub(s->free, growth), p->headroom), p->burst_margin);
	/* The step limit keeps a growing app's allocations in view between steps. An app that grew nothing over the
	 * window is not outrun by one step to the room: the worker stops a grow between batches the moment a release
	 * is asked for (the usage thresholds and the reflex watch the headroom meanwhile), and saves a round trip per
	 * step_max. */
	step = growth ? p->step_max : UINT64_MAX;
	bytes = round_down(min_u64(min_u64(p->grab_lower - s->grab, room), step), POLICY_CHUNK);
	if (bytes == 0)
		return plan_hold();
	return (struct policy_plan){ .action = POLICY_INFLATE, .bytes = bytes, .reason = POLICY_REASON_LOWER };
}

/*
 * Rules 4 and 5: what the producer needs back (pressure first, then app growth), with their bookkeeping. Only when
 * the balloon is not pinned. Returns the reason and sets *want, or returns POLICY_REASON_NONE.
 */
static enum policy_reason producer_need(const struct policy_snapshot *s, const struct policy_params *p,
					struct policy_history *h, uint64_t growth, uint64_t *want)
{
	enum policy_reason reason = pressure_reason(s);

	if (!p->deflate_on_oom)
		return POLICY_REASON_NONE;
	if (reason != POLICY_REASON_NONE) {
		history_pressure(h, p, s->now_ms);
		*want = pressure_release(s, p, reason);
		return reason;
	}
	if (s->free >= p->headroom)
		return POLICY_REASON_NONE;
	history_delay_inflation(h, sat_add(s->now_ms, p->cooldown_base_ms));
	*want = sat_add(sat_add(p->headroom - s->free, p->burst_margin), growth);
	return POLICY_REASON_APP_GROWTH;
}

struct policy_plan policy_decide(const struct policy_snapshot *s, const struct policy_params *p,
				 struct policy_history *h)
{
	uint64_t growth, excess, want = 0;
	enum policy_reason reason;

	history_record(h, p, s->now_ms, s->app_usage);
	history_calm(h, p, s->now_ms);
	/* The kernel emptied part of the balloon: refilling it at once would only feed reclaim again. */
	if (s->reclaimed)
		h->inflate_after_ms = max_u64(h->inflate_after_ms,
					      sat_add(s->now_ms, max_u64(h->cooldown_ms, p->cooldown_base_ms)));
	/* The worker released on its own at the headroom's edge: an app-growth deflation in all but who made it. */
	if (s->reflexed && p->deflate_on_oom)
		history_delay_inflation(h, sat_add(s->now_ms, p->cooldown_base_ms));
	if (!s->worker_ready)
		return plan_hold();
	growth = policy_expected_growth(h, p, s->now_ms);
	reason = producer_need(s, p, h, growth, &want);
	/*
	 * The upper bound takes precedence only when it releases more: OOM and pressure are reported once, so an
	 * upper-bound deflation must not swallow them (nor their cool-down).
	 */
	excess = sat_sub(s->grab, p->grab_upper);
	if (excess > want) {
		want = excess;
		reason = POLICY_REASON_UPPER;
	}
	if (reason != POLICY_REASON_NONE)
		return plan_deflate(s->grab, want, reason);
	return plan_inflate(s, p, h, growth);
}

uint64_t policy_reflex(const struct policy_snapshot *s, const struct policy_params *p, const struct policy_history *h)
{
	if (!p->deflate_on_oom)
		return 0;
	return plan_deflate(s->grab, sat_add(p->burst_margin, policy_expected_growth(h, p, s->now_ms)),
			    POLICY_REASON_APP_GROWTH).bytes;
}

const char *policy_reason_name(enum policy_reason r)
{
	switch (r) {
	case POLICY_REASON_NONE: return "none";
	case POLICY_REASON_LOWER: return "lower";
	case POLICY_REASON_UPPER: return "upper";
	case POLICY_REASON_APP_GROWTH: return "app_growth";
	case POLICY_REASON_MEDIUM: return "medium";
	case POLICY_REASON_CRITICAL: return "critical";
	case POLICY_REASON_OOM: return "oom";
	case POLICY_REASON_RECLAIMED: return "reclaimed";
	}
	return "unknown";
}

const char *policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_HOLD: return "hold";
	case POLICY_INFLATE: return "inflate";
	case POLICY_DEFLATE: return "deflate";
	}
	return "unknown";
}
