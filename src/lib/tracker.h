/*
 * tracker: what the rest of libusbd asks the access tracker beyond <usbd.h> (internal to src/lib).
 */
#ifndef USBD_LIB_TRACKER_H
#define USBD_LIB_TRACKER_H

#include <stdint.h>

#include "lib/usbd.h"

/*
 * A region is ranked once it has been watched long enough to tell the app's memory in use from its cold memory:
 * TRACK_RANK_MIN_MS since it was added, and no block of it touched for the first time in the last
 * TRACK_RANK_QUIET_MS (the app's first pass over its hot set is over); or TRACK_RANK_MAX_MS since it was added,
 * whatever happens. Until then its blocks never seen touched are never picked (select.h, `unranked`).
 */
#define TRACK_RANK_MIN_MS 2000u
#define TRACK_RANK_QUIET_MS 1000u
#define TRACK_RANK_MAX_MS 8000u

/* How long until every region of t is ranked, in ms (0: all are). */
uint32_t tracker_unranked_ms(struct usbd_tracker *t);

/*
 * The process registered while it had this much anonymous memory resident (0: not registered, or nothing worth
 * it): that memory stays charged to the cgroup it left. From then on usbd_tracker_add() re-charges each region it
 * adds (recharge.h) before it tracks it.
 */
void tracker_set_stranded(uint64_t bytes);

#endif
