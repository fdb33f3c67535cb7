/*
 * policy: the balloon's pure decision function, plan = policy_decide(snapshot, params, history).
 * No I/O, no clock: time comes in the snapshot. Unit-tested with synthetic snapshots (tests/unit/test_policy_decide.c).
 * All sizes are bytes; all times are monotonic milliseconds.
 */
#ifndef USBD_POLICY_BALLOON_H
#define USBD_POLICY_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#define POLICY_CHUNK (UINT64_C(2) << 20)     /* the balloon's unit: one 2 MiB huge page */
#define POLICY_GROWTH_SAMPLES 64

enum policy_pressure { POLICY_PRESSURE_NONE = 0, POLICY_PRESSURE_MEDIUM, POLICY_PRESSURE_CRITICAL };

/* What the controller observed, all at time now_ms. */
struct policy_snapshot {
	uint64_t now_ms;
	uint64_t total;          /* the domain's memory: its limit, or MemTotal */
	uint64_t free;           /* the domain's free memory (see docs/POLICY.md for how it is measured) */
	uint64_t grab;           /* bytes the worker holds now (a grow in flight counted as done, a shrink likewise) */
	uint64_t app_usage;      /* the app cgroup's usage */
	enum policy_pressure pressure;  /* strongest pressure event since the last decision */
	bool oom_event;          /* an OOM event in the domain since the last decision */
	bool reclaimed;          /* reclaimable mode: the kernel dropped balloon pages since the last decision; the
	                          * re-inflation then waits the cool-down like after any deflation */
	bool worker_ready;       /* the worker is running and can take a grow/shrink */
	bool reflexed;           /* the worker's reflex released memory since the last decision: an app-growth
	                          * deflation that re-inflation waits out like one the policy made */
};

struct policy_params {
	uint64_t grab_lower;     /* inflate toward this */
	uint64_t grab_upper;     /* above this, deflate at once */
	uint64_t headroom;       /* free memory kept for the producer */
	uint64_t step_max;       /* largest inflation step per decision while the app grows (no limit while it does not) */
	uint64_t burst_margin;   /* minimum extra released on app growth, beyond restoring headroom */
	uint32_t medium_percent; /* share of the grab released on medium pressure */
	uint64_t cooldown_base_ms, cooldown_max_ms; /* re-inflation wait after a deflation, and its cap */
	uint64_t calm_ms;        /* pressure-free time after which the cool-down halves */
	uint64_t growth_window_ms; /* window over which the app's growth is estimated */
	bool deflate_on_oom;     /* false pins the balloon: only the upper bound deflates it */
};

struct policy_sample {
	uint64_t t_ms, usage;    /* the app cgroup's usage at t_ms */
};

/* State carried between decisions; zero-initialise, then let policy_decide() own it. */
struct policy_history {
	struct policy_sample samples[POLICY_GROWTH_SAMPLES]; /* a ring, newest at next - 1 */
	unsigned nsamples, next;
	uint64_t cooldown_ms;        /* current cool-down length (0 until the first pressure) */
	uint64_t inflate_after_ms;   /* no inflation before this time */
	uint64_t last_pressure_ms;   /* last pressure-driven deflation */
	uint64_t last_calm_check_ms; /* last time calm halved the cool-down */
	uint32_t pressure_streak;    /* pressure deflations since the last calm halving */
};

enum policy_action { POLICY_HOLD = 0, POLICY_INFLATE, POLICY_DEFLATE };

enum policy_reason {
	POLICY_REASON_NONE = 0,
	POLICY_REASON_LOWER,     /* inflating toward the lower bound */
	POLICY_REASON_UPPER,     /* grab above the upper bound */
	POLICY_REASON_APP_GROWTH,/* free fell under the headroom */
	POLICY_REASON_MEDIUM,    /* medium pressure */
	POLICY_REASON_CRITICAL,  /* critical pressure */
	POLICY_REASON_OOM,       /* OOM event */
	POLICY_REASON_RECLAIMED, /* reclaimable mode: the kernel dropped balloon pages itself (not a plan's reason) */
};

struct policy_plan {
	enum policy_action action;
	uint64_t bytes;          /* how much to grow or shrink, a multiple of POLICY_CHUNK */
	enum policy_reason reason;
};

/* Fills params with the defaults for a domain of `total` bytes (headroom = min(1 GiB, total / 4), ...). */
void policy_defaults(struct policy_params *p, uint64_t total);

/*
 * Checks params against a domain of `total` bytes: lower <= upper <= total, headroom <= total / 4, step_max of at
 * least one chunk, medium_percent 1..100, positive cool-downs (base <= max), calm and growth window.
 * Returns NULL when fine, else a static message that names the offending field.
 */
const char *policy_params_check(const struct policy_params *p, uint64_t total);

/*
 * The decision. Records the snapshot's app usage in history and updates cool-downs on deflation.
 * HOLD has bytes 0 and reason NONE; INFLATE and DEFLATE have bytes a positive multiple of POLICY_CHUNK, and a
 * DEFLATE never exceeds the whole chunks in s->grab. Never overflows, whatever the sizes.
 */
struct policy_plan policy_decide(const struct policy_snapshot *s, const struct policy_params *p,
				 struct policy_history *h);

/*
 * The app growth expected over the next growth window: the newest usage minus the lowest usage sampled in the
 * last window, scaled up to a whole window when the samples cover less (at most 4 times). 0 without samples.
 */
uint64_t policy_expected_growth(const struct policy_history *h, const struct policy_params *p, uint64_t now_ms);

/*
 * The reflex: what the worker may release on its own the moment free memory falls to the headroom, before the
 * controller has looked: the burst margin plus the app's expected growth, which is what the app-growth rule asks for
 * at that edge (it adds the headroom's shortfall, zero there), so the reflex never releases more than the decision
 * that follows would. 0 when nothing may be released on app growth: the balloon is pinned, or holds no whole chunk.
 * A multiple of POLICY_CHUNK, at most the whole chunks in s->grab (the grab may grow before the reflex fires; the
 * controller re-sizes it when the amount moves). Reads history, never changes it.
 */
uint64_t policy_reflex(const struct policy_snapshot *s, const struct policy_params *p, const struct policy_history *h);

const char *policy_reason_name(enum policy_reason r);
const char *policy_action_name(enum policy_action a);

#endif
