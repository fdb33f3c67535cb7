/*
 * policy_pageout: whether a registered app's page-out request is honoured — the pure part of the registry.
 * No I/O: the caller reads /proc/PID/maps and the domain's free memory and passes them in.
 * Unit-tested in tests/unit/test_policy_pageout.c.
 */
#ifndef USBD_POLICY_PAGEOUT_H
#define USBD_POLICY_PAGEOUT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto.h"

/* A mapping the app may page out: private, not one of the kernel's special areas ([vdso], [vvar], ...). */
struct pageout_area {
	uint64_t start, end;
};

struct pageout_limits {
	uint64_t page_size;
	uint32_t max_ranges;        /* at most UMSG_MAX_RANGES */
	uint64_t max_bytes;         /* per request, all ranges together */
};

/* page_size 4 KiB, UMSG_MAX_RANGES, 1 GiB per request. */
void pageout_limits_default(struct pageout_limits *lim);

/*
 * Parses /proc/PID/maps text (NUL-terminated) into the areas a page-out may touch, in address order
 * (adjacent areas are merged). Returns the number of areas stored, or -EINVAL for a malformed line, or
 * -E2BIG when there are more than `max` (after merging).
 */
int pageout_parse_maps(const char *buf, struct pageout_area *areas, size_t max);

/*
 * Judges a request, checking in this order: count, alignment and emptiness, total size, ownership (every range
 * inside one merged area), then free < threshold. So a request for memory the app does not own is refused as
 * such whatever the free memory. Returns USBD_REASON_OK with *bytes the total, or the refusal.
 */
enum usbd_reason pageout_judge(const struct umsg_range *r, size_t n, const struct pageout_area *areas,
			       size_t nareas, uint64_t free_bytes, uint64_t threshold, const struct pageout_limits *lim,
			       uint64_t *bytes);

/*
 * What one of several registered apps is asked for when the domain is `deficit` bytes short: a part in proportion
 * to its resident memory (app_rss of all_rss), rounded up to a MiB, at least 1 MiB and at most the deficit. So
 * that n apps page out the deficit once between them, not n times. All of it when all_rss is 0 or app_rss >=
 * all_rss (one app, or readings that raced); 0 when deficit is 0.
 */
uint64_t pageout_share(uint64_t deficit, uint64_t app_rss, uint64_t all_rss);

/*
 * Page-outs the kernel's counters do not show yet. The registry's free memory comes from memory.stat (/proc/meminfo
 * on the host), which the kernel keeps lazily: a reader gets the counters as of their last flush, and memcg
 * flushes them on a read only past a number of updates, otherwise every 2 s. So for up to 2 s after a page-out
 * its pages can still read as mapped, not as idle swap cache: a round then would ask the apps again for the
 * deficit they just covered, and they would page it out twice. For PAGEOUT_UNSEEN_MS after an honoured page-out
 * the registry's free memory is therefore at least what that page-out was judged with plus what it paged out;
 * a page-out in that window adds to the same floor (judged against the floor, or a higher reading) and prolongs
 * it. 3 s: the flush period and a second more for a late flush (the flusher is deferrable work). Memory taken in
 * the window stays hidden until it ends; then the readings rule again.
 */
#define PAGEOUT_UNSEEN_MS 3000

struct pageout_unseen {
	uint64_t floor;         /* free memory is at least this ... */
	uint64_t until_ms;      /* ... before then (0: nothing unseen) */
};

/* Records a page-out of `bytes` honoured at now_ms, judged with free_bytes (pageout_free()'s value then). */
void pageout_unseen_add(struct pageout_unseen *u, uint64_t now_ms, uint64_t free_bytes, uint64_t bytes);

/* The free memory the registry judges with at now_ms: the reading free_read, or the floor while it holds and
 * is higher. */
uint64_t pageout_free(const struct pageout_unseen *u, uint64_t now_ms, uint64_t free_read);

/* The -errno a refusal maps to (see usbd_pageout() in usbd.h), and a sentence for people. */
int pageout_reason_errno(enum usbd_reason reason);
const char *pageout_reason_text(enum usbd_reason reason);

#endif
