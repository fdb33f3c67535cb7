/*
 * notify: the event sources that wake the control loop within milliseconds instead of a 1 s poll —
 * v1 usage thresholds on the domain at the edge of the headroom and deeper into it, v1 pressure levels / v2 PSI
 * triggers, and OOM events. Each source has a fixed slot; the loop's epoll tag is tag_base + slot.
 */
#ifndef USBD_CONTROL_NOTIFY_H
#define USBD_CONTROL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "sys/domain.h"

#define NOTIFY_USAGE_LEVELS 4
/*
 * v1 checks a cgroup's usage thresholds only every 128 pages charged on a CPU (THRESHOLDS_EVENTS_TARGET), so a
 * threshold exactly at a level is signalled up to 512 KiB past it. The one handed to the worker's reflex is
 * registered this much below the edge: an app charging on one CPU sets it off by the time its usage reaches the
 * edge, at worst this much early, and the reflex releases whatever the reading then. The controller's own stay at
 * their levels: it decides on what it reads, and woken early it would find nothing to do and miss the crossing.
 */
#define NOTIFY_ANTICIPATE (UINT64_C(128) * 4096)
#define NOTIFY_SLOTS (NOTIFY_USAGE_LEVELS + 3)

enum notify_kind { NOTIFY_USAGE = 0, NOTIFY_MEDIUM, NOTIFY_CRITICAL, NOTIFY_OOM };

struct notify {
	int fd[NOTIFY_SLOTS];               /* -1: not registered */
	enum notify_kind kind[NOTIFY_SLOTS];
	uint32_t events;                    /* EPOLLIN for v1 eventfds, EPOLLPRI for v2 PSI and memory.events */
	uint64_t oom_count;                 /* the domain's OOM counter when last seen (cg_oom_count) */
	uint64_t usage_edge;                /* raw domain usage at which free memory meets the headroom; 0: unarmed */
	uint64_t usage_step;
	bool no_usage;                      /* the host domain or a backend without usage thresholds (v2) */
	bool first_handed;                  /* the worker's reflex holds the first threshold (fd[0] is -1) */
};

/* Registers the pressure and OOM sources the backend offers (each added to epfd with data.u32 = tag_base +
 * slot); sources it lacks are logged and skipped. Usage thresholds come with notify_arm_usage(). */
void notify_setup(struct notify *nt, const struct domain *d, int epfd, uint32_t tag_base);
/*
 * Keeps the usage thresholds registered at edge, edge + step, ... (those below the domain's size). The edge moves
 * with the domain's inactive page cache, which free memory counts: the loop re-arms when it moved. A new edge or
 * step drops them all and registers anew; the same one registers only what is missing, because each v1
 * registration waits for an RCU grace period. Backends without usage thresholds (v2) and the host domain register
 * none. With `handover` not NULL the first threshold (NOTIFY_ANTICIPATE below the edge) is not watched here but
 * registered anew and handed out in *handover (the loop gives it to the worker's reflex and closes its copy), unless the reflex
 * already holds it (first_handed; *handover is then -1). Without, a first threshold the reflex held is registered
 * here again: the caller disarms the reflex. Returns how many are registered, the reflex's included.
 */
int notify_arm_usage(struct notify *nt, const struct domain *d, uint64_t edge, uint64_t step, int epfd,
		     uint32_t tag_base, int *handover);
/* The usage at which the first threshold is registered: the edge, less NOTIFY_ANTICIPATE while the reflex holds it;
 * 0 when unarmed. */
uint64_t notify_first_level(const struct notify *nt);
/* The reflex no longer holds the first threshold (it fired, its worker died, or it was disarmed). */
void notify_first_returned(struct notify *nt);
/* Whether the notification on `slot` (an NOTIFY_OOM source) is a new OOM: v1 eventfds fire only on OOM; v2's
 * memory.events fires on any of its counters, so there the OOM counter must have grown. */
bool notify_is_oom(struct notify *nt, const struct domain *d);
/* Unregisters and closes everything. */
void notify_teardown(struct notify *nt, int epfd);

#endif
