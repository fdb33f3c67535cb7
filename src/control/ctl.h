/* ctl: the controller's start-up and shutdown (its state is in state.h, its loop in loop.h). */
#ifndef USBD_CONTROL_CTL_H
#define USBD_CONTROL_CTL_H

#include "control/options.h"

struct ctl;

/* Start-up: options -> domain -> targets -> event sources -> API socket -> harvester (journal claimed, repaired) ->
 * worker cgroup -> registry -> worker. Returns 0, or -errno having printed why; ctl_shutdown() undoes what was done. */
int ctl_init(struct ctl *c, const struct options *o);
/* Frees the balloon, stops the worker, removes what usbd created. */
void ctl_shutdown(struct ctl *c);

#endif
