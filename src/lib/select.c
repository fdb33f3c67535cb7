#include "lib/select.h"

#include <stdlib.h>

static bool eligible(const struct sel_block *b)
{
	return !b->out && !b->busy && !b->unranked;
}

/* The lowest score at which the eligible blocks cover `bytes` (SEL_SCORE_MAX when they never do). */
static unsigned cutoff(const struct sel_block *b, size_t n, uint64_t bytes)
{
	uint64_t hist[SEL_SCORE_MAX + 1] = { 0 }, sum = 0;
	unsigned s;
	size_t i;

	for (i = 0; i < n; i++)
		if (eligible(&b[i]))
			hist[b[i].score] += b[i].len;
	for (s = 0; s <= SEL_SCORE_MAX; s++) {
		sum += hist[s];
		if (sum >= bytes)
			return s;
	}
	return SEL_SCORE_MAX;
}

struct run {
	size_t first, len;
	bool from_end;          /* take from the far end: the run's start borders a busy block */
};

static int run_longer_first(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? 1 : -1;
	return x->first < y->first ? -1 : x->first > y->first; /* then address order: deterministic */
}

static bool contiguous(const struct sel_block *prev, const struct sel_block *b)
{
	return prev->addr + prev->len == b->addr;
}

static bool busy_neighbour(const struct sel_block *b, size_t n, size_t i, size_t j)
{
	return j < n && contiguous(&b[i < j ? i : j], &b[i < j ? j : i]) && b[j].busy;
}

/* Among the blocks at the cut-off, those in long runs of cold blocks go first: fewer, larger ranges and
 * neighbours that are likely as cold. A run that starts next to a busy block and does not end next to one is
 * taken from its end: its start is where the app is headed (a scan front) or has just been. */
static void pick_at_cutoff(struct sel_block *b, size_t n, unsigned cut, uint64_t want)
{
	struct run *runs = malloc(n * sizeof(*runs));
	size_t nruns = 0, i, j;

	if (!runs) {
		/* Out of memory: address order still yields a correct, if less compact, choice. */
		for (i = 0; i < n && want > 0; i++)
			if (eligible(&b[i]) && b[i].score == cut && !b[i].chosen) {
				b[i].chosen = true;
				want -= b[i].len < want ? b[i].len : want;
			}
		return;
	}
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && eligible(&b[j]) && b[j].score <= cut && (j == i || contiguous(&b[j - 1], &b[j]));)
			j++;
		if (j == i) {
			j = i + 1;
			continue;
		}
		runs[nruns++] = (struct run){ i, j - i,
			i > 0 && busy_neighbour(b, n, i, i - 1) && !busy_neighbour(b, n, j - 1, j) };
	}
	qsort(runs, nruns, sizeof(*runs), run_longer_first);
	for (i = 0; i < nruns && want > 0; i++)
		for (size_t k = 0; k < runs[i].len && want > 0; k++) {
			j = runs[i].from_end ? runs[i].first + runs[i].len - 1 - k : runs[i].first + k;
			if (b[j].score == cut && !b[j].chosen) {
				b[j].chosen = true;
				want -= b[j].len < want ? b[j].len : want;
			}
		}
	free(runs);
}

static int idle_longer_first(const void *a, const void *b)
{
	const struct sel_block *x = *(const struct sel_block *const *)a, *y = *(const struct sel_block *const *)b;

	if (x->idle_ms != y->idle_ms)
		return x->idle_ms < y->idle_ms ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int seen_older_first(const void *a, const void *b)
{
	const struct sel_block *x = *(const struct sel_block *const *)a, *y = *(const struct sel_block *const *)b;

	if (x->seen != y->seen)
		return x->seen < y->seen ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int seen_newer_first(const void *a, const void *b)
{
	const struct sel_block *x = *(const struct sel_block *const *)a, *y = *(const struct sel_block *const *)b;

	if (x->seen != y->seen)
		return x->seen > y->seen ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Chooses blocks not out and not chosen yet (only those armed, idle_ms > 0, with armed_only) in `cmp` order until
 * `want` is covered (with `within`, only blocks that fit in what is still wanted: never more than `want`), marking
 * them `by`. Returns what is still wanted. */
static uint64_t take_in_order(struct sel_block *b, size_t n, uint64_t want, bool armed_only, bool within,
			      int (*cmp)(const void *, const void *), uint8_t by)
{
	struct sel_block **v = malloc(n * sizeof(*v));
	size_t m = 0, i;

	if (!v)
		return want;
	for (i = 0; i < n; i++)
		if (!b[i].out && !b[i].unranked && !b[i].chosen && (!armed_only || b[i].idle_ms > 0))
			v[m++] = &b[i];
	qsort(v, m, sizeof(*v), cmp);
	for (i = 0; i < m && want > 0; i++) {
		if (within && v[i]->len > want)
			continue;
		v[i]->chosen = true;
		v[i]->by = by;
		want -= v[i]->len < want ? v[i]->len : want;
	}
	free(v);
	return want;
}

/* Nothing cold is left, and the app must still give memory back. First the busy blocks armed again lately and
 * untouched since, the longest armed first: not yet provably idle, but some evidence is better than none. Then the
 * open ones, in use as far as the tracker knows, in the order they were last seen touched, the oldest first: LRU
 * on what the tracker saw. After a phase shift that is the old phase's memory (the new phase's blocks faulted just
 * now), which no other evidence finds fast enough: the shift's own faults leave the budget no room to re-arm.
 * Taking the blocks just behind the scan front, as MIN does in a loop larger than memory, halves a cyclic scan's
 * swap-ins but multiplies a phase shift's by five to seven (docs/LIBUSBD.md): so only when the tracker saw the
 * most recently seen victims stay out longer than LRU's (SEL_LOOP). An eighth comes in the other order, in whole
 * blocks (none for a request under eight blocks), so that it keeps seeing both. */
static void pick_in_use(struct sel_block *b, size_t n, uint64_t want, bool loop)
{
	int (*main_cmp)(const void *, const void *) = loop ? seen_newer_first : seen_older_first;
	int (*probe_cmp)(const void *, const void *) = loop ? seen_older_first : seen_newer_first;
	uint8_t main_by = loop ? SEL_BY_MRU : SEL_BY_LRU, probe_by = loop ? SEL_BY_LRU : SEL_BY_MRU;
	uint64_t probe;

	want = take_in_order(b, n, want, true, false, idle_longer_first, 0);
	if (want == 0)
		return;
	probe = want / 8;
	want -= probe - take_in_order(b, n, probe, false, true, probe_cmp, probe_by);
	if (want > 0)
		take_in_order(b, n, want, false, false, main_cmp, main_by);
}

size_t sel_pick(struct sel_block *b, size_t n, uint64_t bytes, unsigned how, struct usbd_range *out, size_t max)
{
	unsigned cut;
	uint64_t below = 0, got = 0;
	size_t i, nout = 0;

	if (bytes == 0 || max == 0)
		return 0;
	cut = cutoff(b, n, bytes);
	for (i = 0; i < n; i++) {
		b[i].chosen = eligible(&b[i]) && b[i].score < cut;
		b[i].by = 0;
		if (b[i].chosen)
			below += b[i].len;
	}
	if (below < bytes)
		pick_at_cutoff(b, n, cut, bytes - below);
	for (i = 0; i < n; i++)
		got += b[i].chosen ? b[i].len : 0;
	if (got < bytes && (how & SEL_HOT))
		pick_in_use(b, n, bytes - got, how & SEL_LOOP);
	for (i = 0; i < n; i++) {
		if (!b[i].chosen)
			continue;
		if (nout > 0 && b[i - 1].chosen && contiguous(&b[i - 1], &b[i])) {
			out[nout - 1].len += b[i].len;
			continue;
		}
		if (nout == max)
			break;
		out[nout++] = (struct usbd_range){ (void *)b[i].addr, b[i].len };
	}
	return nout;
}
