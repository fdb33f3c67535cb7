/*
 * targets: the five targets an operator sets (grab bounds, swap target, headroom, threshold), their names in every
 * door they come in by (command line, API, config file, usbdctl, status), and the one set of rules they obey.
 * Pure: no I/O. The command line, the API and the config file all call targets_update(), so the same bad value gets
 * the same error whichever door it came in by.
 */
#ifndef USBD_POLICY_TARGETS_H
#define USBD_POLICY_TARGETS_H

#include <stddef.h>
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
	const char *name;      /* canonical, in errors and the config file: "grab_lower" */
	const char *flag;      /* on usbd's and usbdctl's command line: "grab-lower" */
	const char *mib_key;   /* in /usbd/targets: "grab_lower_mib" */
	const char *bytes_key; /* in /usbd/status: "grab_lower_bytes" */
	const char *label;     /* for people: "grab lower bound" */
};

extern const struct target_desc target_descs[TARGET_COUNT];

/* Bytes, indexed by enum target_field. */
struct targets {
	uint64_t v[TARGET_COUNT];
};

#define TARGET_BIT(f) (1u << (f))
#define TARGETS_ALL ((1u << TARGET_COUNT) - 1)

/* The defaults for a domain of `total` bytes: lower 0, upper = total (no cap), swap target 0,
 * headroom min(1 GiB, total / 4), threshold min(1 GiB, total). */
void targets_defaults(struct targets *t, uint64_t total);

/*
 * Applies the fields of `change` named in `mask` to `cur`, checks the result against a domain of `total` bytes, and
 * on success stores it in *out (which may be cur). The rules:
 *   - grab_lower, swap_target and threshold at most the domain;
 *   - grab_upper at or above the domain means "no cap" and is stored as the domain's size;
 *   - grab_lower at most grab_upper; headroom at most a quarter of the domain.
 * Returns 0, or -EINVAL with a message in err naming the field by its canonical name; *out is then unchanged.
 */
int targets_update(const struct targets *cur, const struct targets *change, unsigned mask, uint64_t total,
		   struct targets *out, char *err, size_t errlen);

/* Returns the field whose canonical name, flag or mib_key is `name`, or -ENOENT. */
int target_lookup(const char *name);

#endif
