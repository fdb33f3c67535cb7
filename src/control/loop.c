/*
 * loop: the controller's single epoll loop. Each turn handles the events epoll_wait returned, where handlers only
 * record what happened (struct ctl_due), then ctl_end_turn() acts once: the decision, the worker's and harvester's
 * periodic work, the registry's SIGBALLOON round, the API's timeouts. Like Redis's before-sleep hook.
 */
#include "control/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "apps/registry.h"
#include "control/ctl_api.h"
#include "control/ctl_metrics.h"
#include "control/ctl_targets.h"
#include "control/state.h"
#include "control/status.h"
#include "control/supervise.h"
#include "harvest/harvest.h"
#include "sys/cgroup.h"
#include "sys/sd_notify.h"

#define PRESSURE_SHOWN_MS 10000u  /* the status keeps showing a pressure level this long after the event */

static void note_pressure(struct ctl *c, enum policy_pressure p, uint64_t now)
{
	if (p > c->due.pressure)
		c->due.pressure = p;
	c->due.decide = true;
	if (p >= c->pressure || now - c->pressure_at_ms > PRESSURE_SHOWN_MS) {
		c->pressure = p;
		c->pressure_at_ms = now;
	}
}

#define REFLEX_WAIT_MS 100u  /* how long an app-growth release waits for a reflex whose edge the app has passed */

/*
 * Whether the worker's reflex is releasing right now: it is armed and the domain's usage is at or past its threshold
 * (the edge less NOTIFY_ANTICIPATE), so the kernel has signalled it or will at the app's next charge. Its release is
 * then as good as done, like a shrink in flight: an app-growth release of the controller's own waits for its
 * WMSG_REFLEXED (which decides again at once), so that one crossing is not released twice. Should the kernel not
 * signal it (an app that stopped right past the threshold, between two of its checks), the controller releases alone
 * after REFLEX_WAIT_MS.
 */
static bool reflex_in_flight(struct ctl *c, uint64_t now)
{
	if (!c->wk.reflex_bytes || c->reading.usage < notify_first_level(&c->notify)) {
		c->wk.reflex_past_edge_ms = 0;
		return false;
	}
	if (!c->wk.reflex_past_edge_ms)
		c->wk.reflex_past_edge_ms = now;
	return now - c->wk.reflex_past_edge_ms < REFLEX_WAIT_MS;
}

/* The plan becomes a message to the worker. */
static void act(struct ctl *c, const struct policy_snapshot *s, const struct policy_plan *plan, uint64_t now)
{
	char a[16];

	if (plan->action == POLICY_HOLD || plan->bytes == 0)
		return;
	if (plan->reason == POLICY_REASON_APP_GROWTH && reflex_in_flight(c, now))
		return;
	bool urgent = plan->reason == POLICY_REASON_CRITICAL || plan->reason == POLICY_REASON_OOM ||
		      plan->reason == POLICY_REASON_UPPER;
	if (ctl_worker_resize(c, plan->action, plan->bytes, urgent))
		return;
	if (plan->action == POLICY_DEFLATE) {
		c->last_deflation.reason = plan->reason;
		c->last_deflation.bytes = plan->bytes;
		c->last_deflation.at_ms = now;
		c->deflations[plan->reason]++;
		log_info("deflating %s (%s): free %s", size_format(plan->bytes, a, sizeof(a)),
			 policy_reason_name(plan->reason), size_format(s->free, (char[16]){ 0 }, 16));
	}
}

#define REARM_SLACK (4 * MIB)

/* Whether the worker may take the threshold at the headroom's edge now: a reflex to arm, and usage clearly under the
 * edge. A v1 threshold fires on a crossing either way: registered above the edge, it would fire when the app
 * shrinks, and the reflex would release for nothing. */
static bool reflex_may_arm(const struct ctl *c, uint64_t reflex)
{
	return reflex && c->wk.ready && !c->opt.no_reflex && !c->notify.no_usage &&
	       c->reading.free > sat_add(c->params.headroom, REARM_SLACK);
}

/*
 * Keeps the usage thresholds where free memory meets the headroom. Raw usage includes inactive page cache, which
 * free memory counts as free, so the edge moves with it; a threshold left at (total - headroom) would fire early,
 * find nothing to do, and let the real crossing pass unnoticed until the next tick.
 * The first threshold, at the edge itself, goes to the worker's reflex when one may be armed (reflex: its amount,
 * policy_reflex): the worker then releases the moment the app crosses, and the controller follows on its
 * WMSG_REFLEXED. While the edge stays, the armed reflex keeps its threshold and only its amount follows the grab and
 * the growth. Registering a v1 threshold waits for an RCU grace period, so this runs after the decision's message
 * is sent, and registers only what is missing (notify_arm_usage).
 */
static void rearm_thresholds(struct ctl *c, uint64_t reflex)
{
	uint64_t edge = sat_sub(sat_add(c->dom.total, c->reading.inactive_file), c->params.headroom);
	uint64_t old = c->notify.usage_edge;
	bool moved = c->due.rearm || !old || (edge > old ? edge - old : old - edge) >= REARM_SLACK;
	bool arm, stale;
	int fd = -1, r;

	if (c->opt.no_events)
		return;
	if (!moved)
		edge = old;
	if (c->wk.reflex_bytes && reflex && !moved) {
		if (reflex != c->wk.reflex_bytes) {
			if ((r = worker_send_reflex(&c->wk.h, reflex, -1)))
				log_warn("cannot re-size the worker's reflex: %s", strerror(-r));
			else
				c->wk.reflex_bytes = reflex;
		}
		return;
	}
	arm = reflex_may_arm(c, reflex);
	/* The armed reflex's threshold is stale (the edge moved) or it has nothing left to release: a new one replaces
	 * it below, or it is disarmed. */
	stale = c->wk.reflex_bytes != 0;
	if (stale) {
		c->wk.reflex_bytes = 0;
		notify_first_returned(&c->notify);
	}
	if (!moved && !arm && !stale && (c->notify.fd[0] >= 0 || c->notify.no_usage))
		return; /* nothing missing */
	notify_arm_usage(&c->notify, &c->dom, edge, max_u64(c->params.headroom / 4, 2 * POLICY_CHUNK), c->epfd,
			 TAG_NOTIFY, arm ? &fd : NULL);
	c->due.rearm = false;
	if (fd < 0) {
		if (stale && (r = worker_send_reflex(&c->wk.h, 0, -1)))
			log_warn("cannot disarm the worker's reflex: %s", strerror(-r));
		return;
	}
	c->wk.reflex_seq = c->wk.h.next_seq;
	if ((r = worker_send_reflex(&c->wk.h, reflex, fd)) == 0) {
		c->wk.reflex_bytes = reflex;
		close(fd); /* the worker holds its own copy: the threshold lives as long as that one */
		return;
	}
	log_warn("cannot arm the worker's reflex: %s; watching the headroom's edge here", strerror(-r));
	/* The handed threshold sits early, for the reflex: the controller registers its own at the edge itself. */
	close(fd);
	notify_first_returned(&c->notify);
	notify_arm_usage(&c->notify, &c->dom, edge, max_u64(c->params.headroom / 4, 2 * POLICY_CHUNK), c->epfd,
			 TAG_NOTIFY, NULL);
}

static void decide(struct ctl *c)
{
	struct policy_snapshot s = { 0 };
	struct policy_plan plan;
	uint64_t now = clock_ms();
	int64_t grow_seq;
	int r;

	if ((r = domain_read(&c->dom, &c->reading))) {
		/* A removed cgroup never comes back under the same identity: a warning every tick would only hide
		 * that usbd no longer balloons for anyone. */
		if (r == -ENOENT) {
			bool app_gone = access(c->dom.app.path, F_OK) != 0;

			log_err("the %s %s was removed: freeing the balloon and exiting", app_gone ? "app cgroup" : "domain",
				app_gone ? c->dom.app.name : domain_label(&c->dom));
			c->exit_err = r;
			c->stop = true;
			return;
		}
		log_warn("cannot read the domain's usage: %s", strerror(-r));
		return;
	}
	c->read_ns = clock_ns();
	if (c->pressure != POLICY_PRESSURE_NONE && now - c->pressure_at_ms > PRESSURE_SHOWN_MS)
		c->pressure = POLICY_PRESSURE_NONE;
	s.now_ms = now;
	s.total = c->dom.total;
	s.free = c->reading.free;
	/* A shrink in flight is as good as done: deciding on the grab before it would release twice. A grow in flight
	 * likewise: a release asked for meanwhile stops it between batches and must cover what it may have added. */
	s.grab = c->wk.shrink_seq >= 0 ? sat_sub(c->wk.grab, c->wk.shrink_bytes) : c->wk.grab;
	if (c->wk.grow_seq >= 0)
		s.grab = sat_add(s.grab, c->wk.grow_bytes);
	s.app_usage = c->reading.app_usage;
	s.pressure = c->due.pressure;
	s.oom_event = c->due.oom;
	s.reclaimed = c->due.reclaimed;
	s.reflexed = c->due.reflexed;
	s.worker_ready = c->wk.ready;
	plan = policy_decide(&s, &c->params, &c->hist);
	c->decided_ns = clock_ns();
	c->decisions++;
	c->due.pressure = POLICY_PRESSURE_NONE;
	c->due.oom = c->due.reclaimed = c->due.reflexed = false;
	grow_seq = c->wk.grow_seq;
	act(c, &s, &plan, now);
	/* After the act: what follows costs the release nothing. While a new worker starts (its HELLO is due within
	 * milliseconds and it holds nothing yet) the registrations wait for its first grow rather than delay it. */
	if (plan.action == POLICY_DEFLATE)
		s.grab = sat_sub(s.grab, plan.bytes);
	else if (plan.action == POLICY_INFLATE && c->wk.grow_seq != grow_seq)
		s.grab = sat_add(s.grab, plan.bytes);
	if (c->wk.ready || !c->wk.up)
		rearm_thresholds(c, policy_reflex(&s, &c->params, &c->hist));
	if (c->reg)
		registry_tick(c->reg, now, domain_free_for_apps(&c->reading), c->tg.v[TARGET_THRESHOLD]);
}

static void on_signal(struct ctl *c)
{
	struct signalfd_siginfo si;

	while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: freeing the balloon and exiting", strsignal((int)si.ssi_signo));
			c->stop = true;
		}
	}
}

static void on_notify(struct ctl *c, unsigned idx)
{
	uint64_t now = clock_ms();

	if (idx >= NOTIFY_SLOTS || c->notify.fd[idx] < 0)
		return;
	cg_notify_ack(c->notify.fd[idx]);
	log_debug("notification: %s", (const char *[]){ "usage threshold", "medium pressure", "critical pressure",
							 "oom" }[c->notify.kind[idx]]);
	switch (c->notify.kind[idx]) {
	case NOTIFY_USAGE: c->due.decide = true; break;
	case NOTIFY_MEDIUM:
	case NOTIFY_CRITICAL:
		/* A harvest step's own reclaim shows up as the domain's pressure: it must not stall the harvest. */
		if (!harvest_owns_pressure(c->harvest, now))
			c->foreign_pressure_at_ms = now;
		note_pressure(c, c->notify.kind[idx] == NOTIFY_MEDIUM ? POLICY_PRESSURE_MEDIUM : POLICY_PRESSURE_CRITICAL,
			      now);
		break;
	case NOTIFY_OOM:
		if (!notify_is_oom(&c->notify, &c->dom))
			break;
		c->due.oom = true;
		c->foreign_pressure_at_ms = now;
		note_pressure(c, POLICY_PRESSURE_CRITICAL, now);
		break;
	}
}

static void on_tick(struct ctl *c)
{
	uint64_t expirations;

	if (read(c->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	c->due.tick = c->due.decide = true;
}

/* The tick's work that needs this turn's decision made first: the harvester reads the readings it took. */
static void end_tick(struct ctl *c, uint64_t now)
{
	if (c->harvest) {
		struct harvest_input in = {
			.now_ms = now, .usage = c->reading.app_usage, .swap = c->reading.app_swap,
			.target = c->tg.v[TARGET_SWAP_TARGET], .majfault = c->reading.app_majfault,
			.calm = (!c->foreign_pressure_at_ms || now - c->foreign_pressure_at_ms > PRESSURE_SHOWN_MS) &&
				c->reading.free > c->params.headroom,
		};
		harvest_tick(c->harvest, &in);
	}
	ctl_api_tick(c, now);
	ctl_metrics_run(c); /* times out slow scrapers even when no input arrives */
	ctl_status_systemd(c, now);
	if (c->opt.status_interval_s && now >= c->next_status_ms) {
		ctl_status_line(c);
		c->next_status_ms = now + (uint64_t)c->opt.status_interval_s * 1000;
	}
}

void ctl_end_turn(struct ctl *c)
{
	uint64_t now = clock_ms();
	bool tick = c->due.tick;

	c->due.tick = false;
	if (c->due.oom_score) {
		c->due.oom_score = false;
		ctl_worker_set_oom_score(c);
	}
	if (tick)
		ctl_worker_tick(c, now);
	if (c->due.decide || c->due.rearm) {
		c->due.decide = false;
		decide(c);
	}
	if (c->due.save_targets) {
		c->due.save_targets = false;
		ctl_targets_save(c);
	}
	if (tick)
		end_tick(c, now);
}

void ctl_turn(struct ctl *c, const struct epoll_event *ev, int n)
{
	c->turn_ns = clock_ns();
	/* Notifications first: a burst must not wait behind a tick or an API request. */
	for (int i = 0; i < n; i++)
		if (ev[i].data.u32 >= TAG_NOTIFY)
			on_notify(c, ev[i].data.u32 - TAG_NOTIFY);
	for (int i = 0; i < n; i++) {
		switch (ev[i].data.u32) {
		case TAG_TIMER: on_tick(c); break;
		case TAG_SIGNAL: on_signal(c); break;
		case TAG_WORKER_SOCK: if (c->wk.up) ctl_worker_on_message(c); break;
		case TAG_WORKER_EXIT: if (c->wk.up) ctl_worker_on_exit(c); break;
		case TAG_API: ctl_api_run(c); break;
		case TAG_METRICS: ctl_metrics_run(c); break;
		case TAG_REGISTRY: if (c->reg) registry_run(c->reg); break;
		default: break;
		}
	}
	if (!c->stop)
		ctl_end_turn(c);
}

int ctl_run(struct ctl *c)
{
	struct epoll_event ev[16];

	ctl_api_ready(c);
	while (!c->stop) {
		int n = epoll_wait(c->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		ctl_turn(c, ev, n);
	}
	systemd_notify("STOPPING=1");
	return c->exit_err;
}
