/*
 * workload: a producer application for tests, the demo and benchmarks.
 *   workload burst SIZE           allocate and touch SIZE as fast as possible, print the wall time, exit 0
 *   workload steps SIZE:SECS ...  hold SIZE of touched anonymous memory for SECS, for each step in turn
 *   workload hold SIZE            touch SIZE, then sleep until killed
 * Prints one line per phase on stdout. Memory is touched page by page (4 KiB), so it is charged at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"

#define SEG (64 * MIB)    /* memory is mapped in segments so that shrinking can unmap part of it */
#define MAX_SEGS 4096

/* The segments held: each SEG long but the last, so that the total is the size asked, to the page. */
static void *segs[MAX_SEGS];
static size_t seg_len[MAX_SEGS];
static size_t nsegs;
static uint64_t held;

static void set_size(uint64_t bytes)
{
	uint64_t want = round_up(bytes, 4096);

	while (held > want || (nsegs && seg_len[nsegs - 1] < SEG && held < want)) {
		held -= seg_len[--nsegs];
		munmap(segs[nsegs], seg_len[nsegs]);
	}
	while (held < want && nsegs < MAX_SEGS) {
		size_t len = want - held < SEG ? (size_t)(want - held) : SEG;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			fprintf(stderr, "workload: mmap: %s\n", strerror(errno));
			exit(1);
		}
		for (size_t off = 0; off < len; off += 4096)
			p[off] = (char)(off >> 12 | 1);
		segs[nsegs] = p;
		seg_len[nsegs++] = len;
		held += len;
	}
}

static uint64_t parse_size_or_die(const char *s)
{
	uint64_t b;

	if (size_parse(s, &b)) {
		fprintf(stderr, "workload: bad size '%s'\n", s);
		exit(2);
	}
	return b;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "burst")) {
		uint64_t t0 = clock_ns();
		set_size(parse_size_or_die(argv[2]));
		printf("burst %s done in %.1f ms\n", argv[2], (double)(clock_ns() - t0) / 1e6);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "hold")) {
		set_size(parse_size_or_die(argv[2]));
		printf("holding %s\n", argv[2]);
		for (;;)
			pause();
	}
	if (argc >= 3 && !strcmp(argv[1], "steps")) {
		for (int i = 2; i < argc; i++) {
			char *colon = strchr(argv[i], ':');
			if (!colon) {
				fprintf(stderr, "workload: step '%s' is not SIZE:SECONDS\n", argv[i]);
				return 2;
			}
			*colon = '\0';
			set_size(parse_size_or_die(argv[i]));
			printf("step %d: holding %s for %s s\n", i - 1, argv[i], colon + 1);
			sleep((unsigned)atoi(colon + 1));
		}
		return 0;
	}
	fprintf(stderr, "usage: workload burst SIZE | hold SIZE | steps SIZE:SECS...\n");
	return 2;
}
