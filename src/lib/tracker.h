/*
 * tracker: what the rest of libusbd asks the access tracker beyond <usbd.h> (internal to src/lib).
 */
#ifndef USBD_LIB_TRACKER_H
#define USBD_LIB_TRACKER_H

#include <stdint.h>

#include "lib/usbd.h"

/*
 * A region is ranked once it has been watched long enough to tell the app's memory in use from its cold memory:
 * TRACK_RANK_MIN_MS since it was added, and the app has done finding its memory in use: in the last
 * TRACK_RANK_QUIET_MS no block of it was touched for the first time, or fewer than 1 in TRACK_RANK_SLOW of the
 * blocks seen touched so far were (the first pass over its hot set is over; what still turns up is memory it
 * uses rarely, found at random, which may take long to find in full); or TRACK_RANK_MAX_MS since it was added,
 * whatever happens. Until then its blocks never seen touched are never picked (select.h, `unranked`).
 * A first pass that touches its blocks in order is still under way by that rule for 16 s.
 */
#define TRACK_RANK_MIN_MS 2000u
#define TRACK_RANK_QUIET_MS 1000u
#define TRACK_RANK_SLOW 16u
#define TRACK_RANK_MAX_MS 8000u
#define TRACK_RANK_POLL_MS 100u /* how soon to look again while the app is still finding its memory */

/* How long until every region of t is ranked, in ms (0: all are). */
uint32_t tracker_unranked_ms(struct usbd_tracker *t);

/*
 * The process registered while it had this much anonymous memory resident (0: not registered, or nothing worth
 * it): that memory stays charged to the cgroup it left. From then on usbd_tracker_add() re-charges each region it
 * adds (recharge.h) before it tracks it.
 */
void tracker_set_stranded(uint64_t bytes);

#endif
