/*
 * harvest_app: a producer application for the harvester's tests and bench.
 *   harvest_app [--hot SIZE] [--rate SIZE | --busy] [--status FILE] SIZE...
 * Holds anonymous memory (non-zero pages), touching its first --hot bytes every 50 ms (--busy: over and over, no
 * pause: a CPU-bound hot loop whose throughput the bench measures) and counting the major faults those passes
 * take (getrusage: the hot set's faults). Grows to each SIZE in turn at --rate bytes per second (default: at once);
 * SIGUSR1 moves on to the next SIZE; the last is held until the process is killed.
 * --status FILE is replaced every 0.25 s with one line:
 *   size=BYTES growing=0|1 phase=N hot_majflt=N majflt=N hot_ops=N hot_us=N t_ms=N
 * hot_ops: hot pages touched so far (one write each); hot_us: microseconds spent in the hot passes; t_ms: the
 * monotonic clock (CLOCK_MONOTONIC) when the line was written. hot_ops / time is the hot loop's throughput.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"

#define PAGE 4096
#define SLICE_MS 50
#define STATUS_MS 250
#define MAX_PHASES 16

static volatile sig_atomic_t next_requests;

static void on_usr1(int sig)
{
	next_requests++;
}

static uint64_t size_or_die(const char *s)
{
	uint64_t b;

	if (size_parse(s, &b)) {
		fprintf(stderr, "harvest_app: bad size '%s'\n", s);
		exit(2);
	}
	return b;
}

static long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

struct hot_count {
	long majflt;      /* major faults taken in hot passes */
	uint64_t ops;     /* hot pages touched */
	uint64_t ns;      /* time spent in hot passes */
};

static void write_status(const char *path, uint64_t size, int growing, int phase, const struct hot_count *hc,
			 long all)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "harvest_app: %s: %s\n", tmp, strerror(errno));
		exit(1);
	}
	fprintf(f, "size=%llu growing=%d phase=%d hot_majflt=%ld majflt=%ld hot_ops=%llu hot_us=%llu t_ms=%llu\n",
		(unsigned long long)size, growing, phase, hc->majflt, all, (unsigned long long)hc->ops,
		(unsigned long long)(hc->ns / 1000), (unsigned long long)clock_ms());
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "harvest_app: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hot", required_argument, NULL, 'h' },
		{ "rate", required_argument, NULL, 'r' },
		{ "status", required_argument, NULL, 's' },
		{ "busy", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t hot = 0, rate = 0, sizes[MAX_PHASES], max = 0, touched = 0, next_status = 0;
	const char *status = NULL;
	struct sigaction sa = { .sa_handler = on_usr1 };
	int c, nphases = 0, phase = 0, busy = 0;
	struct hot_count hc = { 0 };
	char *mem;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h': hot = size_or_die(optarg); break;
		case 'r': rate = size_or_die(optarg); break;
		case 's': status = optarg; break;
		case 'b': busy = 1; break;
		default: return 2;
		}
	}
	for (; optind < argc && nphases < MAX_PHASES; optind++) {
		sizes[nphases] = round_down(size_or_die(argv[optind]), PAGE);
		max = max_u64(max, sizes[nphases++]);
	}
	if (!nphases || optind < argc || (busy && rate)) {
		fprintf(stderr, "usage: harvest_app [--hot SIZE] [--rate SIZE | --busy] [--status FILE] SIZE... "
			"(at most %d)\n", MAX_PHASES);
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	mem = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "harvest_app: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		uint64_t want = sizes[phase], now = clock_ms();
		uint64_t limit = rate ? min_u64(want, touched + max_u64(rate * SLICE_MS / 1000, PAGE)) : want;
		uint64_t t0, hot_end;
		long before;

		for (; touched < limit; touched += PAGE)
			mem[touched] = (char)(touched / PAGE | 1);
		before = majflt();
		t0 = clock_ns();
		hot_end = min_u64(hot, touched);
		for (uint64_t off = 0; off < hot_end; off += PAGE)
			mem[off]++;
		hc.ns += clock_ns() - t0;
		hc.ops += hot_end / PAGE;
		hc.majflt += majflt() - before;
		now = clock_ms();
		if (status && now >= next_status) {
			write_status(status, touched, touched < want, phase, &hc, majflt());
			next_status = now + STATUS_MS;
		}
		if (next_requests && phase + 1 < nphases) {
			next_requests--;
			phase++;
		}
		if (!busy)
			usleep(SLICE_MS * 1000);
	}
}
