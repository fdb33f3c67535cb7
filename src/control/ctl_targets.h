/*
 * ctl_targets: where the controller's targets come from and where those set at run time go. At start the layers
 * defaults < config file < state file < command line are merged and checked by ONE targets_update() (so a bad value
 * gets the targets module's error, whichever layer it came from); at run time the API's changes are recorded and
 * the state file is rewritten at the end of the turn (c->due.save_targets, the loop's rule in ctl.h).
 */
#ifndef USBD_CONTROL_CTL_TARGETS_H
#define USBD_CONTROL_CTL_TARGETS_H

#include <stddef.h>

struct ctl;

/* Opens and reads the state file, merges the layers into c->tg and c->tg_src. 0 or -errno with a message in err. */
int ctl_targets_init(struct ctl *c, char *err, size_t errlen);
/* The targets in mask (TARGET_BIT) were just set at run time: records them and marks the state file's save due. */
void ctl_targets_set_at_run_time(struct ctl *c, unsigned mask);
/* At the end of the turn: writes the state file (a failure is logged; the targets stay in effect). */
void ctl_targets_save(struct ctl *c);
void ctl_targets_close(struct ctl *c);

#endif
