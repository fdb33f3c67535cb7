/*
 * advise: a registered app's page-out request — judged against its own mappings (/proc/PID/maps) and the domain's
 * free memory (policy/pageout.h), then done with process_madvise(pidfd, MADV_PAGEOUT) — and the reply.
 * Serves one request at a time (a static table of 1 MiB holds the parsed maps).
 */
#ifndef USBD_APPS_ADVISE_H
#define USBD_APPS_ADVISE_H

#include <stdint.h>

#include "apps/app.h"
#include "lib/proto.h"

/* Serves m for the registered app a; sets a->pageout_ms to now_ms when honoured. Always replies. Returns the bytes
 * paged out (0 unless honoured). */
uint64_t advise_serve(struct app *a, const struct umsg_pageout *m, uint64_t now_ms, uint64_t free_bytes,
		      uint64_t threshold);

#endif
