/*
 * ctl: the controller's state, and its start-up and shutdown (ctl.c). The parts that work on it each have their
 * own header: the loop and the decision (loop.c, this header), the worker's supervision (supervise.h), the API's
 * backend (ctl_api.h), status reporting (status.h).
 *
 * The loop's rule: an event handler (a notification, a worker reply, an API request, a tick) only records what
 * happened in `due`; the loop acts on it once per turn, after every event of the turn was handled
 * (ctl_end_turn). No handler runs the decision, signals apps or writes /proc from inside another part's callback.
 */
#ifndef USBD_CONTROL_CTL_H
#define USBD_CONTROL_CTL_H

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
	struct wmsg_stats stats;      /* last WMSG_STATS */
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

/* Start-up: options -> domain -> params -> worker cgroup -> event sources -> worker. Returns 0, or -errno
 * having printed why and changed nothing on the system. */
int ctl_init(struct ctl *c, const struct options *o);
/* Runs until SIGTERM/SIGINT (returns 0) or until the app cgroup or the domain disappears (returns -ENOENT). */
int ctl_run(struct ctl *c);
/* Frees the balloon, stops the worker, removes what usbd created. */
void ctl_shutdown(struct ctl *c);

/* loop.c: handles one turn's events (as epoll_wait returned them), then ctl_end_turn(). */
void ctl_turn(struct ctl *c, const struct epoll_event *ev, int n);
/* loop.c: does what the turn's events asked for (see struct ctl_due); the only caller of the decision. */
void ctl_end_turn(struct ctl *c);
/* The targets changed (API, tests): sets them, derives the policy's parameters, marks the decision due. */
void ctl_set_targets(struct ctl *c, const struct targets *t);

#endif
