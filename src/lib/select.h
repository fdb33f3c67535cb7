/*
 * select: the cold-block selector, pure (no I/O, no clock), so its ranking is unit-tested alone
 * (tests/unit/test_lib_select.c). The tracker hands it one entry per tracked block, in address order.
 */
#ifndef USBD_LIB_SELECT_H
#define USBD_LIB_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usbd.h"

/* A block's score: its hotness, 0 .. SEL_SCORE_MAX (the tracker's estimated access rate on a log scale,
 * track_cost.h). Lower is colder. */
#define SEL_SCORE_MAX 0x1ffu

struct sel_block {
	uintptr_t addr;
	size_t len;
	uint16_t score;
	uint32_t seen;          /* when it was last seen touched (ms on the tracker's clock; 0: never) */
	uint32_t idle_ms;       /* armed and untouched for this long (0: touched since last armed, "open") */
	bool busy;              /* touched since last armed, or armed too lately to tell: not cold */
	bool out;               /* paged out and not touched since: nothing to gain */
	bool unranked;          /* never seen touched, in a region not watched long enough to tell: never taken */
	bool chosen;            /* output */
	uint8_t by;             /* output: SEL_BY_LRU / SEL_BY_MRU when chosen from the open blocks in that order */
};

#define SEL_BY_LRU 1u
#define SEL_BY_MRU 2u

#define SEL_HOT 1u              /* when the cold blocks do not cover `bytes`, take the rest from busy blocks */
#define SEL_LOOP 2u             /* ... the open ones most recently seen first (see sel_pick) */

/*
 * Chooses the coldest eligible blocks (not out, not busy, not unranked) until `bytes` is
 * covered, rounded up to whole blocks: every block colder than the cut-off score, then blocks at the cut-off
 * from the longest contiguous cold runs first. When the cold blocks do not cover `bytes` and `how` has SEL_HOT,
 * the rest comes from the busy blocks: first those armed too lately to tell but untouched since (the longest
 * armed first), then the open ones (touched since armed), the longest since they were last seen touched first
 * (LRU). With SEL_LOOP (a loop larger than memory: LRU's victims come back sooner than the most recently seen
 * ones), the open ones most recently seen first instead (MRU: MIN's choice in a loop). Either way an eighth of
 * them, in whole blocks (none under eight blocks), comes in the other order: the tracker watches how soon both
 * kinds come back (`by` says which order chose a block). Unranked blocks are never chosen, not even with SEL_HOT:
 * nothing is known about them yet, and in a region just added the app's hot set is among them.
 * Sets `chosen`, then writes the chosen blocks as ranges merged where address-contiguous, at most `max` of them.
 * Returns the number of ranges written.
 */
size_t sel_pick(struct sel_block *b, size_t n, uint64_t bytes, unsigned how, struct usbd_range *out, size_t max);

#endif
