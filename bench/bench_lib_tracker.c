/*
 * bench_lib_tracker: what libusbd's access tracker costs a scanning app. Maps SIZE (default 512 MiB), writes it,
 * then times PASSES scans of the first half untracked, then tracked (64 KiB blocks, or 2 MiB with --huge),
 * ticking every TICK_MS. No daemon, no root.
 *   bench_lib_tracker [SIZE_MIB] [PASSES] [TICK_MS] [--huge]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/size.h"
#include "lib/usbd.h"

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

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? strtoull(argv[1], NULL, 10) : 512) * MIB;
	unsigned passes = argc > 2 ? (unsigned)atoi(argv[2]) : 40, tick = argc > 3 ? (unsigned)atoi(argv[3]) : 500;
	int huge = argc > 4 && strcmp(argv[4], "--huge") == 0;
	char *raw = mmap(NULL, size + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *p = (uint64_t *)round_up((uintptr_t)raw, 2 * MIB), plain, tracked;
	struct usbd_tracker_stats st;
	struct usbd_tracker *t;

	if (raw == MAP_FAILED || (huge && madvise(p, size, MADV_HUGEPAGE) < 0))
		return 1;
	memset(p, 1, size);
	scan(p, size / 16, 2); /* warm */
	plain = scan(p, size / 16, passes);
	if (usbd_tracker_new(&t, NULL) < 0 || usbd_tracker_add(t, p, size, huge ? USBD_TRACK_HUGE : 0) < 0 ||
	    usbd_tracker_start(t, tick) < 0)
		return 1;
	tracked = scan(p, size / 16, passes);
	usbd_tracker_stats(t, &st);
	printf("size %zu MiB%s, %u passes over the first half, tick %u ms\n", size >> 20, huge ? " (THP)" : "",
	       passes, tick);
	printf("untracked %.1f ms/pass, tracked %.1f ms/pass, overhead %.1f%%\n", plain / 1e6 / passes,
	       tracked / 1e6 / passes, 100.0 * ((double)tracked - (double)plain) / (double)plain);
	printf("ticks %llu (%.1f us each), faults %llu (%.1f per tick), blocks %llu\n", (unsigned long long)st.ticks,
	       st.ticks ? st.tick_ns / 1e3 / (double)st.ticks : 0.0, (unsigned long long)st.faults,
	       st.ticks ? (double)st.faults / (double)st.ticks : 0.0, (unsigned long long)st.blocks);
	usbd_tracker_free(t);
	return 0;
}
