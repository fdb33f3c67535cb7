/*
 * notify: the event sources that wake the control loop within milliseconds instead of a 1 s poll —
 * v1 usage thresholds on the domain around (total - headroom), v1 pressure levels / v2 PSI triggers, and OOM
 * events. Each registered fd carries a kind; the loop adds them to its epoll set.
 */
#ifndef USBD_CONTROL_NOTIFY_H
#define USBD_CONTROL_NOTIFY_H

#include <stdint.h>

#include "control/domain.h"

#define NOTIFY_MAX 8

enum notify_kind { NOTIFY_USAGE = 0, NOTIFY_MEDIUM, NOTIFY_CRITICAL, NOTIFY_OOM };

struct notify {
	int fd[NOTIFY_MAX];
	enum notify_kind kind[NOTIFY_MAX];
	int n;
	int nusage;              /* how many usage-threshold fds are registered (re-armed on headroom changes) */
};

/* Registers every source the backend offers and adds each to epfd with data.u32 = tag_base + index.
 * Sources the backend lacks are skipped with a debug line; returns how many were registered. */
int notify_setup(struct notify *nt, const struct domain *d, uint64_t headroom, int epfd, uint32_t tag_base);
/* Unregisters and closes everything. */
void notify_teardown(struct notify *nt, int epfd);
/* Re-registers after the headroom (or the domain size) changed. */
int notify_rearm(struct notify *nt, const struct domain *d, uint64_t headroom, int epfd, uint32_t tag_base);

#endif
