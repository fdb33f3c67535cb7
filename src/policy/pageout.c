#include "policy/pageout.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"

void pageout_limits_default(struct pageout_limits *lim)
{
	lim->page_size = 4 * KIB;
	lim->max_ranges = UMSG_MAX_RANGES;
	lim->max_bytes = GIB;
}

/* The kernel's own areas: never the app's memory, and process_madvise on them is meaningless. */
static bool special_area(const char *name)
{
	return name[0] == '[' && strncmp(name, "[heap]", 6) != 0 && strncmp(name, "[stack]", 7) != 0 &&
	       strncmp(name, "[anon", 5) != 0;
}

/* Parses one "start-end perms offset dev inode [name]" line. Returns 1 for an area to keep, 0 to skip, or
 * -EINVAL. */
static int parse_line(const char *line, size_t len, struct pageout_area *a)
{
	char copy[PATH_MAX + 128], perms[5];
	const char *name;
	uint64_t start, end;
	int off = 0;

	if (len == 0 || len >= sizeof(copy))
		return -EINVAL;
	/* sscanf must not run past the line: its blanks would swallow the newline and the next line. */
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (sscanf(copy, "%" SCNx64 "-%" SCNx64 " %4s %*x %*x:%*x %*u %n", &start, &end, perms, &off) != 3 || off == 0 ||
	    start >= end || strlen(perms) != 4)
		return -EINVAL;
	name = copy + off;
	if (perms[3] != 'p' || special_area(name))
		return 0;
	a->start = start;
	a->end = end;
	return 1;
}

int pageout_parse_maps(const char *buf, struct pageout_area *areas, size_t max)
{
	size_t n = 0;

	while (*buf) {
		const char *nl = strchr(buf, '\n');
		size_t len = nl ? (size_t)(nl - buf) : strlen(buf);
		struct pageout_area a;
		int r = parse_line(buf, len, &a);

		if (r < 0)
			return r;
		if (r > 0) {
			if (n > 0 && a.start < areas[n - 1].end)
				return -EINVAL; /* maps are sorted and disjoint */
			if (n > 0 && a.start == areas[n - 1].end)
				areas[n - 1].end = a.end;
			else if (n == max)
				return -E2BIG;
			else
				areas[n++] = a;
		}
		buf += len + (nl != NULL);
	}
	return (int)n;
}

static bool owned(const struct umsg_range *r, const struct pageout_area *areas, size_t nareas)
{
	size_t lo = 0, hi = nareas;
	uint64_t end = r->addr + r->len;

	/* The last area starting at or before addr: areas are merged, so it alone must hold the range. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (areas[mid].start <= r->addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && end <= areas[lo - 1].end;
}

enum usbd_reason pageout_judge(const struct umsg_range *r, size_t n, const struct pageout_area *areas,
			       size_t nareas, uint64_t free_bytes, uint64_t threshold, const struct pageout_limits *lim,
			       uint64_t *bytes)
{
	uint64_t total = 0;
	size_t i;

	if (n == 0 || n > lim->max_ranges)
		return n == 0 ? USBD_REASON_BAD_REQUEST : USBD_REASON_TOO_MANY;
	for (i = 0; i < n; i++) {
		if (r[i].len == 0 || r[i].addr % lim->page_size || r[i].len % lim->page_size ||
		    r[i].addr + r[i].len < r[i].addr)
			return USBD_REASON_UNALIGNED;
		total = sat_add(total, r[i].len);
	}
	if (total > lim->max_bytes)
		return USBD_REASON_TOO_LARGE;
	for (i = 0; i < n; i++)
		if (!owned(&r[i], areas, nareas))
			return USBD_REASON_NOT_OWNED;
	if (free_bytes >= threshold)
		return USBD_REASON_ABOVE_THRESHOLD;
	*bytes = total;
	return USBD_REASON_OK;
}

uint64_t pageout_share(uint64_t deficit, uint64_t app_rss, uint64_t all_rss)
{
	unsigned __int128 part;

	if (deficit == 0 || all_rss == 0 || app_rss >= all_rss)
		return deficit;
	part = ((unsigned __int128)deficit * app_rss + all_rss - 1) / all_rss;
	part = (part + MIB - 1) / MIB * MIB;
	return min_u64(deficit, max_u64((uint64_t)part, MIB));
}

void pageout_unseen_add(struct pageout_unseen *u, uint64_t now_ms, uint64_t free_bytes, uint64_t bytes)
{
	if (bytes == 0)
		return;
	u->floor = sat_add(pageout_free(u, now_ms, free_bytes), bytes);
	u->until_ms = sat_add(now_ms, PAGEOUT_UNSEEN_MS);
}

uint64_t pageout_free(const struct pageout_unseen *u, uint64_t now_ms, uint64_t free_read)
{
	return now_ms < u->until_ms ? max_u64(free_read, u->floor) : free_read;
}

int pageout_reason_errno(enum usbd_reason reason)
{
	switch (reason) {
	case USBD_REASON_OK: return 0;
	case USBD_REASON_ABOVE_THRESHOLD: return -EAGAIN;
	case USBD_REASON_NOT_OWNED: return -EFAULT;
	case USBD_REASON_UNALIGNED:
	case USBD_REASON_TOO_MANY:
	case USBD_REASON_TOO_LARGE:
	case USBD_REASON_BAD_REQUEST: return -EINVAL;
	case USBD_REASON_NOT_REGISTERED:
	case USBD_REASON_REFUSED: return -EPERM;
	case USBD_REASON_FAILED: return -EIO;
	}
	return -EINVAL;
}

const char *pageout_reason_text(enum usbd_reason reason)
{
	switch (reason) {
	case USBD_REASON_OK: return "honoured";
	case USBD_REASON_ABOVE_THRESHOLD: return "free memory is above the threshold";
	case USBD_REASON_NOT_OWNED: return "a range lies outside the caller's private mappings";
	case USBD_REASON_UNALIGNED: return "a range is empty or not page-aligned";
	case USBD_REASON_TOO_MANY: return "too many ranges in one request";
	case USBD_REASON_TOO_LARGE: return "request larger than the per-request limit";
	case USBD_REASON_NOT_REGISTERED: return "not registered";
	case USBD_REASON_BAD_REQUEST: return "malformed request";
	case USBD_REASON_FAILED: return "the kernel refused the page-out";
	case USBD_REASON_REFUSED: return "registration refused";
	}
	return "unknown reason";
}
