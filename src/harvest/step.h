/*
 * harvest_step: one harvesting step on a cgroup, per backend. Blocking: the harvester runs it on its own thread.
 * - v2: writes the step to memory.reclaim; where that file does not exist, lowers memory.high (opened O_NONBLOCK,
 *   so the write never waits for reclaim) to usage - step, waits, and restores it.
 * - v1: lowers memory.limit_in_bytes toward usage - step in slices (a v1 limit write blocks until the kernel has
 *   reclaimed down to it; slices keep each write short so that the timeout is honoured between them), then
 *   restores it.
 * A lowered knob is journalled (harvest_journal.h) before it is touched and ALWAYS restored; the journal is removed
 * once it is. Lowering stops when usage has fallen by about the step (7/8 of it), at the timeout, or on *stop.
 */
#ifndef USBD_HARVEST_STEP_H
#define USBD_HARVEST_STEP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "harvest/journal.h"
#include "sys/cgroup.h"

#define HARVEST_SLICE (UINT64_C(8) << 20)
/* Room left above the last slice while a step goes on (see hold_between in step.c). */
#define HARVEST_CUSHION (UINT64_C(64) << 20)

struct harvest_step_args {
	const struct cgroup *cg;
	const struct harvest_journal_file *journal; /* claimed by the caller */
	uint64_t bytes;               /* the step */
	uint64_t timeout_ms;          /* how long a lowered knob may stay lowered */
	const atomic_bool *stop;      /* when set, the step ends early (still restoring); may be NULL */
};

struct harvest_step_result {
	uint64_t reclaimed;           /* the app's usage before the step minus after it (0 if it rose) */
	bool unrestored;              /* the knob could not be restored: its journal stays for the repair */
};

/*
 * Runs one step. Returns 0 when usage fell by about the step, -ETIMEDOUT when the timeout (or *stop) came first,
 * -EAGAIN when memory.reclaim took less than asked, -EBUSY when the kernel refused a lower limit after retries,
 * or another -errno (e.g. the journal could not be written: then nothing was lowered). r is filled in every case.
 */
int harvest_step_run(const struct harvest_step_args *a, struct harvest_step_result *r);

/*
 * Puts a knob of cg back to `value`, retrying with growing pauses and logging every failure as an error: at least
 * 5 attempts, and more for as long as `stop` (may be NULL) is not set. A vanished cgroup counts as restored (with a
 * warning). Returns 0 or the last -errno.
 */
int harvest_knob_restore(const struct cgroup *cg, enum harvest_knob k, uint64_t value, const atomic_bool *stop);

#endif
