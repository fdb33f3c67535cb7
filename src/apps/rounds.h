/*
 * rounds: the SIGBALLOON rounds (registry_tick() in registry.h says when and how much). Each registered app is
 * asked for its part of the deficit, in proportion to its resident memory, so that between them the apps page
 * out the deficit once.
 */
#ifndef USBD_APPS_ROUNDS_H
#define USBD_APPS_ROUNDS_H

#include <stdbool.h>
#include <stdint.h>

#include "apps/app.h"

struct rounds {
	uint64_t resignal_ms;   /* again while free stays below the threshold */
	uint64_t last_signal_ms;
	uint64_t signals;       /* SIGBALLOONs sent so far */
	bool below;             /* free was below the threshold at the last tick */
};

/* Sends a round to the registered apps among apps if one is due; marks an app whose process is gone (a->gone). */
void rounds_tick(struct rounds *ro, struct app *apps, uint64_t now_ms, uint64_t free_bytes, uint64_t threshold);

#endif
