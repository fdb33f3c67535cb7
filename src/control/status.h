/* status: the one-line status on stderr, for people watching usbd in the foreground. */
#ifndef USBD_CONTROL_STATUS_H
#define USBD_CONTROL_STATUS_H

#include "policy/balloon.h"

struct ctl;

void ctl_status_line(struct ctl *c);
const char *ctl_pressure_name(enum policy_pressure p);

#endif
