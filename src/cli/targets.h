/* targets: usbdctl's side of the targets (names in policy/targets.h): SIZE to MiB, and the PATCH /usbd/targets body. */
#ifndef USBD_CLI_TARGETS_H
#define USBD_CLI_TARGETS_H

#include <stdint.h>

#include "policy/targets.h"

/* A partial update: bit (1u << field) in mask means mib[field] is to be sent. */
struct target_patch {
	unsigned mask;
	uint64_t mib[TARGET_COUNT];
};

/*
 * Converts a SIZE (see size_parse) to whole MiB, the unit of the API.
 * Returns 0 and sets *mib, or -EINVAL (not a size), -ERANGE (too large), -EDOM (not a whole number of MiB).
 */
int target_size_mib(const char *text, uint64_t *mib);

/* Says in a few words why target_size_mib refused: "not a size", "too large", "not a whole number of MiB". */
const char *target_size_error(int rc);

/* Returns the JSON body for PATCH /usbd/targets (patch->mask must not be 0); NULL when out of memory. free() it. */
char *target_patch_body(const struct target_patch *patch);

#endif
