#include "lib/track_cost.h"

float tc_decay(uint32_t dt_ms)
{
	uint32_t halvings = dt_ms / TC_HALF_LIFE_MS;
	float frac = (float)(dt_ms % TC_HALF_LIFE_MS) / (float)TC_HALF_LIFE_MS;

	if (halvings >= 30)
		return 0.0f;
	return (1.0f - frac / 2.0f) / (float)(1u << halvings);
}

void tc_fold(struct tc_hist *h, uint32_t armed_ms, uint32_t seen_ms, uint32_t now_ms)
{
	float d = tc_decay(now_ms - armed_ms);
	uint32_t until = seen_ms - armed_ms <= now_ms - armed_ms ? seen_ms - armed_ms : 0; /* a stale seen: 0 */

	h->k = h->k * d + 1.0f;
	h->secs = h->secs * d + (float)until / 1000.0f;
}

/* 32 x log2(x) for x >= 1, piecewise linear between powers of two: monotonic, which is all ranking needs. */
static float log2_32(float x)
{
	unsigned e = 0;

	while (x >= 2.0f && e < 64) {
		x /= 2.0f;
		e++;
	}
	return 32.0f * ((float)e + (x - 1.0f));
}

uint16_t tc_score(const struct tc_hist *h, uint32_t armed_ms, uint32_t now_ms, uint16_t max)
{
	uint32_t idle = now_ms - armed_ms;
	float d = tc_decay(idle);
	float rate = (h->k * d + 0.5f) / (h->secs * d + (float)idle / 1000.0f + 1.0f);
	float s = log2_32(1.0f + 64.0f * rate);

	return s >= (float)max ? max : (uint16_t)s;
}

void tc_budget_update(struct tc_budget *b, uint64_t elapsed_ns, uint64_t spent_ns)
{
	int64_t cap = (int64_t)(b->frac * (double)TC_BALANCE_CAP_MS * 1e6);

	if (b->frac >= 1.0)
		return;
	b->balance_ns += (int64_t)(b->frac * (double)elapsed_ns) - (int64_t)spent_ns;
	if (b->balance_ns > cap)
		b->balance_ns = cap;
}

int tc_budget_take(const struct tc_budget *b, int64_t *left_ns, uint64_t cost_ns)
{
	if (b->frac >= 1.0)
		return 1;
	if (*left_ns < (int64_t)cost_ns)
		return 0;
	*left_ns -= (int64_t)cost_ns;
	return 1;
}
