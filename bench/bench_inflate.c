/*
 * bench_inflate: the time from a process's start until a cgroup holds a given amount, for bench_core.sh's
 * "inflate" part (usbd from its start until its balloon holds SIZE, against a raw populate of SIZE).
 *   bench_inflate until CGROUP_DIR BYTES CMD [ARG...]   starts CMD, polls CGROUP_DIR's memory.usage_in_bytes every
 *       0.5 ms until it reaches BYTES (60 s at most), prints "ms MS pid PID" and exits, leaving CMD running
 *   bench_inflate populate CGROUP_DIR BYTES [thp]      joins the cgroup, maps BYTES and populates it (MAP_POPULATE;
 *       with thp: MADV_HUGEPAGE and MADV_POPULATE_WRITE, as the balloon does), then waits to be killed
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"
#include "sys/procfs.h"

extern char **environ;

static uint64_t usage(const char *dir)
{
	char path[512], buf[64];

	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
	return read_small_file(path, buf, sizeof(buf)) > 0 ? strtoull(buf, NULL, 10) : 0;
}

static int until(const char *dir, uint64_t bytes, char **cmd)
{
	struct timespec tick = { .tv_nsec = 500000 };
	posix_spawn_file_actions_t fa;
	uint64_t t0 = clock_ns();
	pid_t pid;
	int err;

	/* Its stdout is not ours: a caller reading ours to its end must not wait for CMD. */
	if ((err = posix_spawn_file_actions_init(&fa)) ||
	    (err = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)) ||
	    (err = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ))) {
		fprintf(stderr, "bench_inflate: %s: %s\n", cmd[0], strerror(err));
		return 1;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (usage(dir) < bytes) {
		if (clock_ns() - t0 > 60000000000ull) {
			fprintf(stderr, "bench_inflate: %s did not reach %llu bytes in 60 s\n", dir, (unsigned long long)bytes);
			printf("ms - pid %d\n", (int)pid);
			return 1;
		}
		nanosleep(&tick, NULL);
	}
	printf("ms %.1f pid %d\n", (double)(clock_ns() - t0) / 1e6, (int)pid);
	return 0;
}

static int populate(const char *dir, uint64_t bytes, int thp)
{
	char path[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "w")) || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "bench_inflate: cannot join %s\n", dir);
		return 1;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (thp ? 0 : MAP_POPULATE), -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (thp && (madvise(p, bytes, MADV_HUGEPAGE) || madvise(p, bytes, MADV_POPULATE_WRITE))) {
		perror("madvise");
		return 1;
	}
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "until"))
		return until(argv[2], strtoull(argv[3], NULL, 10), argv + 4);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "populate"))
		return populate(argv[2], strtoull(argv[3], NULL, 10), argc == 5 && !strcmp(argv[4], "thp"));
	fprintf(stderr, "usage: bench_inflate until CGROUP_DIR BYTES CMD [ARG...] | populate CGROUP_DIR BYTES [thp]\n");
	return 2;
}
