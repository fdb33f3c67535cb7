#include "balloon/chunks.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

#define BATCH_CHUNKS (CHUNK_BATCH / CHUNK_SIZE)
/* Address space mapped at once, then filled batch by batch: one mapping, so releasing it is one munmap. */
#define REGION_CHUNKS (CHUNK_REGION / CHUNK_SIZE)

void chunks_init(struct chunk_pool *p, enum balloon_mode mode, const struct worker_tenant *tenant)
{
	*p = (struct chunk_pool){ .mode = mode, .tenant = tenant };
}

/* Makes room for `more` bases before anything is mapped, so a mapping is never made that cannot be kept. */
static int reserve(struct chunk_pool *p, size_t more)
{
	size_t cap;
	void **base;

	if (p->n + more <= p->cap)
		return 0;
	cap = p->cap ? p->cap : BATCH_CHUNKS;
	while (cap < p->n + more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	base = reallocarray(p->base, cap, sizeof(*base));
	if (!base)
		return -ENOMEM;
	p->base = base;
	p->cap = cap;
	return 0;
}

/* Writes one byte per page: for kernels without MADV_POPULATE_WRITE (before 5.14). */
static void touch(char *mem, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t off = 0; off < len; off += page)
		((volatile char *)mem)[off] = 0;
}

static int populate(char *mem, size_t len)
{
	if (madvise(mem, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	touch(mem, len);
	return 0;
}

/*
 * Maps a region of `len` bytes aligned to CHUNK_SIZE (over-maps by one chunk and trims both ends) and asks
 * for huge pages on all of it at once.
 */
static int map_region(size_t len, char **out)
{
	static bool hint_warned;
	size_t span = len + CHUNK_SIZE, head, tail;
	char *raw, *mem;

	raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	mem = (char *)round_up((uintptr_t)raw, CHUNK_SIZE);
	head = mem - raw;
	tail = span - head - len;
	/* A failed trim only leaves untouched address space behind: worth a warning, not the batch. */
	if (head && munmap(raw, head))
		log_warn("munmap of alignment head: %s", strerror(errno));
	if (tail && munmap(mem + len, tail))
		log_warn("munmap of alignment tail: %s", strerror(errno));
	if (madvise(mem, len, MADV_HUGEPAGE) && !hint_warned) {
		/* Only a hint: without THP the chunks still work, on small pages. */
		log_warn("madvise(MADV_HUGEPAGE): %s; chunks use small pages", strerror(errno));
		hint_warned = true;
	}
	*out = mem;
	return 0;
}

/*
 * Populates one batch of a region, then locks it (pinned mode) or hands it back to the kernel as lazily freeable
 * (reclaimable mode: resident, but reclaim may drop it like clean cache, without swap and without asking us).
 */
static int fill_batch(enum balloon_mode mode, char *mem, size_t len)
{
	int err = populate(mem, len);

	if (err) {
		log_err("populating %zu bytes: %s", len, strerror(-err));
		return err;
	}
	if (mode == BALLOON_PINNED && mlock(mem, len)) {
		err = -errno;
		log_err("mlock of %zu bytes: %s", len, strerror(-err));
	}
	if (mode == BALLOON_RECLAIMABLE && madvise(mem, len, MADV_FREE)) {
		err = -errno;
		log_err("madvise(MADV_FREE) of %zu bytes: %s", len, strerror(-err));
	}
	return err;
}

/* Hands chunks to the pool and to the tenant. Room in p->base was reserved before mapping. */
static void adopt(struct chunk_pool *p, char *mem, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		p->base[p->n++] = mem + i * CHUNK_SIZE;
		if (p->tenant)
			p->tenant->chunk_added(p->tenant->ctx, mem + i * CHUNK_SIZE, CHUNK_SIZE);
	}
}

/*
 * Fills one region batch by batch. Returns 0 or -errno, with *filled the chunks kept and *stopped set
 * when `stop` asked to end early; the caller unmaps the rest of the region.
 */
static int fill_region(struct chunk_pool *p, char *mem, size_t chunks, bool more_after, chunks_stop_fn stop,
		       void *arg, size_t *filled, bool *stopped)
{
	*filled = 0;
	*stopped = false;
	while (*filled < chunks) {
		size_t count = min_u64(chunks - *filled, BATCH_CHUNKS);
		char *batch = mem + *filled * CHUNK_SIZE;
		int err = fill_batch(p->mode, batch, count * CHUNK_SIZE);

		if (err)
			return err;
		adopt(p, batch, count);
		*filled += count;
		if ((*filled < chunks || more_after) && stop && stop(arg)) {
			*stopped = true;
			return 0;
		}
	}
	return 0;
}

int chunks_grow(struct chunk_pool *p, uint64_t bytes, chunks_stop_fn stop, void *arg, uint64_t *grown)
{
	uint64_t want = bytes / CHUNK_SIZE, done = 0;
	bool stopped = false;
	int err = 0;

	while (!err && !stopped && done < want) {
		size_t chunks = min_u64(want - done, REGION_CHUNKS), filled;
		char *mem = NULL;

		err = reserve(p, chunks);
		if (err) {
			log_err("chunk bookkeeping for %zu more chunks: %s", p->n + chunks, strerror(-err));
			break;
		}
		err = map_region(chunks * CHUNK_SIZE, &mem);
		if (err) {
			log_err("mmap of %zu bytes: %s", chunks * CHUNK_SIZE, strerror(-err));
			break;
		}
		err = fill_region(p, mem, chunks, done + chunks < want, stop, arg, &filled, &stopped);
		done += filled;
		if (filled < chunks && munmap(mem + filled * CHUNK_SIZE, (chunks - filled) * CHUNK_SIZE))
			log_err("munmap of the unfilled rest of a region: %s", strerror(errno));
	}
	*grown = done * CHUNK_SIZE;
	return err;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

/*
 * Unmaps the sorted bases in v[0..k), one munmap per address-contiguous run of at most a batch. The kernel frees a
 * munmap's huge pages together at its end, so a run of a batch gives the first memory back after a batch's worth of
 * freeing rather than after the whole release's. Bases whose munmap failed are moved to the front of v; returns how
 * many, so the caller keeps holding them.
 */
static size_t release_sorted(void **v, size_t k)
{
	size_t kept = 0, j;

	for (size_t i = 0; i < k; i = j) {
		for (j = i + 1; j < k && j - i < BATCH_CHUNKS && (char *)v[j] == (char *)v[j - 1] + CHUNK_SIZE; j++)
			;
		if (munmap(v[i], (j - i) * CHUNK_SIZE) == 0)
			continue;
		log_err("munmap of %zu chunks at %p: %s", j - i, v[i], strerror(errno));
		memmove(&v[kept], &v[i], (j - i) * sizeof(*v));
		kept += j - i;
	}
	return kept;
}

/* Without a tenant the most recently added chunks, the tail of p->base, go back. */
static uint64_t shrink_tail(struct chunk_pool *p, size_t want)
{
	void **v = &p->base[p->n - want];
	size_t kept;

	qsort(v, want, sizeof(*v), cmp_ptr);
	kept = release_sorted(v, want);
	p->n -= want - kept;
	return (uint64_t)(want - kept) * CHUNK_SIZE;
}

/* Drops the sorted, distinct bases v[0..k) from p->base; sets seen[i] for each one the pool held. */
static void forget(struct chunk_pool *p, void **v, size_t k, unsigned char *seen)
{
	size_t out = 0;

	for (size_t i = 0; i < p->n; i++) {
		void **hit = bsearch(&p->base[i], v, k, sizeof(*v), cmp_ptr);

		if (hit)
			seen[hit - v] = 1;
		else
			p->base[out++] = p->base[i];
	}
	p->n = out;
}

static int shrink_tenant(struct chunk_pool *p, size_t want, uint64_t *released)
{
	void **v = malloc(want * (sizeof(*v) + 1));
	unsigned char *seen;
	size_t got, k = 0, kept;
	int err = 0;

	if (!v) {
		log_err("scratch list for releasing %zu chunks: out of memory", want);
		return -ENOMEM;
	}
	seen = (unsigned char *)(v + want);
	memset(seen, 0, want);
	got = p->tenant->chunks_take(p->tenant->ctx, want, v);
	if (got > want) {
		log_err("tenant returned %zu chunks, %zu were asked for", got, want);
		got = want;
	}
	qsort(v, got, sizeof(*v), cmp_ptr);
	forget(p, v, got, seen);
	for (size_t i = 0; i < got; i++) {
		if (seen[i] && (k == 0 || v[k - 1] != v[i])) {
			v[k++] = v[i];
			continue;
		}
		if (!seen[i]) {
			log_err("tenant returned %p, which is not a chunk of the pool", v[i]);
			err = -EINVAL;
		}
	}
	kept = release_sorted(v, k);
	/* Room is certain: these bases were in p->base a moment ago. */
	memcpy(&p->base[p->n], v, kept * sizeof(*v));
	p->n += kept;
	*released = (uint64_t)(k - kept) * CHUNK_SIZE;
	free(v);
	return err;
}

int chunks_shrink(struct chunk_pool *p, uint64_t bytes, uint64_t *released)
{
	size_t want;

	*released = 0;
	if (!p->n || !bytes)
		return 0;
	want = bytes >= chunks_bytes(p) ? p->n : round_up(bytes, CHUNK_SIZE) / CHUNK_SIZE;
	if (!p->tenant) {
		*released = shrink_tail(p, want);
		return 0;
	}
	return shrink_tenant(p, want, released);
}

void chunks_free(struct chunk_pool *p)
{
	size_t kept;

	if (p->n) {
		qsort(p->base, p->n, sizeof(*p->base), cmp_ptr);
		kept = release_sorted(p->base, p->n);
		if (kept)
			log_err("%zu chunks could not be unmapped", kept);
	}
	free(p->base);
	chunks_init(p, p->mode, NULL);
}

/* Bytes of one chunk that are resident; a chunk mincore cannot look at counts as whole (logged). */
static uint64_t chunk_resident(void *base)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char vec[CHUNK_SIZE / 4096]; /* Linux pages are 4 KiB or larger */
	uint64_t pages = 0;

	if (mincore(base, CHUNK_SIZE, vec)) {
		log_warn("mincore of chunk %p: %s", base, strerror(errno));
		return CHUNK_SIZE;
	}
	for (size_t j = 0; j < CHUNK_SIZE / page; j++)
		pages += vec[j] & 1;
	return pages * page;
}

uint64_t chunks_resident(const struct chunk_pool *p)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < p->n; i++)
		bytes += chunk_resident(p->base[i]);
	return bytes;
}

int chunks_refill(struct chunk_pool *p, uint64_t bytes, uint64_t *refilled)
{
	int err = 0;

	*refilled = 0;
	for (size_t i = 0; i < p->n && *refilled < bytes && !err; i++) {
		uint64_t missing = CHUNK_SIZE - chunk_resident(p->base[i]);

		if (!missing)
			continue;
		/* Populating marks the still-resident pages written again; fill_batch frees them lazily once more. */
		err = fill_batch(p->mode, p->base[i], CHUNK_SIZE);
		if (!err)
			*refilled += missing;
	}
	return err;
}
