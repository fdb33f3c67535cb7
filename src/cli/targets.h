/* targets: the five tunable targets as usbdctl names them, and the PATCH /usbd/targets body that sets them. */
#ifndef USBD_CLI_TARGETS_H
#define USBD_CLI_TARGETS_H

#include <stdint.h>

enum target_field {
	TARGET_GRAB_LOWER,
	TARGET_GRAB_UPPER,
	TARGET_SWAP_TARGET,
	TARGET_HEADROOM,
	TARGET_THRESHOLD,
	TARGET_COUNT
};

struct target_desc {
	const char *name;	/* on the command line: "grab-lower" */
	const char *mib_key;	/* in /usbd/targets: "grab_lower_mib" */
	const char *bytes_key;	/* in /usbd/status: "grab_lower_bytes" */
	const char *label;	/* for people: "grab lower bound" */
};

extern const struct target_desc target_descs[TARGET_COUNT];

/* A partial update: bit (1u << field) in mask means mib[field] is to be sent. */
struct target_patch {
	unsigned mask;
	uint64_t mib[TARGET_COUNT];
};

/* Returns the field called `name` (e.g. "grab-lower"), or -ENOENT. */
int target_lookup(const char *name);

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
