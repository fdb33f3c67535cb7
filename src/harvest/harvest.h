/*
 * harvest: the harvester — brings the app cgroup's cold memory into swap, up to the swap target, only while the app
 * is stable and the domain calm (docs/HARVEST.md). The controller calls harvest_tick() on every tick; the decision is
 * pure (policy/harvest.h) and a due step runs on the harvester's own thread (harvest/step.h), so
 * the event loop never blocks. All functions but harvest_repair() are for the controller's thread only.
 */
#ifndef USBD_HARVEST_HARVEST_H
#define USBD_HARVEST_HARVEST_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/harvest.h"
#include "sys/cgroup.h"

#define HARVEST_JOURNAL_DEFAULT "/var/lib/usbd/harvest.journal"

struct harvester;

struct harvest_config {
	struct cgroup app;            /* the app cgroup (a copy; app.hier must outlive the harvester) */
	const char *journal_path;     /* NULL: HARVEST_JOURNAL_DEFAULT; copied */
	uint64_t step_timeout_ms;     /* longest time a lowered limit stays lowered */
	struct harvest_params params; /* step size, stability window and threshold, back-off */
};

struct harvest_status {
	const char *state;            /* harvest_state_name(): idle, at_target, growing, pressure, backoff, stepping */
	uint64_t swap, target;        /* from the last tick */
	uint64_t step_cap;            /* the largest step now (step_max, halved by back-offs) */
	uint64_t last_step_bytes;     /* what the last step took from the app's usage */
	uint64_t last_step_at_ms;     /* when it ended (monotonic), 0 before the first */
	uint64_t last_step_ms;        /* how long it took */
	int last_step_error;          /* its harvest_step_run() result: 0 or -errno */
	uint64_t steps;               /* steps ended */
	uint64_t harvested;           /* sum of last_step_bytes */
	uint32_t backoffs;
};

/* Fills cfg with defaults (policy_harvest_defaults(), 1 s timeout, the default journal); app is left zeroed. */
void harvest_config_defaults(struct harvest_config *cfg);

/*
 * At start-up, before anything else: if the journal records a step in progress, puts the knob it names back to the
 * value it had and removes the journal. Logs what it did. Returns 0 (also when there was no journal, or its cgroup
 * is gone), -EINVAL for a malformed journal (logged and removed), or the -errno of a restore that failed after
 * retries (the journal is kept).
 */
int harvest_repair(const struct cg_hier *h, const char *journal_path);

/*
 * Starts a harvester and its thread. Returns 0, -EINVAL for bad params (logged), -EEXIST when the journal exists
 * (run harvest_repair() first: a new step would overwrite the only record of a lowered limit), or -errno.
 */
int harvest_open(struct harvester **out, const struct harvest_config *cfg);

/* One controller tick: never blocks. Collects a finished step, decides, and hands a due step to the thread. */
void harvest_tick(struct harvester *h, const struct harvest_input *in);

void harvest_status(const struct harvester *h, struct harvest_status *st);

/* policy_harvest_own_pressure() for the controller's thread: a pressure event now is the harvester's own step.
 * False for NULL. */
bool harvest_owns_pressure(const struct harvester *h, uint64_t now_ms);

/* Stops the thread — an in-flight step ends early, bounded by its timeout, and restores its knob — re-runs the
 * repair if a restore failed, and frees h. NULL is fine. */
/* True while a step handed to the step thread has not been collected (NULL: false). Controller's thread only. */
bool harvest_step_in_flight(const struct harvester *h);

void harvest_close(struct harvester *h);

#endif
