/*
 * tracker: protection-based access sampling under a cost budget. Adding a region arms (protects PROT_NONE) all of
 * it; the first touch of an armed block faults into on_segv(), which gives the block back PROT_READ|PROT_WRITE
 * and records when it was touched, so a block costs at most one fault per arming however often it is touched.
 * Blocks that stay armed are provably idle; touched blocks are re-armed by the ticks, oldest touch first, only as
 * far as the budget allows: each fault costs what a calibration on a scratch buffer measured at start (on a
 * shadow-paging hypervisor, mostly the re-touch of every page of the block), and the tracker keeps faults x that
 * cost plus its ticks' own time under a share of wall time (track_cost.h; docs/LIBUSBD.md, "What it costs").
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"
#include "lib/recharge.h"
#include "lib/select.h"
#include "lib/track_cost.h"
#include "lib/tracker.h"
#include "lib/usbd.h"

#define MAX_REGIONS 16
/* Armed and unarmed blocks alternate, and every run is a VMA: stay well under vm.max_map_count (65530). One
 * region has at most REGION_MAX_BLOCKS; every region slot still free keeps MIN_REGION_BLOCKS in reserve, so the
 * table never exceeds REGION_MAX_BLOCKS + 15 x MIN_REGION_BLOCKS (33 008 blocks, under 100 bytes of state each)
 * and a 16th region can still be added after one that took the most. A region larger than its share gets
 * coarser blocks (the block size doubled until it fits): any size can be tracked. */
#define REGION_MAX_BLOCKS (UINT64_C(1) << 15)
#define MIN_REGION_BLOCKS 16u
#define MAX_BLOCKS (REGION_MAX_BLOCKS + (MAX_REGIONS - 1) * MIN_REGION_BLOCKS)
#define HUGE_BLOCK (2 * MIB)
#define DEFAULT_BLOCK (64 * KIB)
#define DEFAULT_INTERVAL_MS 500
#define DEFAULT_BUDGET_PERMILLE 20
#define CAL_ROUNDS 3
/* A block re-armed less than this long ago is not offered yet: a hot block, re-armed, is untouched only until
 * the app's next pass over it. A block never touched since it was added is offered at once: at the first
 * SIGBALLOON that is all the history there is. */
#define MIN_IDLE_MS 1000u
#define CAL_BYTES (4 * MIB) /* smaller scratch buffers measured too cheap and too noisy on the PVM guest */
/* Blocks larger than this are calibrated on blocks of this size and the cost scaled by the ratio (the re-touch
 * of every page dominates and grows with the block; the signal's fixed part makes that an overestimate). */
#define CAL_MAX_BLOCK (2 * MIB)
#define CAL_FALLBACK_NS 200000u /* if the calibration cannot run: the worst seen on the PVM guest */
#define ST_TOUCHED 1u
#define ST_OUT 2u
/* Out, chosen from memory in use in LRU / MRU order: how soon it comes back is watched (sel_pick, SEL_LOOP). */
#define ST_PROBE_LRU 4u
#define ST_PROBE_MRU 8u
#define ST_PROBES (ST_PROBE_LRU | ST_PROBE_MRU)
/* A watched block that stays out this long counts as out this long; the two orders' means are compared. */
#define PROBE_HORIZON_MS 10000u
#define PROBE_DECAY 0.95  /* per tick (500 ms): evidence halves in ~7 s */
#define PROBE_MIN 4.0     /* watched blocks of each order, decayed, before the comparison counts */
#define RW (PROT_READ | PROT_WRITE)
#define RECHARGE_CHUNK (2 * MIB)
#define WAIT_NS 100000L         /* the fault handler's poll while a region is re-charged */

struct region {
	uintptr_t start, end, base;     /* base: start rounded down to the block grid */
	size_t block, nblocks;
	bool huge;
	struct tc_hist *hist;
	uint32_t *armed_ms;             /* when each block was last armed (ms since the tracker began) */
	_Atomic uint32_t *seen_ms;      /* when it was first touched after that (set by the fault handler) */
	_Atomic uint8_t *st;            /* ST_TOUCHED (set by the fault handler), ST_OUT, ST_PROBE_* */
	_Atomic uint32_t *out_ms;       /* when it was marked out */
	uint8_t *picked;                /* SEL_BY_* of the last pick that chose it, until marked out */
	_Atomic uint64_t faults;
	uint64_t faults_paid;           /* faults already charged to the budget */
	uint64_t fault_cost_ns;         /* calibrated cost of one fault on a block of this region */
	uint32_t added_ms;              /* when it was added */
	uint32_t last_new_ms;           /* the latest first touch of a block that ticks folded (tracker.h, ranked) */
	uint32_t folded_new;            /* blocks folded after their first touch */
	uint32_t new_tenth[10];         /* of those, how many were first touched in each 100 ms ... */
	uint32_t new_tenth_at[10];      /* ... of this one (ms / 100): the last second, as a ring */
	_Atomic int moving;             /* being re-charged: the handler holds back every access to it */
	bool ranked;                    /* watched long enough to rank its blocks (tracker.h); for good */
};

struct cand {
	uint32_t seen_ms, blk;
	unsigned reg;
};

struct usbd_tracker {
	struct region reg[MAX_REGIONS];
	_Atomic unsigned nreg;          /* published after the region is filled in */
	size_t block_bytes;
	uint64_t nblocks;
	pthread_mutex_t lock;           /* ticks, selection, adding */
	pthread_cond_t wake;
	pthread_t thread;
	bool thread_started, stop;
	unsigned interval_ms;
	uint64_t t0_ns, last_tick_ns, tick_unpaid_ns;
	struct tc_budget budget;
	struct cand *cand;              /* nblocks entries, for the ticks */
	uint64_t ticks, tick_ns, rearmed;
	_Atomic uint64_t handler_ns;
	/* How soon watched blocks came back, per order (0: LRU, 1: MRU): sums of ms (capped at the horizon) and counts
	 * since the last tick (the fault handler adds), and their decayed totals (the ticks fold them). */
	_Atomic uint64_t probe_ms[2], probe_n[2];
	double probe_sum[2], probe_cnt[2];
	bool loop;                      /* MRU's victims stay out longer than LRU's: SEL_LOOP */
	_Atomic uintptr_t cal_start, cal_end; /* the calibration's scratch buffer while it runs */
	size_t cal_block;
};

static _Atomic(struct usbd_tracker *) live;
static struct sigaction old_segv;
static _Atomic uint64_t stranded;

void tracker_set_stranded(uint64_t bytes) { atomic_store(&stranded, bytes); }

static uint32_t ms_since(const struct usbd_tracker *t, uint64_t ns)
{
	return (uint32_t)((ns - t->t0_ns) / 1000000u);
}

static void block_span(const struct region *r, size_t i, uintptr_t *s, size_t *len)
{
	uintptr_t lo = r->base + i * r->block, hi = lo + r->block;

	if (lo < r->start)
		lo = r->start;
	if (hi > r->end)
		hi = r->end;
	*s = lo;
	*len = hi - lo;
}

/* A watched block is back (or out past the horizon): adds how long it stayed out to its order's sums. Lock-free
 * atomics only: the fault handler calls it. */
static void probe_back(struct usbd_tracker *t, struct region *r, size_t b, uint8_t old_st, uint32_t now)
{
	uint32_t out = now - atomic_load(&r->out_ms[b]);
	unsigned o;

	if (!(old_st & ST_OUT) || !(old_st & ST_PROBES))
		return;
	o = (old_st & ST_PROBE_MRU) ? 1 : 0;
	atomic_fetch_add(&t->probe_ms[o], out < PROBE_HORIZON_MS ? out : PROBE_HORIZON_MS);
	atomic_fetch_add(&t->probe_n[o], 1);
}

/* Async-signal context: atomics, clock_gettime and mprotect only. The block is given back its protection before
 * it is marked touched, so a tick that re-arms touched blocks never re-arms one the handler then opens again
 * unmarked. A fault that is not ours falls back to the previous disposition, and returning re-executes the
 * access so that it faults again under it. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct usbd_tracker *t = atomic_load(&live);
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	(void)sig;
	(void)uc;
	if (t && (si->si_code == SEGV_ACCERR || si->si_code == SEGV_MAPERR)) {
		uint64_t in = clock_ns();
		uintptr_t cs = atomic_load(&t->cal_start), ce = atomic_load(&t->cal_end);
		unsigned i, n = atomic_load_explicit(&t->nreg, memory_order_acquire);

		if (cs && a >= cs && a < ce && si->si_code == SEGV_ACCERR) {
			if (mprotect((void *)round_down(a, t->cal_block), t->cal_block, RW) == 0) {
				errno = saved;
				return;
			}
		}
		for (i = 0; i < n; i++) {
			struct region *r = &t->reg[i];
			uintptr_t s;
			size_t len, b;

			if (a < r->start || a >= r->end)
				continue;
			if (atomic_load(&r->moving)) {
				/* Being re-charged (a hole, or pages not in place yet): wait, then touch it again. */
				struct timespec ts = { 0, WAIT_NS };
				while (atomic_load(&r->moving))
					nanosleep(&ts, NULL);
				errno = saved;
				return;
			}
			if (si->si_code != SEGV_ACCERR)
				break;
			b = (a - r->base) / r->block;
			block_span(r, b, &s, &len);
			if (mprotect((void *)s, len, RW) < 0)
				break;
			uint32_t now = ms_since(t, in);
			atomic_store(&r->seen_ms[b], now);
			/* touched, so no longer out */
			probe_back(t, r, b, atomic_exchange(&r->st[b], ST_TOUCHED), now);
			atomic_fetch_add_explicit(&r->faults, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&t->handler_ns, clock_ns() - in, memory_order_relaxed);
			errno = saved;
			return;
		}
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	errno = saved;
}

int usbd_tracker_new(struct usbd_tracker **out, const struct usbd_tracker_config *cfg)
{
	struct usbd_tracker *t, *none = NULL;
	struct sigaction sa;
	pthread_condattr_t ca;
	size_t block = cfg && cfg->block_bytes ? cfg->block_bytes : DEFAULT_BLOCK;
	unsigned permille = cfg && cfg->budget_permille ? cfg->budget_permille : DEFAULT_BUDGET_PERMILLE;

	if (block < (size_t)sysconf(_SC_PAGESIZE) || (block & (block - 1)))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (!atomic_compare_exchange_strong(&live, &none, t)) {
		free(t);
		return -EBUSY;
	}
	t->block_bytes = block;
	t->budget.frac = permille >= 1000 ? 1.0 : permille / 1000.0;
	t->t0_ns = t->last_tick_ns = clock_ns();
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) < 0) {
		int err = -errno;
		atomic_store(&live, NULL);
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

static uint64_t scan_ns(const volatile uint8_t *p, size_t len)
{
	uint64_t t0 = clock_ns();
	unsigned sum = 0;

	for (size_t i = 0; i < len; i += 64)
		sum += p[i];
	(void)sum;
	return clock_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* What one tracker fault on a block costs this process, measured: a scratch buffer of CAL_BYTES (at least four
 * blocks), filled, then
 * armed and read through (every cache line: the worst case, every page re-touched) against the same read
 * unarmed; the largest of CAL_ROUNDS (noise on a shared machine only ever made it read low or high by chance, and
 * low would overspend). Includes the signal, the handler and the hypervisor's re-touch cost. */
static uint64_t calibrate_block(struct usbd_tracker *t, size_t block, bool huge)
{
	size_t len = block * 4 > CAL_BYTES ? block * 4 : CAL_BYTES, n = len / block;
	uint8_t *raw = mmap(NULL, len + block, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	uint64_t c[CAL_ROUNDS], plain, armed;

	if (raw == MAP_FAILED)
		return CAL_FALLBACK_NS;
	p = (uint8_t *)round_up((uintptr_t)raw, block);
	madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(p, 1, len);
	t->cal_block = block;
	atomic_store(&t->cal_end, (uintptr_t)p + len);
	atomic_store(&t->cal_start, (uintptr_t)p);
	for (unsigned r = 0; r < CAL_ROUNDS; r++) {
		scan_ns(p, len);
		plain = scan_ns(p, len);
		if (mprotect(p, len, PROT_NONE) < 0) {
			c[r] = CAL_FALLBACK_NS;
			continue;
		}
		armed = scan_ns(p, len);
		c[r] = armed > plain ? (armed - plain) / n : 0;
	}
	atomic_store(&t->cal_start, 0);
	atomic_store(&t->cal_end, 0);
	munmap(raw, len + block);
	qsort(c, CAL_ROUNDS, sizeof(c[0]), cmp_u64);
	return c[CAL_ROUNDS - 1] > 1000 ? c[CAL_ROUNDS - 1] : 1000;
}

static uint64_t calibrate(struct usbd_tracker *t, size_t block, bool huge)
{
	if (block <= CAL_MAX_BLOCK)
		return calibrate_block(t, block, huge);
	return calibrate_block(t, CAL_MAX_BLOCK, huge) * (block / CAL_MAX_BLOCK);
}

static size_t blocks_of(uintptr_t start, uintptr_t end, size_t block)
{
	return (round_up(end, block) - round_down(start, block)) / block;
}

/* The block size for a region: the tracker's (or 2 MiB for huge regions), doubled until the region's blocks fit
 * in what the table has left for it. */
static size_t region_block(const struct usbd_tracker *t, unsigned n, uintptr_t start, uintptr_t end, size_t block)
{
	uint64_t left = MAX_BLOCKS - t->nblocks - (uint64_t)(MAX_REGIONS - 1 - n) * MIN_REGION_BLOCKS;

	if (left > REGION_MAX_BLOCKS)
		left = REGION_MAX_BLOCKS;
	while (blocks_of(start, end, block) > left && block <= SIZE_MAX / 4)
		block *= 2;
	return block;
}

static void region_free(struct region *r)
{
	free(r->hist);
	free(r->armed_ms);
	free((void *)r->seen_ms);
	free((void *)r->st);
	free((void *)r->out_ms);
	free(r->picked);
	memset(r, 0, sizeof(*r));
}

int usbd_tracker_add(struct usbd_tracker *t, void *addr, size_t len, unsigned flags)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), b;
	uintptr_t start = (uintptr_t)addr;
	struct region *r;
	struct cand *cand;
	uint32_t now;
	unsigned n, i;
	int err = 0;

	if (len == 0 || start % page || len % page || start + len < start || (flags & ~USBD_TRACK_HUGE))
		return -EINVAL;
	/* msync(MS_ASYNC) changes nothing and fails with ENOMEM only where a page is not mapped. */
	if (msync(addr, len, MS_ASYNC) < 0 && errno == ENOMEM)
		return -EFAULT;
	pthread_mutex_lock(&t->lock);
	n = atomic_load(&t->nreg);
	if (n == MAX_REGIONS) {
		err = -ENOSPC;
		goto out;
	}
	r = &t->reg[n];
	r->start = start;
	r->end = start + len;
	r->huge = flags & USBD_TRACK_HUGE;
	for (i = 0; i < n; i++)
		if (start < t->reg[i].end && t->reg[i].start < r->end) {
			memset(r, 0, sizeof(*r));
			err = -EEXIST;
			goto out;
		}
	r->block = region_block(t, n, r->start, r->end, r->huge ? HUGE_BLOCK : t->block_bytes);
	r->base = round_down(start, r->block);
	r->nblocks = blocks_of(r->start, r->end, r->block);
	r->hist = calloc(r->nblocks, sizeof(*r->hist));
	r->armed_ms = calloc(r->nblocks, sizeof(*r->armed_ms));
	r->seen_ms = calloc(r->nblocks, sizeof(*r->seen_ms));
	r->st = calloc(r->nblocks, sizeof(*r->st));
	r->out_ms = calloc(r->nblocks, sizeof(*r->out_ms));
	r->picked = calloc(r->nblocks, sizeof(*r->picked));
	cand = realloc(t->cand, (t->nblocks + r->nblocks) * sizeof(*cand));
	if (cand)
		t->cand = cand;
	if (!r->hist || !r->armed_ms || !r->seen_ms || !r->st || !r->out_ms || !r->picked || !cand) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < n && !r->fault_cost_ns; i++)
		if (t->reg[i].block == r->block && t->reg[i].huge == r->huge)
			r->fault_cost_ns = t->reg[i].fault_cost_ns;
	if (!r->fault_cost_ns)
		r->fault_cost_ns = calibrate(t, r->block, r->huge);
	now = ms_since(t, clock_ns());
	for (b = 0; b < r->nblocks; b++)
		r->armed_ms[b] = now;
	r->added_ms = r->last_new_ms = now;
	/* Registered after filling memory: re-charge the region while it is protected. Set before the region is
	 * published, so that no fault can open a block of it until the re-charge is over. */
	atomic_store(&r->moving, atomic_load(&stranded) > 0);
	/* Published before protecting: a fault must find its region. */
	atomic_store_explicit(&t->nreg, n + 1, memory_order_release);
	if (mprotect(addr, len, PROT_NONE) < 0) {
		/* Out of memory or of mappings (vm.max_map_count): give back what was protected before the failure. */
		err = -errno;
		mprotect(addr, len, RW);
		atomic_store(&r->moving, 0);
		atomic_store(&t->nreg, n);
		goto fail;
	}
	if (atomic_load(&r->moving)) {
		/* A chunk it could not move stays charged where it was, and is tracked all the same. */
		(void)recharge_range(r->start, len, r->block > RECHARGE_CHUNK ? r->block : RECHARGE_CHUNK, r->huge);
		/* Watched from now: nothing could touch it before. */
		r->added_ms = r->last_new_ms = ms_since(t, clock_ns());
		atomic_store(&r->moving, 0);
	}
	t->nblocks += r->nblocks;
	goto out;
fail:
	region_free(r);
out:
	pthread_mutex_unlock(&t->lock);
	return err;
}

static int cand_oldest_first(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->seen_ms != y->seen_ms)
		return x->seen_ms < y->seen_ms ? -1 : 1;
	return x->reg != y->reg ? (x->reg < y->reg ? -1 : 1) : (x->blk > y->blk) - (x->blk < y->blk);
}

static int cand_by_address(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->reg != y->reg ? (x->reg < y->reg ? -1 : 1) : (x->blk > y->blk) - (x->blk < y->blk);
}

/* Before a touched block's arm period is folded: if it is its first touch ever, remembers when it was (ranked). */
static void first_touch(struct region *r, size_t b)
{
	uint32_t seen = atomic_load(&r->seen_ms[b]), tenth = seen / 100, i = tenth % 10;

	if (r->hist[b].k != 0)
		return;
	if ((int32_t)(seen - r->last_new_ms) > 0)
		r->last_new_ms = seen;
	if (r->new_tenth_at[i] != tenth) {
		r->new_tenth_at[i] = tenth;
		r->new_tenth[i] = 0;
	}
	r->new_tenth[i]++;
	r->folded_new++;
}

/* ms until region r is ranked (tracker.h), 0 if it is. Once ranked it stays ranked: a stall of the app longer
 * than the quiet second must not take back what a pick was promised. Under t->lock. */
static uint32_t unranked_ms(struct region *r, uint32_t now)
{
	uint32_t age = now - r->added_ms, last = r->last_new_ms, wait, quiet, touched = r->folded_new, recent = 0;
	size_t b, i;

	if (r->ranked || age >= TRACK_RANK_MAX_MS) {
		r->ranked = true;
		return 0;
	}
	for (b = 0; b < r->nblocks; b++) {
		uint32_t seen = atomic_load(&r->seen_ms[b]);
		if (r->hist[b].k != 0 || !(atomic_load(&r->st[b]) & ST_TOUCHED))
			continue;
		touched++;
		if ((int32_t)(now - seen) < (int32_t)TRACK_RANK_QUIET_MS)
			recent++;
		if ((int32_t)(seen - last) > 0)
			last = seen;
	}
	for (i = 0; i < 10; i++)
		if ((int32_t)(now / 100 - r->new_tenth_at[i]) < (int32_t)(TRACK_RANK_QUIET_MS / 100) && r->new_tenth[i])
			recent += r->new_tenth[i];
	quiet = (int32_t)(now - last) > 0 ? now - last : 0; /* the handler may have stored a time after `now` */
	wait = age < TRACK_RANK_MIN_MS ? TRACK_RANK_MIN_MS - age : 0;
	/* Still finding its memory in use: wait for a quiet second, looking again every TRACK_RANK_POLL_MS. */
	if ((uint64_t)recent * TRACK_RANK_SLOW > touched && quiet < TRACK_RANK_QUIET_MS) {
		uint32_t q = TRACK_RANK_QUIET_MS - quiet < TRACK_RANK_POLL_MS ? TRACK_RANK_QUIET_MS - quiet : TRACK_RANK_POLL_MS;
		if (q > wait)
			wait = q;
	}
	r->ranked = wait == 0;
	return wait < TRACK_RANK_MAX_MS - age ? wait : TRACK_RANK_MAX_MS - age;
}

uint32_t tracker_unranked_ms(struct usbd_tracker *t)
{
	uint32_t now, wait = 0, w;
	unsigned i, nreg;

	pthread_mutex_lock(&t->lock);
	now = ms_since(t, clock_ns());
	nreg = atomic_load(&t->nreg);
	for (i = 0; i < nreg; i++)
		if ((w = unranked_ms(&t->reg[i], now)) > wait)
			wait = w;
	pthread_mutex_unlock(&t->lock);
	return wait;
}

/* Folds the arm period of each candidate that ended in a touch, then arms them again, a run per mprotect. */
static int rearm(struct usbd_tracker *t, const struct cand *c, size_t n, uint32_t now)
{
	int err = 0;
	size_t i, j;

	for (i = 0; i < n; i = j) {
		struct region *r = &t->reg[c[i].reg];
		uintptr_t s, e;
		size_t len;

		for (j = i; j < n && c[j].reg == c[i].reg && c[j].blk == c[i].blk + (j - i); j++) {
			uint32_t b = c[j].blk;
			/* Fold first, then arm: a touch in between goes unseen this once, never undone. */
			atomic_fetch_and(&r->st[b], (uint8_t)~ST_TOUCHED);
			first_touch(r, b);
			tc_fold(&r->hist[b], r->armed_ms[b], atomic_load(&r->seen_ms[b]), now);
			r->armed_ms[b] = now;
		}
		block_span(r, c[i].blk, &s, &len);
		block_span(r, c[j - 1].blk, &e, &len);
		if (mprotect((void *)s, e + len - s, PROT_NONE) < 0) {
			err = -errno;
			/* Still open: touched again, so a later tick tries again. */
			for (size_t k = i; k < j; k++)
				atomic_fetch_or(&r->st[c[k].blk], ST_TOUCHED);
		}
	}
	t->rearmed += n;
	return err;
}

/* Folds what came back since the last tick into the decayed totals and decides SEL_LOOP: the most recently seen
 * victims stayed out a quarter longer than LRU's, with enough of each to tell. */
static void probe_fold(struct usbd_tracker *t)
{
	double mean[2];

	for (unsigned o = 0; o < 2; o++) {
		t->probe_sum[o] = t->probe_sum[o] * PROBE_DECAY + (double)atomic_exchange(&t->probe_ms[o], 0);
		t->probe_cnt[o] = t->probe_cnt[o] * PROBE_DECAY + (double)atomic_exchange(&t->probe_n[o], 0);
		mean[o] = t->probe_cnt[o] > 0 ? t->probe_sum[o] / t->probe_cnt[o] : 0;
	}
	if (t->probe_cnt[0] >= PROBE_MIN && t->probe_cnt[1] >= PROBE_MIN)
		t->loop = mean[1] > 1.25 * mean[0];
}

int usbd_tracker_tick(struct usbd_tracker *t)
{
	uint64_t t0 = clock_ns(), spent;
	unsigned i, nreg;
	size_t n = 0, take = 0, b;
	int64_t left;
	uint32_t now;
	int err;

	pthread_mutex_lock(&t->lock);
	now = ms_since(t, t0);
	nreg = atomic_load(&t->nreg);
	spent = t->tick_unpaid_ns;
	for (i = 0; i < nreg; i++) {
		struct region *r = &t->reg[i];
		uint64_t f = atomic_load(&r->faults);
		spent += (f - r->faults_paid) * r->fault_cost_ns;
		r->faults_paid = f;
		for (b = 0; b < r->nblocks; b++) {
			uint8_t st = atomic_load(&r->st[b]);
			if (st & ST_TOUCHED)
				t->cand[n++] = (struct cand){ atomic_load(&r->seen_ms[b]), (uint32_t)b, i };
			else if ((st & ST_PROBES) && now - atomic_load(&r->out_ms[b]) >= PROBE_HORIZON_MS)
				/* Still out at the horizon; the handler may have taken it back meanwhile: whoever
				 * clears the bits counts it. */
				probe_back(t, r, b, atomic_fetch_and(&r->st[b], (uint8_t)~ST_PROBES), now);
		}
	}
	probe_fold(t);
	tc_budget_update(&t->budget, t0 - t->last_tick_ns, spent);
	t->last_tick_ns = t0;
	/* The blocks touched longest ago first: the likeliest to have gone cold, and fair to all. */
	if (t->budget.frac < 1.0)
		qsort(t->cand, n, sizeof(*t->cand), cand_oldest_first);
	left = t->budget.balance_ns;
	while (take < n && tc_budget_take(&t->budget, &left, t->reg[t->cand[take].reg].fault_cost_ns))
		take++;
	qsort(t->cand, take, sizeof(*t->cand), cand_by_address);
	err = rearm(t, t->cand, take, now);
	t->ticks++;
	t->tick_unpaid_ns = clock_ns() - t0;
	t->tick_ns += t->tick_unpaid_ns;
	pthread_mutex_unlock(&t->lock);
	return err;
}

static void *ticker(void *arg)
{
	struct usbd_tracker *t = arg;
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		at.tv_nsec += (long)(t->interval_ms % 1000) * 1000000L;
		at.tv_sec += t->interval_ms / 1000 + at.tv_nsec / 1000000000L;
		at.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&t->wake, &t->lock, &at) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&t->lock);
		usbd_tracker_tick(t);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int usbd_tracker_start(struct usbd_tracker *t, unsigned interval_ms)
{
	int err;

	pthread_mutex_lock(&t->lock);
	if (t->thread_started) {
		pthread_mutex_unlock(&t->lock);
		return -EALREADY;
	}
	t->interval_ms = interval_ms ? interval_ms : DEFAULT_INTERVAL_MS;
	err = -pthread_create(&t->thread, NULL, ticker, t);
	t->thread_started = err == 0;
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* One sel_block per tracked block, in address order within each region. */
static struct sel_block *snapshot(struct usbd_tracker *t, size_t *n)
{
	struct sel_block *b = malloc(t->nblocks * sizeof(*b));
	unsigned i, nreg = atomic_load(&t->nreg);
	uint32_t now = ms_since(t, clock_ns());
	size_t k = 0, j;

	if (!b)
		return NULL;
	for (i = 0; i < nreg; i++) {
		struct region *r = &t->reg[i];
		bool ranked = unranked_ms(r, now) == 0;
		for (j = 0; j < r->nblocks; j++, k++) {
			uint8_t st = atomic_load(&r->st[j]);
			block_span(r, j, &b[k].addr, &b[k].len);
			b[k].unranked = !ranked && r->hist[j].k == 0 && !(st & (ST_TOUCHED | ST_OUT));
			b[k].busy = (st & ST_TOUCHED) || (r->hist[j].k > 0 && now - r->armed_ms[j] < MIN_IDLE_MS);
			b[k].score = b[k].busy ? SEL_SCORE_MAX : tc_score(&r->hist[j], r->armed_ms[j], now, SEL_SCORE_MAX);
			b[k].seen = atomic_load(&r->seen_ms[j]);
			b[k].idle_ms = (st & ST_TOUCHED) ? 0 : now - r->armed_ms[j] + 1;
			b[k].out = st & ST_OUT;
			b[k].chosen = false;
		}
	}
	*n = k;
	return b;
}

/* Keeps which order chose each block (snapshot's order), for usbd_tracker_mark_out(). */
static void remember_picked(struct usbd_tracker *t, const struct sel_block *b)
{
	unsigned i, nreg = atomic_load(&t->nreg);
	size_t k = 0, j;

	for (i = 0; i < nreg; i++)
		for (j = 0; j < t->reg[i].nblocks; j++, k++)
			t->reg[i].picked[j] = b[k].chosen ? b[k].by : 0;
}

size_t usbd_tracker_pick(struct usbd_tracker *t, uint64_t bytes, unsigned flags, struct usbd_range *out, size_t max)
{
	struct sel_block *b;
	size_t n = 0, nout = 0;

	pthread_mutex_lock(&t->lock);
	b = t->nblocks ? snapshot(t, &n) : NULL;
	if (b) {
		nout = sel_pick(b, n, bytes, ((flags & USBD_PICK_HOT) ? SEL_HOT : 0) | (t->loop ? SEL_LOOP : 0), out,
				max);
		remember_picked(t, b);
	}
	pthread_mutex_unlock(&t->lock);
	free(b);
	return nout;
}

size_t usbd_tracker_select(struct usbd_tracker *t, uint64_t bytes, struct usbd_range *out, size_t max)
{
	return usbd_tracker_pick(t, bytes, 0, out, max);
}

/*
 * Marks the blocks wholly inside the ranges out and protects them again, so the app's next touch of one (a swap-in,
 * or a minor fault from the swap cache) faults into on_segv() and shows it back in use. A block that was open
 * (touched since armed: memory in use, taken when nothing cold was left) has its arm period folded first, as a
 * tick would. Unprotected, an out block would look out forever once the app read it back: nothing re-arms it
 * while the budget is in debt, and the selector never offers it again.
 */
void usbd_tracker_mark_out(struct usbd_tracker *t, const struct usbd_range *rg, size_t n)
{
	unsigned i, nreg;
	uint32_t now;
	size_t k;

	pthread_mutex_lock(&t->lock);
	now = ms_since(t, clock_ns());
	nreg = atomic_load(&t->nreg);
	for (k = 0; k < n; k++) {
		uintptr_t a = (uintptr_t)rg[k].addr, end = a + rg[k].len;

		for (i = 0; i < nreg; i++) {
			struct region *r = &t->reg[i];
			uintptr_t lo = a > r->start ? a : r->start, hi = end < r->end ? end : r->end;
			uintptr_t s, run = 0, run_end = 0;
			size_t b, len;

			if (lo >= hi)
				continue;
			for (b = (lo - r->base) / r->block; b < r->nblocks; b++) {
				block_span(r, b, &s, &len);
				if (s + len > hi)
					break;
				if (s < lo)
					continue; /* only blocks wholly inside the range went out */
				if (atomic_load(&r->st[b]) & ST_TOUCHED) {
					first_touch(r, b);
					tc_fold(&r->hist[b], r->armed_ms[b], atomic_load(&r->seen_ms[b]), now);
					r->armed_ms[b] = now;
				}
				atomic_store(&r->out_ms[b], now);
				atomic_store(&r->st[b], ST_OUT | (r->picked[b] == SEL_BY_LRU   ? ST_PROBE_LRU
								  : r->picked[b] == SEL_BY_MRU ? ST_PROBE_MRU
											       : 0));
				r->picked[b] = 0;
				if (!run)
					run = s;
				run_end = s + len;
			}
			/* A touch between the page-out and this goes unseen; the next one faults and clears ST_OUT. */
			if (run)
				mprotect((void *)run, run_end - run, PROT_NONE);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

void usbd_tracker_stats(struct usbd_tracker *t, struct usbd_tracker_stats *out)
{
	unsigned i, nreg;
	size_t b;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	nreg = atomic_load(&t->nreg);
	for (i = 0; i < nreg; i++) {
		struct region *r = &t->reg[i];
		uint64_t f = atomic_load(&r->faults);
		out->tracked_bytes += r->end - r->start;
		out->faults += f;
		out->cost_ns += f * r->fault_cost_ns;
		if (i == 0)
			out->fault_cost_ns = r->fault_cost_ns;
		for (b = 0; b < r->nblocks; b++) {
			uint8_t st = atomic_load(&r->st[b]);
			uintptr_t s;
			size_t len;
			out->armed_blocks += !(st & ST_TOUCHED);
			if (st & ST_OUT) {
				block_span(r, b, &s, &len);
				out->out_bytes += len;
			}
		}
	}
	out->blocks = t->nblocks;
	out->ticks = t->ticks;
	out->tick_ns = t->tick_ns;
	out->cost_ns += t->tick_ns;
	out->rearmed = t->rearmed;
	out->handler_ns = atomic_load(&t->handler_ns);
	pthread_mutex_unlock(&t->lock);
}

void usbd_tracker_free(struct usbd_tracker *t)
{
	unsigned i, nreg;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	if (t->thread_started)
		pthread_join(t->thread, NULL);
	nreg = atomic_load(&t->nreg);
	/* Unprotect before the handler goes: the app keeps using its memory. */
	for (i = 0; i < nreg; i++)
		mprotect((void *)t->reg[i].start, t->reg[i].end - t->reg[i].start, RW);
	sigaction(SIGSEGV, &old_segv, NULL);
	atomic_store(&live, NULL);
	for (i = 0; i < nreg; i++)
		region_free(&t->reg[i]);
	free(t->cand);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
