/*
 * bench_react: runs inside the app cgroup and measures how fast the balloon gives memory back when the app's
 * growth crosses into the headroom. Each round: wait until the balloon holds at least LOWER, allocate just
 * short of the headroom edge, then touch on in 64 KiB steps until free memory (measured as the controller does)
 * is under the headroom, and time from that moment until the balloon's cgroup usage has dropped (checked
 * between 64 KiB steps while the app goes on touching, then in a tight loop). A round whose app never got under the
 * headroom because the balloon had already released (usbd's thresholds fire slightly early) counts as 0 ms, and
 * says so. Prints one line per round and the median / p99 in milliseconds, and how many rounds released early. For
 * a round that crossed, also the longest the app went between two of its checks until it saw the release: a round
 * about as long as that pause was the app held up (off its CPU, or in its own reads), not waiting for the balloon.
 *   bench_react DOMAIN_CG_DIR BALLOON_CG_DIR HEADROOM_BYTES LOWER_BYTES ROUNDS
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"
#include "sys/procfs.h"

static uint64_t read_u64_file(const char *dir, const char *file)
{
	char path[512], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

static uint64_t domain_free(const char *dom)
{
	char path[512], buf[8192], *p;
	uint64_t limit = read_u64_file(dom, "memory.limit_in_bytes"), usage = read_u64_file(dom, "memory.usage_in_bytes");
	uint64_t inactive = 0;

	snprintf(path, sizeof(path), "%s/memory.stat", dom);
	if (read_small_file(path, buf, sizeof(buf)) > 0 && (p = strstr(buf, "\ntotal_inactive_file ")))
		inactive = strtoull(p + 21, NULL, 10);
	return sat_sub(limit, sat_sub(usage, inactive));
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void touch(char *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_react DOMAIN_CG_DIR BALLOON_CG_DIR HEADROOM_BYTES LOWER_BYTES ROUNDS\n");
		return 2;
	}
	const char *dom = argv[1], *bal = argv[2];
	uint64_t headroom = strtoull(argv[3], NULL, 10), lower = strtoull(argv[4], NULL, 10);
	int rounds = atoi(argv[5]), done = 0, early = 0;
	int64_t most_ahead = 0;
	double worst_pause = 0;
	double *ms = calloc((size_t)rounds, sizeof(double));
	const size_t cross = 8 * MIB;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int r = 0; r < rounds; r++) {
		uint64_t t_wait = clock_ms();
		while (read_u64_file(bal, "memory.usage_in_bytes") < lower && clock_ms() - t_wait < 60000)
			usleep(50000);
		usleep(500000); /* let the domain settle after inflation */
		uint64_t fr = domain_free(dom);
		if (fr <= headroom + cross) {
			fprintf(stderr, "round %d: free %llu already inside the headroom\n", r, (unsigned long long)fr);
			continue;
		}
		size_t before = (size_t)(fr - headroom - cross / 2), len = before + cross;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		touch(p, before);
		uint64_t grab0 = read_u64_file(bal, "memory.usage_in_bytes");
		/* Touch on in small steps, as a bursting app goes on allocating, and note when free memory (as the
		 * controller measures it) first falls under the headroom: the moment the balloon should react to. The
		 * kernel checks v1 thresholds every 128 charged pages per CPU, so an app that stopped exactly at the
		 * edge would not be noticed until its next allocation. */
		/* The longest pause between two checks after the crossing, and the longest touch and reads among them. */
		uint64_t t0 = 0, t1 = 0, last = 0, pause = 0, touching = 0, touching_cpu = 0, reading = 0;
		/* A release before the crossing: how far short of the headroom the app was, bytes (free memory as it would be
		 * without what the balloon gave back, less the headroom). */
		int64_t ahead = -1;
		for (size_t off = 0; off < cross; off += 64 * KIB) {
			uint64_t t_touch = clock_ns(), cpu_touch = thread_cpu_ns();

			touch(p + before + off, 64 * KIB);
			if (t0 && t1)
				continue;
			if (t0) { /* between the crossing and the release seen: how long the app went without a check */
				uint64_t now = clock_ns();

				pause = now - last > pause ? now - last : pause;
				if (now - t_touch > touching) { /* and of its longest touch, how much it spent on its CPU */
					touching = now - t_touch;
					touching_cpu = thread_cpu_ns() - cpu_touch;
				}
				last = now;
			}
			/* The balloon's usage and the domain's free memory from one moment: a release in progress between the
			 * two reads would count the balloon's munmap as the app's own room. */
			uint64_t t_read = clock_ns(), held = read_u64_file(bal, "memory.usage_in_bytes"), fr_now = 0;
			for (int tries = 0; tries < 8; tries++) {
				fr_now = domain_free(dom);
				uint64_t again = read_u64_file(bal, "memory.usage_in_bytes");
				if (again == held)
					break;
				held = again;
			}
			if (t0)
				reading = clock_ns() - t_read > reading ? clock_ns() - t_read : reading;
			bool released = held + 2 * MIB <= grab0;

			if (t0) {
				if (released)
					t1 = clock_ns();
				continue;
			}
			/* Free memory as it would be without what the balloon gave back: the app's own distance to the edge. */
			uint64_t fr_app = sat_sub(fr_now, released ? grab0 - held : 0);

			if (fr_app < headroom) {
				t0 = last = clock_ns(); /* crossed in this step (and, if released, seen released in it too) */
				if (released)
					t1 = t0;
			} else if (released) {
				t0 = t1 = clock_ns(); /* released before the app reached the headroom */
				ahead = (int64_t)(fr_app - headroom);
				if (ahead > most_ahead)
					most_ahead = ahead;
				early++;
			}
		}
		if (!t0)
			t0 = last = clock_ns();
		while (!t1 && clock_ns() - t0 < 5000000000ull) {
			uint64_t now = clock_ns();

			if (now - last > pause)
				pause = now - last;
			last = now;
			bool released = read_u64_file(bal, "memory.usage_in_bytes") + 2 * MIB <= grab0;

			reading = clock_ns() - now > reading ? clock_ns() - now : reading;
			if (released) {
				t1 = clock_ns();
				break;
			}
		}
		munmap(p, len);
		if (!t1) {
			printf("round %d: no release within 5 s\n", r);
			continue;
		}
		ms[done] = (double)(t1 - t0) / 1e6;
		/* The crossing's CLOCK_MONOTONIC time joins the round to usbd's debug "hops:" lines (bench_core.sh). */
		if (ahead >= 0)
			printf("round %d: no crossing, the balloon released before the app reached the headroom, about %lld KiB "
			       "short of it (0 ms)\n", r, (long long)(ahead / 1024));
		else {
			printf("round %d: released after %.2f ms (crossed at %llu ns; the app's longest pause between two "
			       "checks meanwhile %.2f ms, its longest touch of 64 KiB %.2f ms (%.2f ms of it on its CPU), its longest "
			       "reads %.2f ms)\n",
			       r, ms[done], (unsigned long long)t0, (double)pause / 1e6, (double)touching / 1e6,
			       (double)touching_cpu / 1e6, (double)reading / 1e6);
			if ((double)pause / 1e6 > worst_pause)
				worst_pause = (double)pause / 1e6;
		}
		done++;
	}
	if (!done)
		return 1;
	qsort(ms, (size_t)done, sizeof(double), cmp_double);
	size_t p99 = (size_t)((double)done * 0.99);
	if (p99 >= (size_t)done)
		p99 = (size_t)done - 1;
	printf("rounds %d median_ms %.2f p99_ms %.2f max_ms %.2f early %d (at most %lld KiB short) longest_pause_ms %.2f\n",
	       done, ms[done / 2], ms[p99], ms[done - 1], early, (long long)(most_ahead / 1024), worst_pause);
	free(ms);
	return 0;
}
