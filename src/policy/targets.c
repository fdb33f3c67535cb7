#include "policy/targets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"

const struct target_desc target_descs[TARGET_COUNT] = {
	[TARGET_GRAB_LOWER] = { "grab_lower", "grab-lower", "grab_lower_mib", "grab_lower_bytes", "grab lower bound" },
	[TARGET_GRAB_UPPER] = { "grab_upper", "grab-upper", "grab_upper_mib", "grab_upper_bytes", "grab upper bound" },
	[TARGET_SWAP_TARGET] = { "swap_target", "swap-target", "swap_target_mib", "swap_target_bytes",
				 "target swap size" },
	[TARGET_HEADROOM] = { "headroom", "headroom", "headroom_mib", "headroom_bytes", "headroom" },
	[TARGET_THRESHOLD] = { "threshold", "threshold", "threshold_mib", "threshold_bytes", "threshold" },
};

void targets_defaults(struct targets *t, uint64_t total)
{
	memset(t, 0, sizeof(*t));
	t->v[TARGET_GRAB_UPPER] = total;
	t->v[TARGET_HEADROOM] = min_u64(GIB, total / 4);
	t->v[TARGET_THRESHOLD] = min_u64(GIB, total);
}

static int refuse(char *err, size_t errlen, enum target_field f, uint64_t v, const char *what, uint64_t limit)
{
	char a[24], b[24];

	snprintf(err, errlen, "%s (%s) is larger than %s (%s)", target_descs[f].name, size_format(v, a, sizeof(a)),
		 what, size_format(limit, b, sizeof(b)));
	return -EINVAL;
}

int targets_update(const struct targets *cur, const struct targets *change, unsigned mask, uint64_t total,
		   struct targets *out, char *err, size_t errlen)
{
	static const enum target_field within_domain[] = { TARGET_GRAB_LOWER, TARGET_SWAP_TARGET, TARGET_THRESHOLD };
	struct targets t = *cur;

	for (int f = 0; f < TARGET_COUNT; f++)
		if (mask & TARGET_BIT(f))
			t.v[f] = change->v[f];
	for (size_t i = 0; i < sizeof(within_domain) / sizeof(within_domain[0]); i++)
		if (t.v[within_domain[i]] > total)
			return refuse(err, errlen, within_domain[i], t.v[within_domain[i]], "the domain", total);
	/* "No cap" is spelled as anything at least the domain's size. */
	t.v[TARGET_GRAB_UPPER] = min_u64(t.v[TARGET_GRAB_UPPER], total);
	if (t.v[TARGET_GRAB_LOWER] > t.v[TARGET_GRAB_UPPER])
		return refuse(err, errlen, TARGET_GRAB_LOWER, t.v[TARGET_GRAB_LOWER], target_descs[TARGET_GRAB_UPPER].name,
			      t.v[TARGET_GRAB_UPPER]);
	if (t.v[TARGET_HEADROOM] > total / 4)
		return refuse(err, errlen, TARGET_HEADROOM, t.v[TARGET_HEADROOM], "a quarter of the domain", total / 4);
	*out = t;
	return 0;
}

int target_lookup(const char *name)
{
	for (int i = 0; i < TARGET_COUNT; i++)
		if (!strcmp(name, target_descs[i].name) || !strcmp(name, target_descs[i].flag) ||
		    !strcmp(name, target_descs[i].mib_key))
			return i;
	return -ENOENT;
}
