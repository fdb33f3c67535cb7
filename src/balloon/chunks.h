/*
 * chunks: the balloon's memory, a pool of 2 MiB chunks. Each chunk is THP-aligned, backed with huge pages
 * where the kernel can (MADV_HUGEPAGE), populated in bulk and, in pinned mode, mlock'ed so it never swaps.
 * In reclaimable mode chunks are not locked but lazily freed (MADV_FREE) once populated: the kernel may drop their
 * pages under pressure, inline with reclaim, and they read back as zeros.
 * Growth maps regions of up to CHUNK_REGION bytes and fills them in batches of CHUNK_BATCH, and can be
 * interrupted between batches; release coalesces address-contiguous chunks into one munmap per batch. New chunks go
 * to the tenant (chunk_added); on release the tenant picks which chunks to give back (chunks_take); without
 * a tenant the most recently added go first.
 * Bookkeeping is one pointer per chunk, on the heap.
 * Return contract: 0 on success, -errno on failure; what succeeded before a failure is kept and counted.
 */
#ifndef USBD_BALLOON_CHUNKS_H
#define USBD_BALLOON_CHUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balloon/tenant.h"
#include "common/size.h"

#define CHUNK_SIZE (2 * MIB)
#define CHUNK_BATCH (32 * MIB)  /* populated (and locked) at a time; a grow can stop between batches */
#define CHUNK_REGION GIB        /* mapped at a time, so that chunks are address-contiguous */

struct chunk_pool {
	enum balloon_mode mode;
	const struct worker_tenant *tenant; /* NULL: chunks are simply held */
	void **base;                        /* chunk bases, in the order they were added */
	size_t n, cap;
};

/* Asked between batches; returning true stops the grow early (e.g. a control message is pending). */
typedef bool (*chunks_stop_fn)(void *arg);

/* Sets up an empty pool. `tenant` may be NULL; it must outlive the pool or be detached with NULL first. */
void chunks_init(struct chunk_pool *p, enum balloon_mode mode, const struct worker_tenant *tenant);

/*
 * Grows by `bytes` rounded down to CHUNK_SIZE, in batches, asking `stop` (may be NULL) after each one.
 * *grown is set to the bytes added. Returns 0, also when stopped early (*grown tells), or -errno from the
 * first batch that failed (-ENOMEM: no memory or bookkeeping; mmap/madvise/mlock errors as they come, e.g.
 * -EAGAIN from mlock); a failed batch is unmapped whole, earlier batches are kept. A region's unfilled rest
 * (after a stop or a failure) is unmapped.
 */
int chunks_grow(struct chunk_pool *p, uint64_t bytes, chunks_stop_fn stop, void *arg, uint64_t *grown);

/*
 * Releases `bytes` rounded up to CHUNK_SIZE (UINT64_MAX or more than held: everything), chosen by the
 * tenant or, without one, the most recently added. *released is set to the bytes unmapped. Returns 0,
 * -ENOMEM when the scratch list cannot be allocated (nothing released), or -EINVAL when the tenant handed
 * back a base the pool does not hold (that base is skipped, the others are released).
 */
int chunks_shrink(struct chunk_pool *p, uint64_t bytes, uint64_t *released);

/* Unmaps every chunk without consulting the tenant (it is being destroyed) and frees the bookkeeping. */
void chunks_free(struct chunk_pool *p);

/*
 * Bytes of the pool still resident (mincore, one call per chunk); in reclaimable mode the kernel may have taken some
 * back. A dropped page that was read since maps the shared zero page and counts as resident until written.
 */
uint64_t chunks_resident(const struct chunk_pool *p);

/*
 * Reclaimable mode: makes what the kernel dropped resident again, chunk by chunk (populated, then lazily freed
 * again), until at least `bytes` more are resident or no chunk misses a page. What the tenant kept in the dropped
 * pages is gone: they come back as zeros, which it detects. *refilled is set to the bytes made resident. Returns 0
 * or -errno of the first populate/madvise that failed.
 */
int chunks_refill(struct chunk_pool *p, uint64_t bytes, uint64_t *refilled);

static inline uint64_t chunks_bytes(const struct chunk_pool *p) { return (uint64_t)p->n * CHUNK_SIZE; }

#endif
