/*
 * bench_lib_belady: the offline bound for bench_lib.sh. Reads a trace bench_lib_policy wrote (blocks resident at
 * the start, then block accesses) and counts the fewest misses any policy could have with CAPACITY blocks
 * resident: Belady's MIN, which on a miss evicts the block whose next use is furthest away. By default it starts
 * from the best possible resident set, the CAPACITY blocks used soonest, whatever the run had resident: the same
 * start for every run, so the bound is deterministic for a trace and a capacity, and it lower-bounds any policy
 * that starts from any set of at most CAPACITY blocks. With --run-start it starts from the run's own resident set
 * (recorded in the trace), cut down to CAPACITY as MIN would.
 *   bench_lib_belady TRACE CAPACITY_BLOCKS [--run-start]     prints "misses N accesses N"
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

/* Evicts the resident block used furthest in the future. */
static void evict(struct heap *h, const uint64_t *next_of, bool *in)
{
	for (;;) {
		struct ent x = pop(h);
		if (in[x.blk] && next_of[x.blk] == x.next) {
			in[x.blk] = false;
			return;
		}
	}
}

int main(int argc, char **argv)
{
	size_t n, i, len, cap, nres = 0;
	uint32_t *v, nb, ninit, *init, *tr;
	uint64_t *next, *next_of, misses = 0;
	bool *in;
	struct heap h;

	bool run_start = argc == 4 && strcmp(argv[3], "--run-start") == 0;

	if ((argc != 3 && !run_start) || !(v = read_all(argv[1], &n)) || (cap = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench_lib_belady TRACE CAPACITY_BLOCKS [--run-start] (a trace bench_lib_policy "
				"wrote)\n");
		return 2;
	}
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
			push(&h, (struct ent){ next_of[blk], blk });
			nres++;
		}
	}
	for (; nres > cap; nres--)
		evict(&h, next_of, in);
	for (i = 0; i < len; i++) {
		uint32_t blk = tr[i];
		if (!in[blk]) {
			misses++;
			if (nres == cap)
				evict(&h, next_of, in);
			else
				nres++;
			in[blk] = true;
		}
		next_of[blk] = next[i];
		push(&h, (struct ent){ next[i], blk });
	}
	printf("misses %llu accesses %zu\n", (unsigned long long)misses, len);
	return 0;
}
