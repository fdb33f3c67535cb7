/*
 * sd_notify: systemd's notify protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), written directly (one datagram to
 * $NOTIFY_SOCKET) rather than through libsystemd, whose dependencies would cost the controller megabytes of RSS.
 */
#ifndef USBD_SYS_SD_NOTIFY_H
#define USBD_SYS_SD_NOTIFY_H

#include <stdint.h>
#include <sys/types.h>

/* Sends `state` (e.g. "READY=1") if $NOTIFY_SOCKET is set. Returns 1 sent, 0 not under systemd, or -errno. */
int systemd_notify(const char *state);

/*
 * The watchdog interval systemd expects pings within (WatchdogSec=), in ms, from $WATCHDOG_USEC (and $WATCHDOG_PID,
 * which must be this process when set); 0 when there is no watchdog. Pure over its arguments (the environment's
 * values, NULL when unset) so it is testable; systemd_watchdog_ms() reads the environment.
 */
uint64_t systemd_watchdog_parse(const char *usec, const char *pid, pid_t self);
uint64_t systemd_watchdog_ms(void);

#endif
