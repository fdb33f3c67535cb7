/*
 * notify_systemd: the readiness message of systemd's Type=notify protocol, written directly (one datagram to
 * $NOTIFY_SOCKET) rather than through libsystemd, whose dependencies would cost the controller megabytes of RSS.
 */
#ifndef USBD_SYS_SD_NOTIFY_H
#define USBD_SYS_SD_NOTIFY_H

/* Sends `state` (e.g. "READY=1") if $NOTIFY_SOCKET is set. Returns 1 sent, 0 not under systemd, or -errno. */
int systemd_notify(const char *state);

#endif
