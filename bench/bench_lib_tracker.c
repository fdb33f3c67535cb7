/*
 * bench_lib_tracker: what libusbd's access tracker costs a scanning app. Maps two regions A and B of SIZE (default
 * 512 MiB) each, writes them, then scans the first half of each in turn, a chunk of passes at a time in the order
 * A B B A (so both see the same machine noise): first both untracked (the baseline ratio of A to B: PASSES/2
 * passes each), then with A tracked (64 KiB blocks, or 2 MiB with --huge, ticking every TICK_MS) for PASSES
 * passes each. Overhead = (tracked A / B) / (baseline A / B) - 1. Also prints the tracker's own estimate of its
 * cost (faults x calibrated fault cost + tick time) as a share of A's tracked scan time.
 * BUDGET_PERMILLE sets the tracker's budget (0: the default; 1000: none). No daemon, no root.
 *   bench_lib_tracker [SIZE_MIB] [PASSES] [TICK_MS] [--huge|--small] [BUDGET_PERMILLE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/size.h"
#include "lib/usbd.h"

#define CHUNK 10 /* passes per turn */

static uint64_t scan(const volatile uint64_t *p, size_t words, unsigned passes)
{
	uint64_t t0 = clock_ns(), sum = 0;

	for (unsigned k = 0; k < passes; k++)
		for (size_t w = 0; w < words; w += 8) /* one word per cache line: a memory-bound scan */
			sum += p[w];
	if (sum == 42)
		puts("");
	return clock_ns() - t0;
}

/* PASSES passes over each region's first half, in turns of CHUNK, A B B A; adds the times to ta and tb. */
static void turns(uint64_t *a, uint64_t *b, size_t words, unsigned passes, uint64_t *ta, uint64_t *tb)
{
	for (unsigned done = 0, k = 0; done < passes; done += CHUNK, k++) {
		unsigned n = passes - done < CHUNK ? passes - done : CHUNK;
		if (k % 2 == 0) {
			*ta += scan(a, words, n);
			*tb += scan(b, words, n);
		} else {
			*tb += scan(b, words, n);
			*ta += scan(a, words, n);
		}
	}
}

static uint64_t *map_region(size_t size, int huge)
{
	char *raw = mmap(NULL, size + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (uint64_t *)round_up((uintptr_t)raw, 2 * MIB);
	if (madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
		return NULL;
	memset(p, 1, size);
	return p;
}

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? strtoull(argv[1], NULL, 10) : 512) * MIB, words;
	unsigned passes = argc > 2 ? (unsigned)atoi(argv[2]) : 400, tick = argc > 3 ? (unsigned)atoi(argv[3]) : 500;
	int huge = argc > 4 && strcmp(argv[4], "--huge") == 0;
	struct usbd_tracker_config cfg = { .budget_permille = argc > 5 ? (unsigned)atoi(argv[5]) : 0 };
	uint64_t *a = map_region(size, huge), *b = map_region(size, huge), a0 = 0, b0 = 0, a1 = 0, b1 = 0;
	struct usbd_tracker_stats st;
	struct usbd_tracker *t;
	double base, ratio;

	if (!a || !b)
		return 1;
	words = size / 16;
	scan(a, words, 2); /* warm */
	scan(b, words, 2);
	turns(a, b, words, passes / 2 ? passes / 2 : 1, &a0, &b0);
	if (usbd_tracker_new(&t, &cfg) < 0 || usbd_tracker_add(t, a, size, huge ? USBD_TRACK_HUGE : 0) < 0 ||
	    usbd_tracker_start(t, tick) < 0)
		return 1;
	turns(a, b, words, passes, &a1, &b1);
	usbd_tracker_stats(t, &st);
	usbd_tracker_free(t);
	base = (double)a0 / (double)b0;
	ratio = (double)a1 / (double)b1;
	printf("size %zu MiB%s x2, %u passes over the first half of each, tick %u ms, budget %u permille\n",
	       size >> 20, huge ? " (THP)" : "", passes, tick, cfg.budget_permille ? cfg.budget_permille : 20);
	printf("baseline A/B %.3f; tracked A %.2f ms/pass, untracked B %.2f ms/pass, A/B %.3f: overhead %.1f%%\n", base,
	       a1 / 1e6 / passes, b1 / 1e6 / passes, ratio, 100.0 * (ratio / base - 1.0));
	printf("ticks %llu (%.1f us each), faults %llu, re-armed %llu, blocks %llu (armed at the end %llu)\n",
	       (unsigned long long)st.ticks, st.ticks ? st.tick_ns / 1e3 / (double)st.ticks : 0.0,
	       (unsigned long long)st.faults, (unsigned long long)st.rearmed, (unsigned long long)st.blocks,
	       (unsigned long long)st.armed_blocks);
	printf("fault cost %.1f us (calibrated), handler %.1f us/fault, estimated cost %.1f ms = %.1f%% of A's time\n",
	       st.fault_cost_ns / 1e3, st.faults ? st.handler_ns / 1e3 / (double)st.faults : 0.0, st.cost_ns / 1e6,
	       100.0 * (double)st.cost_ns / (double)a1);
	return 0;
}
