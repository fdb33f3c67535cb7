/* policy_harvest: the harvester's pure decision (see policy/harvest.h and docs/HARVEST.md). */
#include "policy/harvest.h"

#include "common/size.h"

void policy_harvest_defaults(struct harvest_params *p)
{
	*p = (struct harvest_params){
		.step_max = 64 * MIB,
		.step_min = 1 * MIB,
		.usage_share_percent = 10,
		.stable_window_ms = 10000,
		.stable_growth_percent = 2,
		.stable_growth_max = 32 * MIB,
		.settle_ms = 1000,
		.fault_rate_max = 100,
		.backoff_base_ms = 10000,
		.backoff_max_ms = 160000,
		.duty_percent = 10,
	};
}

const char *policy_harvest_check(const struct harvest_params *p)
{
	if (!p->step_min || p->step_min % HARVEST_PAGE)
		return "harvest step_min must be a positive multiple of 4 KiB";
	if (p->step_max < p->step_min)
		return "harvest step_max must be at least step_min";
	if (!p->usage_share_percent || p->usage_share_percent > 100)
		return "harvest usage_share_percent must be 1..100";
	if (!p->stable_window_ms)
		return "harvest stable_window_ms must be positive";
	if (p->stable_growth_percent > 100)
		return "harvest stable_growth_percent must be 0..100";
	if (!p->backoff_base_ms || p->backoff_base_ms > p->backoff_max_ms)
		return "harvest back-off must have 0 < base <= max";
	if (!p->duty_percent || p->duty_percent > 100)
		return "harvest duty_percent must be 1..100";
	return NULL;
}

/* percent% of v, without overflow. */
static uint64_t percent_of(uint64_t v, uint32_t percent)
{
	return v > UINT64_MAX / 100 ? v / 100 * percent : v * percent / 100;
}

/* count events over ms milliseconds, as a rate per second, saturating. */
static uint64_t per_second(uint64_t count, uint64_t ms)
{
	if (!ms)
		ms = 1;
	if (count <= UINT64_MAX / 1000)
		return count * 1000 / ms;
	return count / ms > UINT64_MAX / 1000 ? UINT64_MAX : count / ms * 1000;
}

static const struct harvest_sample *sample_at(const struct harvest_history *h, unsigned age)
{
	return &h->samples[(h->next + HARVEST_SAMPLES - 1 - age) % HARVEST_SAMPLES];
}

/* Keeps one sample per window / (HARVEST_SAMPLES / 2): the ring always spans two windows. */
static void record(struct harvest_history *h, const struct harvest_params *p, uint64_t now, uint64_t footprint)
{
	uint64_t spacing = p->stable_window_ms / (HARVEST_SAMPLES / 2);

	if (h->nsamples && now < sat_add(sample_at(h, 0)->t_ms, spacing))
		return;
	h->samples[h->next] = (struct harvest_sample){ .t_ms = now, .footprint = footprint };
	h->next = (h->next + 1) % HARVEST_SAMPLES;
	if (h->nsamples < HARVEST_SAMPLES)
		h->nsamples++;
}

/* Is the footprint stable? *known is false until the samples span a whole window. */
static bool stable(const struct harvest_history *h, const struct harvest_params *p, uint64_t now,
		   uint64_t footprint, bool *known)
{
	uint64_t from = sat_sub(now, p->stable_window_ms), low = footprint;
	uint64_t limit = min_u64(percent_of(footprint, p->stable_growth_percent), p->stable_growth_max);

	*known = h->nsamples && sample_at(h, h->nsamples - 1)->t_ms <= from && now >= p->stable_window_ms;
	for (unsigned age = 0; age < h->nsamples && sample_at(h, age)->t_ms >= from; age++)
		low = min_u64(low, sample_at(h, age)->footprint);
	return footprint - low <= limit;
}

/* The cap shift for the slow start, or less if that would go under step_min. */
static unsigned slow_start_shift(const struct harvest_params *p)
{
	unsigned shift = 0;

	while (shift < HARVEST_SLOW_START_SHIFT && (p->step_max >> (shift + 1)) >= p->step_min)
		shift++;
	return shift;
}

/* After a step has settled: back off if the app faulted too much over it, else recover one notch. */
static void judge(struct harvest_history *h, const struct harvest_params *p, const struct harvest_input *in)
{
	uint64_t faults = sat_sub(in->majfault, h->step_start_faults);
	uint64_t rate = per_second(faults, sat_sub(in->now_ms, h->step_start_ms));

	h->settling = false;
	if (rate > p->fault_rate_max) {
		h->backoff_ms = h->backoff_ms ? min_u64(sat_add(h->backoff_ms, h->backoff_ms), p->backoff_max_ms)
					      : p->backoff_base_ms;
		h->backoff_until_ms = sat_add(in->now_ms, h->backoff_ms);
		h->backoffs++;
		if (h->step_shift < 63 && (p->step_max >> (h->step_shift + 1)) >= p->step_min)
			h->step_shift++;
		return;
	}
	if (h->step_shift)
		h->step_shift--;
	h->backoff_ms = h->backoff_ms > p->backoff_base_ms ? max_u64(h->backoff_ms / 2, p->backoff_base_ms) : 0;
}

/* When the pause after the last step ends: the step took D ms, so that steps take duty% of the time the next one
 * waits D x (100 - duty) / duty ms after it ended. */
static uint64_t pace_until(const struct harvest_history *h, const struct harvest_params *p)
{
	uint64_t d = sat_sub(h->step_done_ms, h->step_start_ms), duty = p->duty_percent ? p->duty_percent : 100;

	if (d > UINT64_MAX / 100)
		return UINT64_MAX;
	return sat_add(h->step_done_ms, d * (100 - duty) / duty);
}

uint64_t policy_harvest_step_cap(const struct harvest_history *h, const struct harvest_params *p)
{
	return max_u64(h->step_shift < 64 ? p->step_max >> h->step_shift : 0, p->step_min);
}

struct harvest_decision policy_harvest_decide(const struct harvest_input *in, const struct harvest_params *p,
					      struct harvest_history *h)
{
	struct harvest_decision d = { .state = HARVEST_STEPPING, .step = 0 };
	uint64_t footprint = sat_add(in->usage, in->swap), gap = sat_sub(in->target, in->swap), step;
	bool known, is_stable;

	if (!h->started) {
		/* A first step finds hot and cold pages alike on the inactive list: keep it small until the
		 * kernel has sorted them. */
		h->step_shift = slow_start_shift(p);
		h->started = true;
	}
	is_stable = stable(h, p, in->now_ms, footprint, &known);
	record(h, p, in->now_ms, footprint);
	if (h->in_flight)
		return d;
	if (h->settling) {
		if (in->now_ms < sat_add(h->step_done_ms, p->settle_ms))
			return d;
		judge(h, p, in);
	}
	if (!in->target)
		d.state = HARVEST_IDLE;
	else if (gap < p->step_min)
		d.state = HARVEST_AT_TARGET;
	else if (in->now_ms < h->backoff_until_ms)
		d.state = HARVEST_BACKOFF;
	else if (!in->calm)
		d.state = HARVEST_PRESSURE;
	else if (!known)
		d.state = HARVEST_IDLE;
	else if (!is_stable)
		d.state = HARVEST_GROWING;
	if (d.state != HARVEST_STEPPING || in->now_ms < pace_until(h, p))
		return d;
	step = min_u64(min_u64(policy_harvest_step_cap(h, p), gap), percent_of(in->usage, p->usage_share_percent));
	step = round_down(step, HARVEST_PAGE);
	if (step < p->step_min)
		return (struct harvest_decision){ .state = HARVEST_IDLE, .step = 0 };
	h->in_flight = true;
	h->step_start_ms = in->now_ms;
	h->step_start_faults = in->majfault;
	d.step = step;
	return d;
}

void policy_harvest_done(struct harvest_history *h, uint64_t now_ms)
{
	if (!h->in_flight)
		return;
	h->in_flight = false;
	h->settling = true;
	h->step_done_ms = now_ms;
}

bool policy_harvest_own_pressure(const struct harvest_history *h, uint64_t now_ms)
{
	bool stepped = h->settling || h->step_done_ms;  /* a step has ended (settling covers one ending at 0) */

	return h->in_flight || (stepped && now_ms <= sat_add(h->step_done_ms, HARVEST_OWN_PRESSURE_MS));
}

const char *harvest_state_name(enum harvest_state s)
{
	switch (s) {
	case HARVEST_IDLE: return "idle";
	case HARVEST_AT_TARGET: return "at_target";
	case HARVEST_GROWING: return "growing";
	case HARVEST_PRESSURE: return "pressure";
	case HARVEST_BACKOFF: return "backoff";
	case HARVEST_STEPPING: return "stepping";
	}
	return "unknown";
}
