/*
 * track_cost: the tracker's pure arithmetic (no clock, no I/O, unit-tested in tests/unit/test_lib_track_cost.c):
 * a block's access history and its hotness score, and the fault-cost budget that decides how many blocks a tick
 * may re-arm (docs/LIBUSBD.md, "What it costs").
 */
#ifndef USBD_LIB_TRACK_COST_H
#define USBD_LIB_TRACK_COST_H

#include <stddef.h>
#include <stdint.h>

#define TC_HALF_LIFE_MS 16000u   /* evidence loses half its weight in this time: old phases fade */
#define TC_BALANCE_CAP_MS 4000u  /* the budget saves up at most this much wall time's worth */

/*
 * A block's history: faults seen and seconds spent armed (protected) until them, both decayed with age. Its
 * access rate is estimated as (k + 0.5) / (secs + 1): the maximum-likelihood rate of a Poisson process with a
 * small prior, so a block never touched since it was armed long ago is the coldest, and a block that faults as
 * soon as it is armed is the hottest.
 */
struct tc_hist {
	float k, secs;
};

/* The weight of evidence dt_ms old: 2^(-dt / half-life) (piecewise linear between halvings). */
float tc_decay(uint32_t dt_ms);
/* Folds one ended arm period (armed at armed_ms, first touched at seen_ms) as the block is re-armed at now_ms. */
void tc_fold(struct tc_hist *h, uint32_t armed_ms, uint32_t seen_ms, uint32_t now_ms);
/* The hotness of a block armed since armed_ms and untouched since (lower is colder): its estimated access rate
 * on a log scale, 0 .. max. */
uint16_t tc_score(const struct tc_hist *h, uint32_t armed_ms, uint32_t now_ms, uint16_t max);

/*
 * The budget: the tracker may spend `frac` of wall time on its faults and ticks. The balance earns frac x the
 * wall time elapsed, pays what was spent (faults x their calibrated cost, plus the ticks' own time), and saves up
 * at most frac x TC_BALANCE_CAP_MS; it may go negative (the initial arming, a burst), and then no block is
 * re-armed until it is paid back. frac >= 1: no budget.
 */
struct tc_budget {
	double frac;
	int64_t balance_ns;
};

void tc_budget_update(struct tc_budget *b, uint64_t elapsed_ns, uint64_t spent_ns);
/* Whether re-arming one more block of cost `cost_ns` fits in `left_ns` (what this tick has not yet committed);
 * if so, commits it. */
int tc_budget_take(const struct tc_budget *b, int64_t *left_ns, uint64_t cost_ns);

#endif
