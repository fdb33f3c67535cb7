/*
 * state: the controller's state, data only. The parts that work on it each have their own header and include this
 * one, never each other's: start-up and shutdown (ctl.h), the loop and the decision (loop.h), the worker's
 * supervision (supervise.h), the API's backend (ctl_api.h), status reporting (status.h).
 *
 * Handlers only record what happened in `due`; the loop acts on it once per turn (loop.h).
 */
#ifndef USBD_CONTROL_STATE_H
#define USBD_CONTROL_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "balloon/worker.h"
#include "sys/domain.h"
#include "control/notify.h"
#include "control/options.h"
#include "control/targets_file.h"
#include "policy/balloon.h"
#include "policy/targets.h"
#include "spot/spot.h"

struct api_server;
struct metrics_server;
struct registry;
struct harvester;

/* epoll tags (data.u32) */
enum {
	TAG_TIMER = 1, TAG_SIGNAL, TAG_WORKER_SOCK, TAG_WORKER_EXIT, TAG_API, TAG_REGISTRY, TAG_METRICS,
	TAG_NOTIFY = 100,          /* + notify index */
};

#define REASON_COUNT (POLICY_REASON_RECLAIMED + 1)

/* What this turn's events asked for; acted on once, at the end of the turn. */
struct ctl_due {
	bool decide;                  /* run the decision */
	bool tick;                    /* the timer fired: the worker's and harvester's periodic work */
	bool rearm;                   /* the headroom changed: move the usage thresholds */
	bool oom_score;               /* deflate_on_oom changed: the worker's oom_score_adj */
	enum policy_pressure pressure; /* strongest pressure event since the last decision */
	bool oom;                     /* an OOM event since the last decision */
	bool reclaimed;               /* the kernel dropped balloon pages (reclaimable mode) */
	bool reflexed;                /* the worker's reflex released memory */
	bool save_targets;            /* targets were set at run time: write the state file (ctl_targets.h) */
};

/* The balloon worker as the controller sees it; supervise.c owns it. */
struct ctl_worker {
	struct worker_config cfg;
	struct spot_config spot;      /* the worker's tenant, unless --spot-listen off */
	struct worker_handle h;
	bool up;                      /* process exists */
	bool ready;                   /* said hello, takes requests */
	uint64_t started_ms, restart_at_ms;
	uint32_t restarts, deaths_in_row;
	uint64_t grab;                /* bytes the worker last reported holding */
	int64_t grow_seq, shrink_seq; /* requests in flight, -1 when none */
	uint64_t shrink_bytes;        /* asked of the shrink in flight (UINT64_MAX: everything) */
	uint64_t grow_bytes;          /* asked of the grow in flight */
	/* CLOCK_MONOTONIC ns of the shrink in flight's path in the controller: the turn's wake-up, the domain read, the
	 * decision, the message sent; with the worker's WMSG_DONE they make the reaction's breakdown (debug log). */
	struct { uint64_t woke, read, decided, sent; } shrink_ns;
	uint64_t reflex_bytes;        /* the worker's armed reflex (it holds the threshold at the headroom's edge); 0:
	                               * none, the controller watches that threshold itself */
	uint64_t reflex_seq;          /* the seq of the WMSG_REFLEX that armed it, which its WMSG_REFLEXED echoes */
	uint64_t reflex_past_edge_ms; /* when a decision first saw the usage past the armed reflex's edge; 0: not */
	struct wmsg_stats stats;      /* last WMSG_STATS */
	uint64_t stats_asked_ms;      /* when WMSG_STATS_REQ was last sent */
};

struct ctl {
	struct options opt;
	struct domain dom;
	struct targets tg;            /* the one owner of the targets (policy/targets.h); params follow it */
	enum target_source tg_src[TARGET_COUNT]; /* where each target's value came from (ctl_targets.h) */
	struct targets saved;         /* the targets set at run time, as the state file keeps them */
	unsigned saved_mask;          /* which of them were */
	struct state_file state;      /* dirfd -1: --state-file off */
	struct policy_params params;  /* the decision's tunables */
	struct policy_history hist;   /* policy_decide()'s own */
	uint16_t stats_interval_s;
	struct ctl_due due;
	uint64_t decisions;           /* decisions run (tests: one per turn at most) */
	uint64_t turn_ns;             /* CLOCK_MONOTONIC when this turn's epoll_wait returned */
	uint64_t read_ns, decided_ns; /* this turn's decision: domain read, policy decided */

	struct ctl_worker wk;

	/* events */
	int epfd, timerfd, sigfd;
	struct notify notify;
	enum policy_pressure pressure;     /* shown in status: the last level seen, decays after calm */
	uint64_t pressure_at_ms;
	uint64_t foreign_pressure_at_ms;   /* the last pressure event not caused by a harvest step (0: none yet) */

	/* what happened */
	struct domain_reading reading;
	struct { enum policy_reason reason; uint64_t bytes, at_ms; } last_deflation;
	uint64_t deflations[REASON_COUNT];
	uint64_t next_status_ms;
	uint64_t watchdog_ms, watchdog_sent_ms, next_systemd_status_ms; /* systemd: WatchdogSec/2 pings, STATUS= */
	bool systemd_warned;
	volatile bool stop;
	int exit_err;              /* -errno when the loop stopped on its own (the app cgroup vanished), else 0 */
	struct api_server *api;
	struct metrics_server *metrics; /* --metrics-listen; NULL when off */
	struct registry *reg;      /* libusbd apps; NULL with --apps-sock off */
	struct harvester *harvest; /* swap target */
};

/* The targets changed (start-up, API): sets them, derives the policy's parameters, marks the decision due. */
static inline void ctl_set_targets(struct ctl *c, const struct targets *t)
{
	if (t->v[TARGET_HEADROOM] != c->params.headroom)
		c->due.rearm = true;
	c->tg = *t;
	c->params.grab_lower = t->v[TARGET_GRAB_LOWER];
	c->params.grab_upper = t->v[TARGET_GRAB_UPPER];
	c->params.headroom = t->v[TARGET_HEADROOM];
	c->due.decide = true;
}

#endif
