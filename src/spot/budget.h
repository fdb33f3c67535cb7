/*
 * budget: the one memory budget of everything the spot clients make the worker allocate (client structs, query
 * buffers, argument arrays, output buffers). Its limit is a share of the spot capacity (the chunks the balloon
 * holds), so that consumers cannot make the worker grow past what the balloon gives them, and no single buffer
 * may take more than half of it, so that one client cannot starve the others. Only growth and release are
 * charged: a request that fits in the buffers a client already has costs nothing here.
 */
#ifndef USBD_SPOT_BUDGET_H
#define USBD_SPOT_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The budget is capacity / SPOT_BUDGET_SHARE, but never less than SPOT_BUDGET_FLOOR: with few or no chunks the
 * store must still answer (errors, misses) and take one largest value in and out. */
#define SPOT_BUDGET_SHARE 4
#define SPOT_BUDGET_FLOOR (8u << 20)

struct spot_budget {
	size_t used;            /* bytes charged now */
	size_t limit;
	uint64_t refused;       /* growths refused */
};

static inline void budget_set_capacity(struct spot_budget *b, uint64_t capacity)
{
	uint64_t share = capacity / SPOT_BUDGET_SHARE;

	b->limit = share > SPOT_BUDGET_FLOOR ? (size_t)share : SPOT_BUDGET_FLOOR;
}

/* Charges a buffer's growth from `have` bytes to `want`: false (nothing charged) if the total would pass the
 * limit or the one buffer half of it. A NULL budget is unlimited (the parser and buffers used standalone). */
static inline bool budget_grow(struct spot_budget *b, size_t have, size_t want)
{
	size_t n = want - have;

	if (!b)
		return true;
	if (want > b->limit / 2 || b->used > b->limit || n > b->limit - b->used) {
		b->refused++;
		return false;
	}
	b->used += n;
	return true;
}

static inline void budget_release(struct spot_budget *b, size_t n)
{
	if (b)
		b->used -= n;
}

/* Past half the limit, drained buffers are given back after each use instead of kept for the next request. */
static inline bool budget_tight(const struct spot_budget *b) { return b && b->used > b->limit / 2; }

#endif
