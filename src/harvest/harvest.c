/* harvest: the harvester's executor — the controller-side tick, the step thread, start-up repair. */
#include "harvest/harvest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "harvest/journal.h"
#include "harvest/step.h"
#include "sys/procfs.h"

struct harvester {
	struct cgroup app;
	struct harvest_journal_file journal; /* claimed (locked) from open to close */
	uint64_t timeout_ms;
	struct harvest_params params;

	/* the controller's thread only */
	struct harvest_history hist;
	struct harvest_status st;
	bool no_swap;                  /* the last step found no free swap on the host (said once) */

	/* shared with the step thread, under mu */
	pthread_t thread;
	bool started;                  /* harvest_start() started the thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
	uint64_t job;                  /* > 0: a step of this many bytes for the thread */
	bool done;                     /* the thread finished a step: result* are valid */
	int result_err;
	struct harvest_step_result result;
	uint64_t result_ms;
};

void harvest_config_defaults(struct harvest_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->journal_path = HARVEST_JOURNAL_DEFAULT;
	cfg->step_timeout_ms = 1000;
	policy_harvest_defaults(&cfg->params);
}

/*
 * Puts back the knob a step interrupted by a crash left lowered, then removes the journal (see harvest_open() in
 * harvest.h for what each result means). Only the journal's owner may call it: another process's step in flight
 * looks exactly like an interrupted one.
 */
static int repair(const struct cg_hier *h, const struct harvest_journal_file *f)
{
	struct harvest_journal j;
	struct cgroup cg;
	char v[16];
	int err = harvest_journal_read(f, &j);

	if (err == -ENOENT)
		return 0;
	if (err == -EINVAL) {
		log_err("harvest: the journal %s is malformed; removing it: check the app cgroup's limits by hand",
			f->path);
		harvest_journal_remove(f);
		return err;
	}
	if (err == -ELOOP) {
		log_err("harvest: the journal %s is a symbolic link, which usbd never writes: refusing to follow it "
			"(remove it, and check the app cgroup's limits by hand)", f->path);
		return err;
	}
	if (err) {
		log_err("harvest: cannot read the journal %s: %s", f->path, strerror(-err));
		return err;
	}
	err = cg_resolve(h, j.cgroup, &cg);
	if (err == -ENOENT) {
		log_warn("harvest: the journal %s names cgroup %s, which is gone: nothing to restore", f->path,
			 j.cgroup);
		return harvest_journal_remove(f);
	}
	if (!err)
		err = harvest_knob_restore(&cg, j.knob, j.previous, NULL);
	if (err) {
		log_err("harvest: cannot repair the step journalled in %s (cgroup %s): %s; keeping the journal",
			f->path, j.cgroup, strerror(-err));
		return err;
	}
	log_info("harvest: repaired an interrupted step: the %s of %s is back to %s", harvest_knob_name(j.knob),
		 j.cgroup, j.previous == CG_UNLIMITED ? "max" : size_format(j.previous, v, sizeof(v)));
	if ((err = harvest_journal_remove(f)))
		log_err("harvest: cannot remove the journal %s: %s", f->path, strerror(-err));
	return err;
}

static void *step_thread(void *arg)
{
	struct harvester *h = arg;
	struct harvest_step_args a = { .cg = &h->app, .journal = &h->journal, .timeout_ms = h->timeout_ms,
				       .stop = &h->stop };

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->job && !atomic_load(&h->stop))
			pthread_cond_wait(&h->cv, &h->mu);
		if (atomic_load(&h->stop))
			break;
		a.bytes = h->job;
		h->job = 0;
		pthread_mutex_unlock(&h->mu);

		struct harvest_step_result r;
		uint64_t t0 = clock_ms();
		int err = harvest_step_run(&a, &r);

		pthread_mutex_lock(&h->mu);
		h->result_err = err;
		h->result = r;
		h->result_ms = clock_ms() - t0;
		h->done = true;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int claim(struct harvest_journal_file *f, const char *path)
{
	int err = harvest_journal_claim(f, path);

	if (err == -EBUSY)
		log_err("harvest: the journal %s is in use by another usbd (%s.lock is locked): refusing to start", path,
			path);
	else if (err == -EPERM)
		log_err("harvest: the harvest journal's directory %s belongs to uid %u and has mode %04o: it must belong "
			"to uid %u and be writable by no one else; refusing to use it", f->dir, (unsigned)f->dir_uid,
			(unsigned)f->dir_mode, (unsigned)geteuid());
	else if (err)
		log_err("harvest: cannot use the journal %s: %s", path, strerror(-err));
	return err;
}

int harvest_open(struct harvester **out, const struct harvest_config *cfg)
{
	const char *msg = policy_harvest_check(&cfg->params);
	struct harvester *h;
	int err;

	if (!msg && !cfg->step_timeout_ms)
		msg = "harvest step timeout must be positive";
	if (!msg && !cfg->app.hier)
		msg = "harvest needs an app cgroup";
	if (msg) {
		log_err("%s", msg);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = claim(&h->journal, cfg->journal_path ? cfg->journal_path : HARVEST_JOURNAL_DEFAULT);
	if (!err && (err = repair(cfg->app.hier, &h->journal)) == -EINVAL)
		err = 0;  /* malformed: logged and removed; nothing is left to overwrite */
	if (err) {
		harvest_journal_release(&h->journal);
		free(h);
		return err;
	}
	h->app = cfg->app;
	h->timeout_ms = cfg->step_timeout_ms;
	h->params = cfg->params;
	h->st.state = harvest_state_name(HARVEST_IDLE);
	h->st.step_cap = h->params.step_max;
	atomic_init(&h->stop, false);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	*out = h;
	return 0;
}

int harvest_start(struct harvester *h)
{
	sigset_t all, old;
	int err;

	/* Signals belong to the controller's thread (signalfd, handlers): the step thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&h->thread, NULL, step_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		log_err("harvest: cannot start the step thread: %s", strerror(-err));
	h->started = !err;
	return err;
}

static void collect(struct harvester *h, uint64_t now_ms, int err, const struct harvest_step_result *r,
		    uint64_t took_ms)
{
	bool failed = err && err != -ETIMEDOUT && err != -EAGAIN;
	int before = h->st.last_step_error;
	char a[16], b[16];

	policy_harvest_done(&h->hist, now_ms);
	h->st.steps++;
	h->st.last_step_bytes = r->reclaimed;
	h->st.last_step_at_ms = now_ms;
	h->st.last_step_ms = took_ms;
	h->st.last_step_error = err;
	h->st.harvested = sat_add(h->st.harvested, r->reclaimed);
	/* A lasting failure (a full disk, say) is said once, and its end too, rather than at every step. */
	if (failed && err != before)
		log_warn("harvest: step on %s failed: %s (said once until a step succeeds)", h->app.name,
			 strerror(-err));
	else if (!failed && before && before != -ETIMEDOUT && before != -EAGAIN)
		log_info("harvest: steps on %s work again", h->app.name);
	else if (!failed)
		log_debug("harvest: step on %s took %s from usage in %" PRIu64 " ms (swap %s)", h->app.name,
			  size_format(r->reclaimed, a, sizeof(a)), took_ms, size_format(h->st.swap, b, sizeof(b)));
}

/*
 * Whether the host has free swap for a step: without it (swapoff, a full swap) lowering the limit only makes the
 * kernel fail to reclaim, so no step is taken. Read only when a step is due; a failed read does not block steps.
 */
static bool swap_room(struct harvester *h, uint64_t step)
{
	struct meminfo mi;
	bool room;

	if (meminfo_read(&mi))
		return true;
	room = mi.swap_free >= step;
	if (room == h->no_swap)
		log_info(room ? "harvest: free swap is back: harvesting %s again" :
				"harvest: no free swap on the host: not harvesting %s until there is", h->app.name);
	h->no_swap = !room;
	return room;
}

void harvest_tick(struct harvester *h, const struct harvest_input *in)
{
	struct harvest_step_result r;
	struct harvest_decision d;
	uint64_t took_ms = 0;
	bool done;
	int err = 0;

	pthread_mutex_lock(&h->mu);
	done = h->done;
	if (done) {
		h->done = false;
		err = h->result_err;
		r = h->result;
		took_ms = h->result_ms;
	}
	pthread_mutex_unlock(&h->mu);
	h->st.swap = in->swap;
	h->st.target = in->target;
	if (done)
		collect(h, in->now_ms, err, &r, took_ms);
	d = policy_harvest_decide(in, &h->params, &h->hist);
	h->st.state = h->no_swap ? "no_swap" : harvest_state_name(d.state);
	h->st.step_cap = policy_harvest_step_cap(&h->hist, &h->params);
	h->st.backoffs = h->hist.backoffs;
	if (!d.step)
		return;
	if (!swap_room(h, d.step)) {
		/* Not taken: ended at once, so that the policy asks again only after its usual pause. */
		policy_harvest_done(&h->hist, in->now_ms);
		h->st.state = "no_swap";
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->job = d.step;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void harvest_status(const struct harvester *h, struct harvest_status *st)
{
	*st = h->st;
}

bool harvest_owns_pressure(const struct harvester *h, uint64_t now_ms)
{
	return h && policy_harvest_own_pressure(&h->hist, now_ms);
}

void harvest_close(struct harvester *h)
{
	if (!h)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->mu);
		atomic_store(&h->stop, true);
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	/* A step whose restore failed until the stop left its journal: one more try, loudly, before exiting. */
	repair(h->app.hier, &h->journal);
	harvest_journal_release(&h->journal);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
