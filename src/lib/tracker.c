/*
 * tracker: protection-based access sampling. Each tick folds and re-protects PROT_NONE one rotating slice of
 * every tracked region (one mprotect per region), so a block's epoch is SLICES ticks; the first touch of a block
 * in its epoch faults into on_segv(), which records it and gives the block back PROT_READ|PROT_WRITE, so a block
 * costs at most one fault per epoch however often it is touched. Accesses are folded into an 8-epoch aging byte
 * per block (recency and frequency together).
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
#include "lib/select.h"
#include "lib/usbd.h"

#define MAX_REGIONS 16
#define MAX_BLOCKS (UINT64_C(1) << 20)  /* all regions together: bounds the state and the VMAs split */
#define HUGE_BLOCK (2 * MIB)
#define DEFAULT_BLOCK (64 * KIB)
#define DEFAULT_INTERVAL_MS 500
/* Re-protecting memory costs far more than the mprotect: every page of it pays again on its next touch (a
 * fault plus, under a shadow-paging hypervisor, ~6 us per 4 KiB page). Re-arming a rotating 1/SLICES of each
 * region per tick spreads that cost over SLICES ticks (docs/LIBUSBD.md, "What it costs"). */
#define SLICES 8
#define ST_TOUCHED 1u
#define ST_OUT 2u
#define RW (PROT_READ | PROT_WRITE)

struct region {
	uintptr_t start, end, base;     /* base: start rounded down to the block grid */
	size_t block, nblocks;
	uint8_t *hist;                  /* aging byte, newest epoch in bit 7 */
	_Atomic uint8_t *st;            /* ST_TOUCHED (set by the fault handler), ST_OUT */
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
	_Atomic uint64_t faults;
	uint64_t ticks, tick_ns;
	unsigned slice;                 /* the slice the next tick re-arms */
};

static _Atomic(struct usbd_tracker *) live;
static struct sigaction old_segv;

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

/* Async-signal context: atomics and mprotect only. A fault that is not ours falls back to the previous
 * disposition, and returning re-executes the access so that it faults again under it. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct usbd_tracker *t = atomic_load(&live);
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	if (t && si->si_code == SEGV_ACCERR) {
		unsigned i, n = atomic_load_explicit(&t->nreg, memory_order_acquire);

		for (i = 0; i < n; i++) {
			struct region *r = &t->reg[i];
			uintptr_t s;
			size_t len, b;

			if (a < r->start || a >= r->end)
				continue;
			b = (a - r->base) / r->block;
			atomic_store(&r->st[b], ST_TOUCHED); /* touched, so no longer out */
			atomic_fetch_add_explicit(&t->faults, 1, memory_order_relaxed);
			block_span(r, b, &s, &len);
			if (mprotect((void *)s, len, RW) == 0) {
				errno = saved;
				return;
			}
			break;
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

int usbd_tracker_add(struct usbd_tracker *t, void *addr, size_t len, unsigned flags)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr;
	struct region *r;
	unsigned n;
	int err = 0;

	if (len == 0 || start % page || len % page || start + len < start || (flags & ~USBD_TRACK_HUGE))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	n = atomic_load(&t->nreg);
	r = &t->reg[n];
	if (n == MAX_REGIONS) {
		err = -ENOSPC;
		goto out;
	}
	r->start = start;
	r->end = start + len;
	r->block = flags & USBD_TRACK_HUGE ? HUGE_BLOCK : t->block_bytes;
	r->base = round_down(start, r->block);
	r->nblocks = (round_up(r->end, r->block) - r->base) / r->block;
	if (t->nblocks + r->nblocks > MAX_BLOCKS) {
		err = -E2BIG;
		goto out;
	}
	r->hist = calloc(r->nblocks, 1);
	r->st = calloc(r->nblocks, sizeof(*r->st));
	if (!r->hist || !r->st) {
		err = -ENOMEM;
		goto fail;
	}
	/* Published before protecting: a fault must find its region. */
	atomic_store_explicit(&t->nreg, n + 1, memory_order_release);
	if (mprotect(addr, len, PROT_NONE) < 0) {
		err = -errno;
		atomic_store(&t->nreg, n);
		goto fail;
	}
	t->nblocks += r->nblocks;
	goto out;
fail:
	free(r->hist);
	free((void *)r->st);
	memset(r, 0, sizeof(*r));
out:
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* Folds the epoch of blocks [lo, hi) of r into their history and protects them again. */
static int rearm(struct region *r, size_t lo, size_t hi)
{
	uintptr_t s, e;
	size_t b, len;

	if (lo == hi)
		return 0;
	/* Fold first, then re-arm: a touch in between lands in the old epoch, never in none. */
	for (b = lo; b < hi; b++) {
		bool touched = atomic_fetch_and(&r->st[b], (uint8_t)~ST_TOUCHED) & ST_TOUCHED;
		r->hist[b] = (uint8_t)((r->hist[b] >> 1) | (touched ? 0x80 : 0));
	}
	block_span(r, lo, &s, &len);
	block_span(r, hi - 1, &e, &len);
	return mprotect((void *)s, e + len - s, PROT_NONE) < 0 ? -errno : 0;
}

int usbd_tracker_tick(struct usbd_tracker *t)
{
	uint64_t t0 = clock_ns();
	unsigned i, n;
	int err = 0, r;

	pthread_mutex_lock(&t->lock);
	n = atomic_load(&t->nreg);
	for (i = 0; i < n; i++) {
		size_t nb = t->reg[i].nblocks;
		if ((r = rearm(&t->reg[i], nb * t->slice / SLICES, nb * (t->slice + 1) / SLICES)))
			err = r;
	}
	t->slice = (t->slice + 1) % SLICES;
	t->ticks++;
	t->tick_ns += clock_ns() - t0;
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
	size_t k = 0, j;

	if (!b)
		return NULL;
	for (i = 0; i < nreg; i++) {
		struct region *r = &t->reg[i];
		for (j = 0; j < r->nblocks; j++, k++) {
			uint8_t st = atomic_load(&r->st[j]);
			block_span(r, j, &b[k].addr, &b[k].len);
			b[k].score = (uint16_t)(r->hist[j] | (st & ST_TOUCHED ? SEL_TOUCHED_NOW : 0));
			b[k].out = st & ST_OUT;
			b[k].chosen = false;
		}
	}
	*n = k;
	return b;
}

size_t usbd_tracker_select(struct usbd_tracker *t, uint64_t bytes, struct usbd_range *out, size_t max)
{
	struct sel_block *b;
	size_t n = 0, nout = 0;

	pthread_mutex_lock(&t->lock);
	b = t->nblocks ? snapshot(t, &n) : NULL;
	if (b)
		nout = sel_pick(b, n, bytes, out, max);
	pthread_mutex_unlock(&t->lock);
	free(b);
	return nout;
}

void usbd_tracker_mark_out(struct usbd_tracker *t, const struct usbd_range *rg, size_t n)
{
	unsigned i, nreg;
	size_t k;

	pthread_mutex_lock(&t->lock);
	nreg = atomic_load(&t->nreg);
	for (k = 0; k < n; k++) {
		uintptr_t a = (uintptr_t)rg[k].addr, end = a + rg[k].len;

		for (i = 0; i < nreg; i++) {
			struct region *r = &t->reg[i];
			uintptr_t lo = a > r->start ? a : r->start, hi = end < r->end ? end : r->end;
			size_t b;

			if (lo >= hi)
				continue;
			for (b = (lo - r->base) / r->block; b < r->nblocks; b++) {
				uintptr_t s;
				size_t len;
				block_span(r, b, &s, &len);
				if (s + len > hi)
					break;
				/* Only blocks wholly inside the range went out. */
				if (s >= lo)
					atomic_fetch_or(&r->st[b], ST_OUT);
			}
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
		out->tracked_bytes += r->end - r->start;
		for (b = 0; b < r->nblocks; b++)
			if (atomic_load(&r->st[b]) & ST_OUT) {
				uintptr_t s;
				size_t len;
				block_span(r, b, &s, &len);
				out->out_bytes += len;
			}
	}
	out->blocks = t->nblocks;
	out->faults = atomic_load(&t->faults);
	out->ticks = t->ticks;
	out->tick_ns = t->tick_ns;
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
	for (i = 0; i < nreg; i++) {
		free(t->reg[i].hist);
		free((void *)t->reg[i].st);
	}
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
