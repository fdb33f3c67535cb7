/*
 * harvest: the harvester — brings the app cgroup's cold memory into swap, up to the swap target, only while the app
 * is stable and the domain calm (docs/HARVEST.md). The controller calls harvest_tick() on every tick; the decision is
 * pure (policy/harvest.h) and a due step runs on the harvester's own thread (harvest/step.h), so
 * the event loop never blocks. All functions are for the controller's thread only.
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
 * Opens a harvester; no step runs before harvest_start(). First it claims the journal for this process's lifetime
 * (harvest/journal.h: its directory must belong to root and be writable by no one else; an exclusive lock), so
 * that a second usbd given the same journal refuses to start instead of undoing the first one's step in flight.
 * Then, as the journal's owner, it repairs a step a crash interrupted: puts the knob the journal names back to the
 * value it had and removes the journal (a journal whose cgroup is gone is removed with a warning, a malformed one
 * with an error). Logs what it did and why it failed. Returns 0; -EINVAL for bad params; -EBUSY when another
 * process holds the journal; -EPERM for an unsafe directory; -ELOOP when the journal is a symlink (left alone); the
 * -errno of a restore that failed after retries (the journal is kept); or another -errno. On failure nothing of the
 * journal is touched beyond that repair.
 */
int harvest_open(struct harvester **out, const struct harvest_config *cfg);

/* Starts the step thread (0 or -errno, logged). Separate from harvest_open() so that the controller can claim and
 * repair early at start-up yet fork its worker before any second thread exists. */
int harvest_start(struct harvester *h);

/* One controller tick: never blocks. Collects a finished step, decides, and hands a due step to the thread. */
void harvest_tick(struct harvester *h, const struct harvest_input *in);

void harvest_status(const struct harvester *h, struct harvest_status *st);

/* policy_harvest_own_pressure() for the controller's thread: a pressure event now is the harvester's own step.
 * False for NULL. */
bool harvest_owns_pressure(const struct harvester *h, uint64_t now_ms);

/* Stops the thread if started — an in-flight step ends early, bounded by its timeout, and restores its knob —
 * re-runs the repair if a restore failed, releases the journal and frees h. NULL is fine. */
void harvest_close(struct harvester *h);

#endif
