/* harvest_step: one harvesting step on a cgroup, per backend (see harvest/step.h and docs/HARVEST.md). */
#include "harvest/step.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "sys/procfs.h"
#include "sys/sdunit.h"

#define LOWER_TRIES 3           /* EBUSY/EINTR on a lowering write: retried this often, then reported */
#define RESTORE_MIN_TRIES 5
#define RESTORE_PAUSE_MAX_MS 1000
#define POLL_MS 10

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool stopping(const atomic_bool *stop)
{
	return stop && atomic_load(stop);
}

/* memory.high, opened O_NONBLOCK: lowering it must not make this thread reclaim synchronously. */
static int write_high(const struct cgroup *cg, uint64_t value)
{
	char path[PATH_MAX], v[24];
	int fd, err = 0;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/memory.high", cg->path) >= sizeof(path))
		return -ENAMETOOLONG;
	if (value == CG_UNLIMITED)
		snprintf(v, sizeof(v), "max");
	else
		snprintf(v, sizeof(v), "%" PRIu64, value);
	fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, v, strlen(v));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(v))
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* memory.high of a unit's own cgroup is its MemoryHigh= (sys/sdunit.h): set through systemd, which then writes it
 * (without O_NONBLOCK: only kernels without memory.reclaim take this path). */
static int knob_set(const struct cgroup *cg, enum harvest_knob k, uint64_t value)
{
	char unit[256], v[24];
	int r;

	if (k != HARVEST_KNOB_HIGH)
		return cg_set_limit(cg, value);
	if ((r = sdunit_of_cgroup(cg, unit, sizeof(unit))) <= 0)
		return r < 0 ? r : write_high(cg, value);
	if (value == CG_UNLIMITED)
		snprintf(v, sizeof(v), "infinity");
	else
		snprintf(v, sizeof(v), "%" PRIu64, value);
	return sdunit_set_runtime(unit, "MemoryHigh", v);
}

static int knob_get(const struct cgroup *cg, enum harvest_knob k, uint64_t *value)
{
	char v[32], *end;

	if (k != HARVEST_KNOB_HIGH)
		return cg_limit(cg, value);
	if (cg->hier->version == 1 || sdunit_of_cgroup(cg, v, sizeof(v)) <= 0)
		return cg_read_u64(cg, "memory.high", value);
	if (cg_knob_read(cg, "memory.high", v, sizeof(v)) < 0)
		return -EIO;
	if (!strcmp(v, "max")) {
		*value = CG_UNLIMITED;
		return 0;
	}
	errno = 0;
	*value = strtoull(v, &end, 10);
	return errno || *end || end == v ? -EINVAL : 0;
}

static const char *value_str(uint64_t v, char *buf, size_t len)
{
	return v == CG_UNLIMITED ? "max" : size_format(v, buf, len);
}

int harvest_knob_restore(const struct cgroup *cg, enum harvest_knob k, uint64_t value, const atomic_bool *stop)
{
	uint64_t pause = POLL_MS;
	char v[16];
	int err;

	for (unsigned attempt = 1;; attempt++) {
		err = knob_set(cg, k, value);
		if (!err) {
			if (attempt > 1)
				log_warn("harvest: restored the %s of %s to %s after %u attempts", harvest_knob_name(k),
					 cg->name, value_str(value, v, sizeof(v)), attempt);
			return 0;
		}
		if (err == -ENOENT && access(cg->path, F_OK)) {
			log_warn("harvest: cgroup %s is gone: no %s to restore", cg->name, harvest_knob_name(k));
			return 0;
		}
		log_err("harvest: CANNOT RESTORE the %s of %s to %s (attempt %u): %s", harvest_knob_name(k), cg->name,
			value_str(value, v, sizeof(v)), attempt, strerror(-err));
		if (attempt >= RESTORE_MIN_TRIES && (!stop || atomic_load(stop)))
			return err;
		sleep_ms(pause);
		pause = min_u64(pause * 2, RESTORE_PAUSE_MAX_MS);
	}
}

/* A lowering write: EBUSY (the kernel could not reclaim enough yet) and EINTR are retried a few times. */
static int lower_to(const struct cgroup *cg, enum harvest_knob k, uint64_t value)
{
	int err = 0;

	for (int i = 0; i < LOWER_TRIES; i++) {
		err = knob_set(cg, k, value);
		if (err != -EBUSY && err != -EINTR)
			return err;
		sleep_ms(POLL_MS);
	}
	return err;
}

/* False when the host's free swap cannot take another slice (a swapoff under way empties it at once). */
static bool swap_left(void)
{
	struct meminfo mi;

	return meminfo_read(&mi) || mi.swap_free >= HARVEST_SLICE;
}

/*
 * Where the knob waits between slices: never at usage, where a charge that cannot swap anything out (a swapoff
 * bringing the app's pages back) would OOM-kill the app. Worked out before the slice's lowering write, so that
 * nothing but the write that puts it there follows that write.
 * - A v1 limit: the app's usage and swap at the slice's start (what a slice pushes to swap moves from one to the
 *   other; its lowering write reclaims synchronously, so it stays there), plus HARVEST_CUSHION: all the app has in
 *   swap can come back. When memory.stat cannot be read, the value before the step (a kernel without swap
 *   accounting reports no swap: the cushion alone).
 * - memory.high, whose lowering write does not reclaim (the app's own charges above it do, and it never
 *   OOM-kills): HARVEST_CUSHION above the slice, and never above usage at the step's start.
 */
static uint64_t hold_between(const struct cgroup *cg, enum harvest_knob k, uint64_t before, uint64_t start,
			     uint64_t usage, uint64_t ceiling)
{
	uint64_t swap;

	if (k == HARVEST_KNOB_HIGH)
		return min_u64(start, sat_add(ceiling, HARVEST_CUSHION));
	if (cg_swap(cg, &swap))
		return before;
	return min_u64(before, sat_add(sat_add(usage, swap), HARVEST_CUSHION));
}

/*
 * Lowers the knob in slices toward `goal` until usage is within `slack` of it, the deadline, *stop, or swap running
 * out (-EAGAIN); between slices it waits where hold_between says. A swapoff empties the host's free swap at once,
 * which ends the step at the next slice.
 */
static int lower_and_wait(const struct harvest_step_args *a, enum harvest_knob k, uint64_t before, uint64_t ceiling,
			  uint64_t goal, uint64_t slack, uint64_t deadline_ms)
{
	uint64_t usage, start = ceiling, hold;
	int err;

	for (;;) {
		if ((err = cg_usage(a->cg, &usage)))
			return err;
		if (usage <= sat_add(goal, slack))
			return 0;
		if (stopping(a->stop) || clock_ms() >= deadline_ms)
			return -ETIMEDOUT;
		if (!swap_left())
			return -EAGAIN;
		if (ceiling > goal) {
			ceiling = max_u64(goal, sat_sub(min_u64(ceiling, usage), HARVEST_SLICE));
			hold = hold_between(a->cg, k, before, start, usage, ceiling);
			if ((err = lower_to(a->cg, k, ceiling)))
				return err;
			/* The last slice stays: usage is at the goal then, and the step ends at the next turn. */
			if (ceiling > goal && (err = knob_set(a->cg, k, hold)))
				return err;
			continue;
		}
		sleep_ms(POLL_MS);
	}
}

/* The last journal error reported, so that a full disk is said once, not at every step (steps run on one thread). */
static int journal_err_reported;

static int step_with_knob(const struct harvest_step_args *a, enum harvest_knob k, uint64_t u0,
			  struct harvest_step_result *r)
{
	struct harvest_journal j = { .knob = k };
	uint64_t goal = sat_sub(u0, a->bytes), deadline = sat_add(clock_ms(), a->timeout_ms);
	char s[16];
	int err, rerr;

	if (!goal)
		return -EINVAL;
	if ((err = knob_get(a->cg, k, &j.previous)))
		return err;
	snprintf(j.cgroup, sizeof(j.cgroup), "%s", a->cg->name);
	if ((err = harvest_journal_write(a->journal, &j))) {
		if (err != journal_err_reported)
			log_err("harvest: cannot write the journal %s (%s): not lowering the %s of %s until it can be "
				"written", a->journal->path, strerror(-err), harvest_knob_name(k), a->cg->name);
		journal_err_reported = err;
		return err;
	}
	journal_err_reported = 0;
	err = lower_and_wait(a, k, j.previous, min_u64(j.previous, u0), goal, a->bytes / 8, deadline);
	rerr = harvest_knob_restore(a->cg, k, j.previous, a->stop);
	if (rerr) {
		r->unrestored = true;
		log_err("harvest: the %s of %s is still lowered; %s keeps its previous value %s", harvest_knob_name(k),
			a->cg->name, a->journal->path, value_str(j.previous, s, sizeof(s)));
	} else if ((rerr = harvest_journal_remove(a->journal))) {
		log_err("harvest: cannot remove the journal %s: %s", a->journal->path, strerror(-rerr));
	}
	return err;
}

int harvest_step_run(const struct harvest_step_args *a, struct harvest_step_result *r)
{
	uint64_t u0, u1;
	int err;

	*r = (struct harvest_step_result){ 0 };
	if ((err = cg_usage(a->cg, &u0)))
		return err;
	if (a->cg->hier->version == 2) {
		err = a->cg->hier->ops->reclaim(a->cg, a->bytes);
		/* memory.reclaim appeared in Linux 5.19: older kernels only have memory.high. */
		if (err == -ENOENT)
			err = step_with_knob(a, HARVEST_KNOB_HIGH, u0, r);
	} else {
		err = step_with_knob(a, HARVEST_KNOB_LIMIT, u0, r);
	}
	if (!cg_usage(a->cg, &u1))
		r->reclaimed = sat_sub(u0, u1);
	return err;
}
