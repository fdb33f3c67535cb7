/* supervise: the controller's side of the balloon worker — start, requests, replies, death and restart. */
#ifndef USBD_CONTROL_SUPERVISE_H
#define USBD_CONTROL_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/balloon.h"

struct ctl;

/* Starts the worker and watches its socket and pidfd. Returns 0 or -errno (logged). */
int ctl_worker_start(struct ctl *c);
/* Handles what the worker sent; marks the decision due (a reply may allow the next step at once). */
void ctl_worker_on_message(struct ctl *c);
/* Reaps a dead worker and schedules its restart after the cool-down. */
void ctl_worker_on_exit(struct ctl *c);
/* Periodic: asks a reclaimable worker what is resident; restarts a dead worker when its cool-down passed. */
void ctl_worker_tick(struct ctl *c, uint64_t now_ms);
/* Sends a grow/shrink unless one is in flight; returns 0, -EBUSY or -errno. */
int ctl_worker_resize(struct ctl *c, enum policy_action action, uint64_t bytes, bool urgent);
/* Writes the worker's oom_score_adj for the current deflate_on_oom. */
void ctl_worker_set_oom_score(struct ctl *c);

#endif
