/* status: the one-line status on stderr, for people watching usbd in the foreground. */
#ifndef USBD_CONTROL_STATUS_H
#define USBD_CONTROL_STATUS_H

#include <stdint.h>

#include "policy/balloon.h"

struct ctl;

/* Logs the one-line status. */
void ctl_status_line(struct ctl *c);
/* Under systemd: STATUS= with the grab, free memory and pressure, and WATCHDOG=1 every half watchdog interval.
 * Called on every tick; sends only when due. */
void ctl_status_systemd(struct ctl *c, uint64_t now_ms);
const char *ctl_pressure_name(enum policy_pressure p);

#endif
