/* supervise: starting the balloon worker, talking to it, and restarting it after a cool-down if it dies. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "control/state.h"
#include "control/supervise.h"
#include "control/worker_role.h"
#include "sys/oom_score.h"

#define WORKER_LIVED_LONG_MS 60000u   /* a worker that lived this long resets the restart back-off */
#define WORKER_RESTART_MAX_MS 60000u
#define SPOT_STATS_MS 1000u           /* how often the spot store's figures are asked for */

/* Pinned (deflate_on_oom=false): the operator sold this memory firmly, so the kernel must not pick the worker. */
static int worker_oom_score(const struct ctl *c)
{
	return c->params.deflate_on_oom ? 1000 : -1000;
}

void ctl_worker_set_oom_score(struct ctl *c)
{
	int r;

	c->wk.cfg.oom_score_adj = worker_oom_score(c);
	if (c->wk.up && (r = oom_score_set(c->wk.h.pid, c->wk.cfg.oom_score_adj)))
		log_err("cannot set the worker's oom_score_adj to %d: %s", c->wk.cfg.oom_score_adj, strerror(-r));
}

int ctl_worker_start(struct ctl *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	c->wk.cfg.exe = WORKER_EXE_SELF;
	c->wk.cfg.cg = c->dom.worker;
	c->wk.cfg.mode = c->opt.mode;
	c->wk.cfg.oom_score_adj = worker_oom_score(c);
	if (strcmp(c->wk.spot.listen, "off"))
		worker_role_spot_settings(&c->wk.spot, &c->wk.cfg);
	if ((r = worker_start(&c->wk.cfg, &c->wk.h))) {
		log_err("cannot start the balloon worker: %s", strerror(-r));
		return r;
	}
	ev.data.u32 = TAG_WORKER_SOCK;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wk.h.fd, &ev) == 0) {
		ev.data.u32 = TAG_WORKER_EXIT;
		r = epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wk.h.pidfd, &ev) ? -errno : 0;
	} else {
		r = -errno;
	}
	c->wk.up = true;
	c->wk.ready = false;
	c->wk.started_ms = clock_ms();
	c->wk.grab = 0;
	c->wk.grow_seq = c->wk.shrink_seq = -1;
	c->wk.reflex_bytes = 0;
	if (r) {
		log_err("cannot watch the balloon worker: %s", strerror(-r));
		worker_stop(&c->wk.h, 1000);
		c->wk.up = false;
		return r;
	}
	log_info("balloon worker %d started in cgroup %s", (int)c->wk.h.pid, c->dom.worker.name);
	return 0;
}

/*
 * Reclaimable mode: the worker held `resident` bytes (just before a reply's operation, or now), less than it last
 * reported: the kernel took the rest by itself, inline with reclaim. For re-inflation this is a deflation like any
 * other: it waits the cool-down, so that the controller does not refill what reclaim just emptied.
 */
static void note_reclaimed(struct ctl *c, uint64_t resident)
{
	uint64_t now = clock_ms();
	char a[16], b[16];

	/* A drop of less than a chunk is noise (the zero page counted, a page refaulted by a read). */
	if (sat_add(resident, POLICY_CHUNK) > c->wk.grab)
		return;
	c->due.reclaimed = c->due.decide = true; /* the policy starts its cool-down */
	c->last_deflation.reason = POLICY_REASON_RECLAIMED;
	c->last_deflation.bytes = c->wk.grab - resident;
	c->last_deflation.at_ms = now;
	c->deflations[POLICY_REASON_RECLAIMED]++;
	log_info("the kernel reclaimed %s of the balloon (resident %s); re-inflation waits the cool-down",
		 size_format(c->wk.grab - resident, a, sizeof(a)), size_format(resident, b, sizeof(b)));
}

/* In reclaimable mode the grab is what is still resident: the memory the kernel dropped is the producer's again. */
static void on_stats(struct ctl *c, const struct wmsg *m)
{
	c->wk.stats = m->u.stats;
	if (c->opt.mode != BALLOON_RECLAIMABLE) {
		c->wk.grab = m->u.stats.grab;
		return;
	}
	/* The worker answers in order and stats are only asked with nothing in flight, so c->wk.grab is what it held
	 * before this reply. */
	note_reclaimed(c, m->u.stats.resident);
	c->wk.grab = m->u.stats.resident;
}

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns >= from_ns ? (double)(to_ns - from_ns) / 1e6 : -(double)(from_ns - to_ns) / 1e6;
}

/*
 * A shrink's path, each hop from the controller's wake-up (CLOCK_MONOTONIC, shared by both processes): the domain
 * read, the decision, the message sent, the worker's start, its munmap done, and this reply seen. The wake-up's own
 * time is printed in ns so that a benchmark can join it to the moment the app crossed the edge.
 */
static void log_hops(const struct ctl *c, const struct wmsg_done *d)
{
	uint64_t woke = c->wk.shrink_ns.woke;

	if (!woke || !d->started_ns)
		return;
	log_debug("hops: woke at %llu ns; read +%.3f decided +%.3f sent +%.3f worker began +%.3f released +%.3f "
		  "reply seen +%.3f ms", (unsigned long long)woke, ms_between(woke, c->wk.shrink_ns.read),
		  ms_between(woke, c->wk.shrink_ns.decided), ms_between(woke, c->wk.shrink_ns.sent),
		  ms_between(woke, d->started_ns), ms_between(woke, d->started_ns + d->elapsed_ns),
		  ms_between(woke, clock_ns()));
}

static void on_done(struct ctl *c, const struct wmsg *m)
{
	char a[16], b[16];
	bool grow = (int64_t)m->hdr.seq == c->wk.grow_seq;

	if (grow)
		c->wk.grow_seq = -1;
	else if ((int64_t)m->hdr.seq == c->wk.shrink_seq)
		c->wk.shrink_seq = -1;
	/* Reclaimable mode: grab and changed are resident bytes, so what was resident before the operation shows. */
	if (c->opt.mode == BALLOON_RECLAIMABLE)
		note_reclaimed(c, grow ? sat_sub(m->u.done.grab, m->u.done.changed) :
				   sat_add(m->u.done.grab, m->u.done.changed));
	c->wk.grab = m->u.done.grab;
	if (m->u.done.err)
		log_warn("worker could not %s fully: %s (changed %s, holds %s)", grow ? "grow" : "shrink",
			 strerror(-m->u.done.err), size_format(m->u.done.changed, a, sizeof(a)),
			 size_format(m->u.done.grab, b, sizeof(b)));
	else
		log_debug("worker %s %s in %.2f ms, holds %s", grow ? "grew" : "released",
			  size_format(m->u.done.changed, a, sizeof(a)), (double)m->u.done.elapsed_ns / 1e6,
			  size_format(m->u.done.grab, b, sizeof(b)));
	if (!grow)
		log_hops(c, &m->u.done);
}

/*
 * The worker's reflex fired: it released on its own when the app crossed into the headroom. The controller counts it
 * as an app-growth deflation, re-arms the threshold it used up, and decides at once on fresh readings: what the app
 * needs beyond the reflex goes out then.
 */
static void on_reflexed(struct ctl *c, const struct wmsg *m)
{
	const struct wmsg_done *d = &m->u.done;
	char a[16], b[16];

	if (c->opt.mode == BALLOON_RECLAIMABLE)
		note_reclaimed(c, sat_add(d->grab, d->changed));
	c->wk.grab = d->grab;
	/* A reflex the controller had already replaced (its report crossed the new one) leaves the new one armed. */
	if (m->hdr.seq == c->wk.reflex_seq) {
		c->wk.reflex_bytes = 0;
		notify_first_returned(&c->notify); /* the worker closed it: one shot */
	}
	c->due.reflexed = true;
	c->last_deflation.reason = POLICY_REASON_APP_GROWTH;
	c->last_deflation.bytes = d->changed;
	c->last_deflation.at_ms = clock_ms();
	c->deflations[POLICY_REASON_APP_GROWTH]++;
	if (d->err)
		log_warn("the worker's reflex released %s of what was armed: %s (holds %s)",
			 size_format(d->changed, a, sizeof(a)), strerror(-d->err), size_format(d->grab, b, sizeof(b)));
	else
		log_info("deflating %s (app_growth, by the worker's reflex in %.2f ms): holds %s",
			 size_format(d->changed, a, sizeof(a)), (double)d->elapsed_ns / 1e6,
			 size_format(d->grab, b, sizeof(b)));
	log_debug("hops: reflex woke at %llu ns; released +%.3f reply seen +%.3f ms", (unsigned long long)d->started_ns,
		  ms_between(d->started_ns, d->started_ns + d->elapsed_ns), ms_between(d->started_ns, clock_ns()));
}

void ctl_worker_on_message(struct ctl *c)
{
	struct wmsg m;
	int r;

	while ((r = worker_receive(&c->wk.h, &m)) == 0) {
		switch (m.hdr.type) {
		case WMSG_HELLO:
			c->wk.ready = true;
			log_debug("balloon worker ready %llu ms after its start",
				  (unsigned long long)(clock_ms() - c->wk.started_ms));
			break;
		case WMSG_DONE:
			on_done(c, &m);
			break;
		case WMSG_STATS:
			on_stats(c, &m);
			break;
		case WMSG_REFLEXED:
			on_reflexed(c, &m);
			break;
		default:
			log_warn("unexpected message type %u from the worker", m.hdr.type);
			break;
		}
	}
	if (r != -EAGAIN && r != -ECONNRESET)
		log_warn("bad message from the worker: %s", strerror(-r));
	/* A reply may allow the next step at once rather than at the next tick. */
	c->due.decide = true;
}

void ctl_worker_on_exit(struct ctl *c)
{
	uint64_t now = clock_ms(), delay;
	int status = 0;

	if (worker_reap(&c->wk.h, &status) <= 0)
		return;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->wk.h.fd, NULL);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->wk.h.pidfd, NULL);
	worker_stop(&c->wk.h, 0); /* closes the handle's fds; the process is already reaped */
	c->wk.up = c->wk.ready = false;
	c->wk.grab = 0;
	c->wk.grow_seq = c->wk.shrink_seq = -1;
	/* The threshold at the headroom's edge went with the worker's reflex: the controller watches it again. */
	if (c->wk.reflex_bytes) {
		c->wk.reflex_bytes = 0;
		notify_first_returned(&c->notify);
		c->due.decide = true;
	}
	if (now - c->wk.started_ms > WORKER_LIVED_LONG_MS)
		c->wk.deaths_in_row = 0;
	delay = (uint64_t)c->opt.worker_cooldown_ms << min_u64(c->wk.deaths_in_row, 4);
	delay = min_u64(delay, max_u64(WORKER_RESTART_MAX_MS, c->opt.worker_cooldown_ms));
	c->wk.deaths_in_row++;
	c->wk.restart_at_ms = now + delay;
	if (WIFSIGNALED(status))
		log_warn("balloon worker died from signal %d (%s); its memory is back; restarting in %llu ms",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), (unsigned long long)delay);
	else
		log_warn("balloon worker exited with status %d; restarting in %llu ms", WEXITSTATUS(status),
			 (unsigned long long)delay);
}

/* Whether to ask the worker for its figures now. Reclaimable mode: on every tick (the kernel may take memory at any
 * time and tells nobody; ask what is still resident). With a spot store: every SPOT_STATS_MS, for its figures in
 * the status and metrics. Not while a grow or shrink runs: a pending request would cut a grow short between batches. */
static bool stats_due(const struct ctl *c, uint64_t now_ms)
{
	if (!c->wk.ready || c->wk.grow_seq >= 0 || c->wk.shrink_seq >= 0)
		return false;
	return c->opt.mode == BALLOON_RECLAIMABLE ||
	       (strcmp(c->wk.spot.listen, "off") && now_ms - c->wk.stats_asked_ms >= SPOT_STATS_MS);
}

void ctl_worker_tick(struct ctl *c, uint64_t now_ms)
{
	if (stats_due(c, now_ms)) {
		c->wk.stats_asked_ms = now_ms;
		if (worker_request(&c->wk.h, WMSG_STATS_REQ, 0) < 0)
			log_warn("cannot ask the worker for its figures");
	}
	if (c->wk.up || c->stop || now_ms < c->wk.restart_at_ms)
		return;
	if (ctl_worker_start(c) == 0)
		c->wk.restarts++;
	else
		c->wk.restart_at_ms = now_ms + max_u64(c->opt.worker_cooldown_ms, 1000);
}

int ctl_worker_resize(struct ctl *c, enum policy_action action, uint64_t bytes, bool urgent)
{
	int64_t seq;

	if (!c->wk.ready)
		return -EAGAIN;
	if (action == POLICY_INFLATE) {
		if (c->wk.grow_seq >= 0 || c->wk.shrink_seq >= 0)
			return -EBUSY;
		seq = worker_request(&c->wk.h, WMSG_GROW, bytes);
		if (seq >= 0) {
			c->wk.grow_seq = seq;
			c->wk.grow_bytes = bytes;
		}
	} else {
		/* A shrink in flight already counts toward the deficit; only an urgent one goes past it. */
		if (c->wk.shrink_seq >= 0 && !urgent)
			return -EBUSY;
		seq = worker_request(&c->wk.h, WMSG_SHRINK, bytes);
		if (seq >= 0) {
			c->wk.shrink_seq = seq;
			c->wk.shrink_bytes = bytes;
			c->wk.shrink_ns.woke = c->turn_ns;
			c->wk.shrink_ns.read = c->read_ns;
			c->wk.shrink_ns.decided = c->decided_ns;
			c->wk.shrink_ns.sent = clock_ns();
		}
	}
	if (seq < 0)
		log_warn("cannot send a request to the worker: %s", strerror((int)-seq));
	return seq < 0 ? (int)seq : 0;
}
