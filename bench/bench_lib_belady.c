/*
 * bench_lib_belady: the offline bound for bench_lib.sh. Reads a trace bench_lib_policy wrote (blocks resident at
 * the start, then block accesses) and counts the fewest misses any policy could have with CAPACITY blocks
 * resident: Belady's MIN, which on a miss evicts the block whose next use is furthest away. By default it starts
 * from the best possible resident set, the CAPACITY blocks used soonest, whatever the run had resident: the same
 * start for every run, so the bound is deterministic for a trace and a capacity, and it lower-bounds any policy
 * that starts from any set of at most CAPACITY blocks. With --run-start it starts from the run's own resident set
 * (recorded in the trace), cut down to CAPACITY as MIN would.
 * With --schedule FILE instead of a capacity, the capacity follows a run's own resident size over time (FILE holds
 * (trace position, blocks) pairs, one per sample, bench_lib_policy's TRACE.sched): between two samples it is the
 * larger of the two, so it never falls below what the run held at either end. When it drops, MIN evicts the
 * blocks used furthest away. That bounds any policy that keeps no more resident than the run did, at every moment
 * (an app answering SIGBALLOONs must keep less than it could hold, so a fixed capacity at its peak is no bound
 * for it, and one at its mean is not a bound at all).
 * With --weights FILE (one double per block, bench_lib_policy's TRACE.weights: the probability the workload's
 * generator gives each block) it counts instead the misses of the best *online* policy for independent
 * accesses: an oracle that knows every block's probability but not the order, and on a miss evicts the resident
 * block least likely to be accessed next (the independent reference model's optimum, "A0"); it starts from the
 * CAPACITY most likely blocks. That is what no policy that cannot see the future beats in expectation.
 *   bench_lib_belady TRACE CAPACITY_BLOCKS|--schedule FILE [--run-start] [--weights FILE]
 *   prints "misses N accesses N"
 */
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NEVER UINT64_MAX

struct ent {
	uint64_t next;
	uint32_t blk;
};

/* A max-heap on the next use, with stale entries skipped when popped (a block's live entry is the one whose
 * `next` equals next_of[blk]). */
struct heap {
	struct ent *e;
	size_t n;
};

static void push(struct heap *h, struct ent x)
{
	size_t i = h->n++;

	while (i > 0 && h->e[(i - 1) / 2].next < x.next) {
		h->e[i] = h->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->e[i] = x;
}

static struct ent pop(struct heap *h)
{
	struct ent top = h->e[0], last = h->e[--h->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->e[c + 1].next > h->e[c].next)
			c++;
		if (h->e[c].next <= last.next)
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->n)
		h->e[i] = last;
	return top;
}

static uint32_t *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	uint32_t *v = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 8 && fseek(f, 0, SEEK_SET) == 0 &&
	    (v = malloc((size_t)len)) && fread(v, 4, (size_t)len / 4, f) == (size_t)len / 4)
		*n = (size_t)len / 4;
	else {
		free(v);
		v = NULL;
	}
	fclose(f);
	return v;
}

/* Evicts the resident block whose live key is largest: used furthest in the future (MIN), or least likely
 * (the oracle, whose keys never change). */
static void evict(struct heap *h, const uint64_t *live, bool *in)
{
	for (;;) {
		struct ent x = pop(h);
		if (in[x.blk] && live[x.blk] == x.next) {
			in[x.blk] = false;
			return;
		}
	}
}

/* The capacity at folded trace position i: the larger of the samples either side (the first before them). */
static size_t cap_at(const uint32_t *sched, size_t ns, size_t *k, size_t i)
{
	size_t c;

	while (*k + 1 < ns && sched[2 * (*k + 1)] <= i)
		(*k)++;
	c = sched[2 * *k + 1];
	if (*k + 1 < ns && sched[2 * *k] <= i && sched[2 * (*k + 1) + 1] > c)
		c = sched[2 * (*k + 1) + 1];
	return c ? c : 1;
}

int main(int argc, char **argv)
{
	size_t n, i, len, cap = 0, nres = 0, ns = 0, k = 0;
	uint32_t *v, nb, ninit, *init, *tr, *sched = NULL;
	uint64_t *next, *next_of, misses = 0;
	const uint64_t *live;
	bool *in, run_start = false;
	struct heap h;
	double *w = NULL;
	uint64_t *key = NULL;
	size_t nw = 0;
	int a = 2;

	if (argc >= 4 && strcmp(argv[2], "--schedule") == 0) {
		if (!(sched = read_all(argv[3], &ns)) || ns < 2)
			return fprintf(stderr, "%s: unreadable or empty\n", argv[3]), 1;
		ns /= 2;
		a = 4;
	} else if (argc >= 3) {
		cap = strtoull(argv[2], NULL, 10);
		a = 3;
	}
	for (; a < argc; a++) {
		if (strcmp(argv[a], "--run-start") == 0)
			run_start = true;
		else if (strcmp(argv[a], "--weights") == 0 && a + 1 < argc && (w = (double *)read_all(argv[++a], &nw)))
			nw /= 2;
		else
			break;
	}
	if (a != argc || (!sched && cap == 0) || !(v = read_all(argv[1], &n))) {
		fprintf(stderr, "usage: bench_lib_belady TRACE CAPACITY_BLOCKS|--schedule FILE [--run-start] [--weights "
				"FILE] (files bench_lib_policy wrote)\n");
		return 2;
	}
	if (sched)
		cap = cap_at(sched, ns, &k, 0);
	nb = v[0];
	ninit = v[1];
	if (2 + (size_t)ninit > n) {
		fprintf(stderr, "%s: truncated\n", argv[1]);
		return 1;
	}
	init = v + 2;
	tr = init + ninit;
	len = n - 2 - ninit;
	next = malloc(len * sizeof(*next));
	next_of = malloc(nb * sizeof(*next_of));
	in = calloc(nb, sizeof(*in));
	h.e = malloc((len + nb + 1) * sizeof(*h.e));
	h.n = 0;
	if (!next || !next_of || !in || !h.e)
		return 1;
	if (w && nw != nb) {
		fprintf(stderr, "weights: %zu, blocks: %u\n", nw, nb);
		return 1;
	}
	/* The oracle's eviction key: the least likely block is the one the max-heap pops first. */
	if (w && !(key = malloc(nb * sizeof(*key))))
		return 1;
	for (i = 0; w && i < nb; i++)
		key[i] = NEVER - (uint64_t)(w[i] * 1e15);
	for (i = 0; i < nb; i++)
		next_of[i] = NEVER;
	for (i = len; i-- > 0;) {
		if (tr[i] >= nb)
			return 1;
		next[i] = next_of[tr[i]];
		next_of[tr[i]] = i;
	}
	/* next_of now holds each block's first use: the start state (all blocks, or the run's), trimmed as MIN would
	 * trim it, to the blocks used soonest. */
	for (i = 0; i < (run_start ? ninit : nb); i++) {
		uint32_t blk = run_start ? init[i] : (uint32_t)i;
		if (blk < nb && !in[blk]) {
			in[blk] = true;
			push(&h, (struct ent){ key ? key[blk] : next_of[blk], blk });
			nres++;
		}
	}
	live = key ? key : next_of;
	for (; nres > cap; nres--)
		evict(&h, live, in);
	for (i = 0; i < len; i++) {
		uint32_t blk = tr[i];
		if (sched)
			for (cap = cap_at(sched, ns, &k, i); nres > cap; nres--)
				evict(&h, live, in);
		if (!in[blk]) {
			misses++;
			if (nres == cap)
				evict(&h, live, in);
			else
				nres++;
			in[blk] = true;
			if (key)
				push(&h, (struct ent){ key[blk], blk });
		}
		if (!key) {
			next_of[blk] = next[i];
			push(&h, (struct ent){ next[i], blk });
		}
	}
	printf("misses %llu accesses %zu\n", (unsigned long long)misses, len);
	return 0;
}
