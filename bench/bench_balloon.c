/*
 * bench_balloon: the balloon pool against the raw kernel calls it is built from, alternating round by round
 * so that both see the same machine state.
 *   inflate: chunks_grow in pinned mode (aligned batches, MADV_HUGEPAGE, MADV_POPULATE_WRITE, mlock) vs one
 *            mmap + MADV_HUGEPAGE + MADV_POPULATE_WRITE of the same size; median GiB/s and their ratio.
 *   release: chunks_shrink of everything (coalesced munmap) vs one munmap of the raw mapping; median and max.
 *   bench_balloon [SIZE [ROUNDS]]   (defaults: 1G, 7 rounds; one untimed warm-up round each). Run as root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "balloon/chunks.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"

#define MAX_ROUNDS 101

struct series {
	double v[MAX_ROUNDS];
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(struct series *s)
{
	qsort(s->v, s->n, sizeof(s->v[0]), cmp_double);
	return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static double max_of(const struct series *s)
{
	double m = s->v[0];

	for (int i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

static double gib_per_s(uint64_t bytes, uint64_t ns) { return (double)bytes / GIB / ((double)ns / 1e9); }

/* One pool round: pinned grow, then release of everything. Returns 0 or -errno. */
static int pool_round(uint64_t size, double *inflate, double *release_ms)
{
	struct chunk_pool p;
	uint64_t t0, t1, t2, grown, released;
	int err;

	chunks_init(&p, BALLOON_PINNED, NULL);
	t0 = clock_ns();
	err = chunks_grow(&p, size, NULL, NULL, &grown);
	t1 = clock_ns();
	if (!err && grown != size)
		err = -EIO;
	if (!err)
		err = chunks_shrink(&p, UINT64_MAX, &released);
	t2 = clock_ns();
	chunks_free(&p);
	if (err)
		return err;
	*inflate = gib_per_s(size, t1 - t0);
	*release_ms = (double)(t2 - t1) / 1e6;
	return 0;
}

/* One baseline round: what a program would do by hand, without alignment, batches or locking. */
static int raw_round(uint64_t size, double *inflate, double *release_ms)
{
	uint64_t t0, t1, t2;
	char *m;

	t0 = clock_ns();
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (madvise(m, size, MADV_HUGEPAGE) || madvise(m, size, MADV_POPULATE_WRITE)) {
		int err = -errno;

		munmap(m, size);
		return err;
	}
	t1 = clock_ns();
	if (munmap(m, size))
		return -errno;
	t2 = clock_ns();
	*inflate = gib_per_s(size, t1 - t0);
	*release_ms = (double)(t2 - t1) / 1e6;
	return 0;
}

int main(int argc, char **argv)
{
	struct series pool_in = { 0 }, pool_rel = { 0 }, raw_in = { 0 }, raw_rel = { 0 };
	uint64_t size = GIB;
	int rounds = 7, err;
	char sz[16];

	log_set_ident("bench_balloon");
	if (argc > 1 && (size_parse(argv[1], &size) || size < CHUNK_SIZE || size % CHUNK_SIZE))
		fatal("SIZE must be a multiple of 2 MiB: %s", argv[1]);
	if (argc > 2 && ((rounds = atoi(argv[2])) < 5 || rounds > MAX_ROUNDS))
		fatal("ROUNDS must be 5..%d", MAX_ROUNDS);
	for (int r = -1; r < rounds; r++) {
		double in, rel;

		/* Round -1 warms both paths up (page tables, THP pool, caches) and is not counted. */
		err = pool_round(size, &in, &rel);
		if (err)
			fatal("pool round %d: %s (pinned needs root or a large RLIMIT_MEMLOCK)", r, strerror(-err));
		if (r >= 0) {
			pool_in.v[pool_in.n++] = in;
			pool_rel.v[pool_rel.n++] = rel;
		}
		err = raw_round(size, &in, &rel);
		if (err)
			fatal("raw round %d: %s", r, strerror(-err));
		if (r >= 0) {
			raw_in.v[raw_in.n++] = in;
			raw_rel.v[raw_rel.n++] = rel;
		}
	}
	double pool_max = max_of(&pool_rel), raw_max = max_of(&raw_rel);
	double pool_gib = median(&pool_in), raw_gib = median(&raw_in);

	printf("bench_balloon: %s, %d rounds each, alternating (median; release also max)\n",
	       size_format(size, sz, sizeof(sz)), rounds);
	printf("  %-34s %9.2f GiB/s\n", "inflate, pool (pinned)", pool_gib);
	printf("  %-34s %9.2f GiB/s\n", "inflate, raw mmap+populate", raw_gib);
	printf("  %-34s %9.2fx   (goal >= 0.90x)\n", "inflate ratio pool/raw", pool_gib / raw_gib);
	printf("  %-34s %9.3f ms   max %.3f ms (goal <= 5 ms)\n", "release, pool (coalesced munmap)",
	       median(&pool_rel), pool_max);
	printf("  %-34s %9.3f ms   max %.3f ms\n", "release, raw munmap", median(&raw_rel), raw_max);
	return 0;
}
