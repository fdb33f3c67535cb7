/*
 * ctl: the controller's state and its parts — start-up and shutdown (ctl.c), the epoll loop and the decision
 * step (loop.c), the worker's supervision (supervise.c), status reporting (status.c).
 */
#ifndef USBD_CONTROL_CTL_H
#define USBD_CONTROL_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "balloon/worker.h"
#include "sys/domain.h"
#include "control/notify.h"
#include "control/options.h"
#include "policy/balloon.h"
#include "spot/spot.h"

struct api_server;
struct registry;
struct harvester;

/* epoll tags (data.u32) */
enum {
	TAG_TIMER = 1, TAG_SIGNAL, TAG_WORKER_SOCK, TAG_WORKER_EXIT, TAG_API, TAG_REGISTRY,
	TAG_NOTIFY = 100,          /* + notify index */
};

#define REASON_COUNT (POLICY_REASON_RECLAIMED + 1)

struct ctl {
	struct options opt;
	struct domain dom;
	struct policy_params params;
	struct policy_history hist;
	uint64_t swap_target, threshold;
	uint16_t stats_interval_s;

	/* the worker */
	struct worker_config wcfg;
	struct spot_config spot;   /* the worker's tenant, unless --spot-listen off */
	struct worker_handle w;
	bool worker_up;            /* process exists */
	bool worker_ready;         /* said hello, takes requests */
	uint64_t worker_started_ms, worker_restart_at_ms;
	uint32_t worker_restarts, worker_deaths_in_row;
	uint64_t grab;             /* bytes the worker last reported holding */
	int64_t grow_seq, shrink_seq; /* requests in flight, -1 when none */
	uint64_t shrink_bytes;     /* asked of the shrink in flight (UINT64_MAX: everything) */
	struct wmsg_stats wstats;  /* last WMSG_STATS */

	/* events */
	int epfd, timerfd, sigfd;
	struct notify notify;
	enum policy_pressure pending_pressure;
	bool pending_oom;
	enum policy_pressure pressure;     /* shown in status: the last level seen, decays after calm */
	uint64_t pressure_at_ms;
	uint64_t foreign_pressure_at_ms;   /* the last pressure event not caused by a harvest step (0: none yet) */

	/* what happened */
	struct domain_reading reading;
	struct { enum policy_reason reason; uint64_t bytes, at_ms; } last_deflation;
	uint64_t deflations[REASON_COUNT];
	uint64_t next_status_ms;
	volatile bool stop;
	int exit_err;              /* -errno when the loop stopped on its own (the app cgroup vanished), else 0 */
	struct api_server *api;
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

/* loop.c: runs one decision now (after an event, a tick or an API change). */
void ctl_decide(struct ctl *c);
/* loop.c: applies a change of the targets made through the API or by tests. */
void ctl_targets_changed(struct ctl *c, bool headroom_changed);

/* supervise.c */
int ctl_worker_start(struct ctl *c);
void ctl_worker_on_message(struct ctl *c);
void ctl_worker_on_exit(struct ctl *c);
void ctl_worker_tick(struct ctl *c, uint64_t now_ms);
/* Sends a grow/shrink unless one is in flight; returns 0, -EBUSY or -errno. */
int ctl_worker_resize(struct ctl *c, enum policy_action action, uint64_t bytes, bool urgent);
void ctl_worker_set_oom_score(struct ctl *c);

/* status.c */
void ctl_status_line(struct ctl *c);
const char *ctl_pressure_name(enum policy_pressure p);

#endif
