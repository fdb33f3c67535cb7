/*
 * policy_harvest: the harvester's pure decision — whether to move a bounded step of the app cgroup's cold memory
 * into swap now, and how large. No I/O, no clock: time comes in the input (tests/unit/test_policy_harvest.c).
 * The executor (harvest/harvest.h) carries out the step and reports its end with policy_harvest_done().
 * All sizes are bytes; all times are monotonic milliseconds; fault counts are the kernel's cumulative counters.
 */
#ifndef USBD_POLICY_HARVEST_H
#define USBD_POLICY_HARVEST_H

#include <stdbool.h>
#include <stdint.h>

#define HARVEST_SAMPLES 64
#define HARVEST_PAGE (UINT64_C(4) << 10)   /* steps are whole pages */
#define HARVEST_SLOW_START_SHIFT 3           /* the first step is step_max / 8; each clean step doubles the cap */

enum harvest_state {
	HARVEST_IDLE = 0,   /* no target, not enough history yet, or nothing left to take */
	HARVEST_AT_TARGET,  /* swap is within step_min of the target (or above it) */
	HARVEST_GROWING,    /* the app's footprint grew more than the threshold over the window */
	HARVEST_PRESSURE,   /* the domain is not calm */
	HARVEST_BACKOFF,    /* the app faulted too much after a step: pausing */
	HARVEST_STEPPING,   /* a step is in flight, its fault rate is being measured, or the pause after it */
};

/* One reading, taken by the caller on each controller tick. */
struct harvest_input {
	uint64_t now_ms;
	uint64_t usage;        /* the app cgroup's memory usage */
	uint64_t swap;         /* the app cgroup's swap */
	uint64_t target;       /* the swap target; 0 turns harvesting off */
	bool calm;             /* the domain: no pressure and free memory above the headroom */
	uint64_t majfault;     /* the app cgroup's major-fault counter (cg_stat.pgmajfault) */
};

struct harvest_params {
	uint64_t step_max;              /* largest step */
	uint64_t step_min;              /* smallest step worth a limit change; a smaller gap counts as at the target */
	uint32_t usage_share_percent;   /* a step takes at most this share of the app's usage */
	uint64_t stable_window_ms;      /* the footprint must be stable over this long */
	uint32_t stable_growth_percent; /* stable: growth over the window under this share of the footprint ... */
	uint64_t stable_growth_max;     /* ... and under this many bytes */
	uint64_t settle_ms;             /* after a step, the fault rate is measured this long before the next one */
	uint64_t fault_rate_max;        /* major faults per second, over a step and its settling, that back off */
	uint64_t backoff_base_ms, backoff_max_ms; /* the first pause, and the cap of its doubling */
	uint32_t duty_percent;          /* steps take at most this share of wall time: after a step of D ms the
	                                   next waits D x (100 - duty) / duty ms (docs/HARVEST.md, "Pace") */
};

struct harvest_sample {
	uint64_t t_ms, footprint;       /* footprint: usage + swap, which a step does not change */
};

/* State carried between decisions; zero-initialise, then let the functions below own it. */
struct harvest_history {
	struct harvest_sample samples[HARVEST_SAMPLES]; /* a ring, newest at next - 1 */
	unsigned nsamples, next;
	bool in_flight;                 /* a step was handed out and is not done */
	bool settling;                  /* a step is done, its fault rate not judged yet */
	uint64_t step_start_ms, step_start_faults, step_done_ms;
	bool started;                   /* the slow start has been set up */
	unsigned step_shift;            /* the step cap is step_max >> step_shift (halved on each back-off) */
	uint64_t backoff_ms;            /* the current pause (0 until the first back-off) */
	uint64_t backoff_until_ms;
	uint32_t backoffs;              /* back-offs so far */
};

struct harvest_decision {
	enum harvest_state state;
	uint64_t step;                  /* > 0 only with HARVEST_STEPPING: start a step of this many bytes now */
};

/* Defaults: 64 MiB steps of at most 10% of usage, stable = under min(2%, 32 MiB) growth over 10 s, 1 s settling,
 * back-off above 100 major faults/s for 10 s doubling to 160 s. */
void policy_harvest_defaults(struct harvest_params *p);

/* Returns NULL when params are usable (step_min a positive multiple of HARVEST_PAGE <= step_max, share 1..100,
 * positive window, growth percent <= 100, base <= max back-off), else a static message naming the field. */
const char *policy_harvest_check(const struct harvest_params *p);

/*
 * The decision. Records the reading in h, judges the fault rate of the last step once it has settled, and
 * returns what to do. A returned step (> 0, a multiple of HARVEST_PAGE, at most min(step cap, target - swap,
 * share of usage)) is considered started: h is in flight until policy_harvest_done(). Never overflows.
 */
struct harvest_decision policy_harvest_decide(const struct harvest_input *in, const struct harvest_params *p,
					      struct harvest_history *h);

/* The step handed out by policy_harvest_decide() has ended (whatever its outcome) at now_ms. */
void policy_harvest_done(struct harvest_history *h, uint64_t now_ms);

/*
 * Whether a pressure event seen at now_ms is most likely the harvester's own doing: a step is in flight, or one
 * ended at most HARVEST_OWN_PRESSURE_MS ago. A step reclaims from the app cgroup, so the domain's v1 vmpressure
 * (hierarchical) and v2 PSI (the app's refaults are the domain's stalls) report it; the controller does not let
 * such events make the domain look busy to the harvester (docs/HARVEST.md).
 */
#define HARVEST_OWN_PRESSURE_MS 2000
bool policy_harvest_own_pressure(const struct harvest_history *h, uint64_t now_ms);

/* The step cap after back-offs: step_max >> step_shift, never under step_min. */
uint64_t policy_harvest_step_cap(const struct harvest_history *h, const struct harvest_params *p);

/* "idle", "at_target", "growing", "pressure", "backoff", "stepping". */
const char *harvest_state_name(enum harvest_state s);

#endif
