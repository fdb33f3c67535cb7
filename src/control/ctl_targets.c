#include "control/ctl_targets.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "control/state.h"

static int load_state(struct ctl *c, char *err, size_t errlen)
{
	int r = state_open(&c->state, c->opt.state_file, err, errlen);

	if (r || c->state.dirfd < 0)
		return r;
	if ((r = state_load(&c->state, &c->saved, &c->saved_mask, err, errlen)))
		return r;
	if (c->saved_mask)
		log_info("targets set at run time restored from %s", c->state.path);
	return 0;
}

/* The layers, weakest first: defaults, the config file, the state file (unless with_state is false), the flags. */
static int layer(struct ctl *c, bool with_state, char *err, size_t errlen)
{
	const struct options *o = &c->opt;
	const struct size_opt *flags[TARGET_COUNT] = {
		[TARGET_GRAB_LOWER] = &o->grab_lower, [TARGET_GRAB_UPPER] = &o->grab_upper,
		[TARGET_SWAP_TARGET] = &o->swap_target, [TARGET_HEADROOM] = &o->headroom,
		[TARGET_THRESHOLD] = &o->threshold,
	};
	struct targets defaults, change = { { 0 } };
	unsigned mask = 0;

	targets_defaults(&defaults, c->dom.total);
	for (int f = 0; f < TARGET_COUNT; f++) {
		enum target_source src = TARGET_SRC_DEFAULT;

		if (o->config_targets[f].set) {
			change.v[f] = o->config_targets[f].bytes;
			src = TARGET_SRC_CONFIG;
		}
		if (with_state && (c->saved_mask & TARGET_BIT(f))) {
			change.v[f] = c->saved.v[f];
			src = TARGET_SRC_STATE;
		}
		if (flags[f]->set) {
			change.v[f] = flags[f]->bytes;
			src = TARGET_SRC_FLAG;
		}
		c->tg_src[f] = src;
		if (src != TARGET_SRC_DEFAULT)
			mask |= TARGET_BIT(f);
	}
	return targets_update(&defaults, &change, mask, c->dom.total, &c->tg, err, errlen);
}

int ctl_targets_init(struct ctl *c, char *err, size_t errlen)
{
	char why[256];
	int r;

	if ((r = load_state(c, err, errlen)))
		return r;
	if (!c->saved_mask)
		return layer(c, false, err, errlen);
	if (!layer(c, true, why, sizeof(why)))
		return 0;
	/*
	 * Values kept from an earlier run that no longer fit (a smaller domain, new flags): the operator's command line
	 * and config file still hold, so start with them rather than refuse (a service would restart into the same
	 * refusal for ever). The kept values are forgotten at the next change made at run time.
	 */
	if ((r = layer(c, false, err, errlen)))
		return r;
	log_warn("ignoring the targets kept in %s: %s", c->state.path, why);
	c->saved_mask = 0;
	return 0;
}

void ctl_targets_set_at_run_time(struct ctl *c, unsigned mask)
{
	for (int f = 0; f < TARGET_COUNT; f++)
		if (mask & TARGET_BIT(f)) {
			c->tg_src[f] = TARGET_SRC_API;
			c->saved.v[f] = c->tg.v[f];
		}
	c->saved_mask |= mask;
	c->due.save_targets = c->state.dirfd >= 0;
}

void ctl_targets_save(struct ctl *c)
{
	int r = state_save(&c->state, &c->saved, c->saved_mask);

	if (r)
		log_warn("cannot save the targets to %s: %s (they stay in effect until usbd stops)", c->state.path,
			 strerror(-r));
	else
		log_debug("targets set at run time saved to %s", c->state.path);
}

void ctl_targets_close(struct ctl *c)
{
	state_close(&c->state);
}
