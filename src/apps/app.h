/*
 * app: one connection to the apps socket and, once it registered, the app behind it (internal to src/apps).
 * The pidfd names the process that connected, so a recycled pid is never signalled, advised or moved.
 */
#ifndef USBD_APPS_APP_H
#define USBD_APPS_APP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/usbd.h"

struct app {
	int fd, pidfd;
	pid_t pid;
	uid_t uid;
	int sig;                /* its SIGBALLOON, once registered */
	bool registered;
	bool gone;              /* its process exited (a round saw ESRCH): the registry drops it */
	uint64_t rss;           /* resident memory at the last SIGBALLOON round: its share of the deficit */
	uint64_t pageout_ms;    /* when it was last honoured a page-out (clock_ms), 0: never */
	uint64_t idle_since_ms; /* when it connected or unregistered: an unregistered connection times out */
	char from[PATH_MAX];    /* the memory cgroup it came from, to move it back */
	struct app *next;
};

/* Replies to request seq with one packet, never blocking; a reply the app's full socket cannot take is lost. */
void app_reply(const struct app *a, uint32_t seq, int status, enum usbd_reason reason, uint64_t bytes,
	       uint64_t free_bytes, uint64_t threshold, const char *msg);

#endif
