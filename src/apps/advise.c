/* advise: page-outs of a registered app's own memory (see advise.h). */
#include "apps/advise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"
#include "policy/pageout.h"
#include "sys/procfs.h"

#define MAX_MAPS_BYTES (16 * MIB)
#define MAX_AREAS 65536
#define MAPS_TRIES 5

/* Advises every range; returns the bytes advised, or -errno when the kernel advised nothing. */
static int64_t advise(const struct app *a, const struct umsg_range *rg, uint32_t n)
{
	struct iovec iov[UMSG_MAX_RANGES];
	uint64_t done = 0, total = 0;
	uint32_t i, first = 0;

	for (i = 0; i < n; i++) {
		iov[i] = (struct iovec){ (void *)(uintptr_t)rg[i].addr, rg[i].len };
		total += rg[i].len;
	}
	while (first < n) {
		ssize_t got = process_madvise(a->pidfd, iov + first, n - first, MADV_PAGEOUT, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return done ? (int64_t)done : (got < 0 ? -errno : -EIO);
		/* A partial return stops at an iovec boundary or inside one: skip what was done. */
		done += (uint64_t)got;
		while (first < n && (size_t)got >= iov[first].iov_len)
			got -= (ssize_t)iov[first++].iov_len;
		if (first < n) {
			iov[first].iov_base = (char *)iov[first].iov_base + got;
			iov[first].iov_len -= (size_t)got;
		}
	}
	return (int64_t)min_u64(done, total);
}

/* The app's mappings, parsed into areas: their count or -errno. /proc/PID/maps is read in pieces, and a library
 * tracker changing protections meanwhile can make the pieces overlap (the parser's -EINVAL): read it again. */
static int read_areas(pid_t pid, struct pageout_area *areas, size_t max)
{
	int n = -EINVAL;

	for (int i = 0; i < MAPS_TRIES && n == -EINVAL; i++) {
		char *maps = NULL;
		n = pid_maps_read(pid, MAX_MAPS_BYTES, &maps);
		if (n == 0)
			n = pageout_parse_maps(maps, areas, max);
		free(maps);
	}
	return n;
}

uint64_t advise_serve(struct app *a, const struct umsg_pageout *m, uint64_t now_ms, uint64_t free_bytes,
		      uint64_t threshold)
{
	static struct pageout_area areas[MAX_AREAS];
	struct pageout_limits lim;
	enum usbd_reason reason;
	uint64_t bytes = 0;
	char msg[96];
	int64_t done;
	int n;

	pageout_limits_default(&lim);
	lim.page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	n = read_areas(a->pid, areas, MAX_AREAS);
	if (n < 0) {
		/* -EIO, as every failure of the daemon's own; the message says which. */
		snprintf(msg, sizeof(msg), "cannot read the maps: %s", strerror(-n));
		log_warn("registry: pid %d page-out failed: %s", (int)a->pid, msg);
		app_reply(a, m->hdr.seq, -EIO, USBD_REASON_FAILED, 0, free_bytes, threshold, msg);
		return 0;
	}
	reason = pageout_judge(m->ranges, m->nranges, areas, (size_t)n, free_bytes, threshold, &lim, &bytes);
	if (reason != USBD_REASON_OK) {
		log_debug("registry: pid %d page-out refused: %s", (int)a->pid, pageout_reason_text(reason));
		app_reply(a, m->hdr.seq, pageout_reason_errno(reason), reason, 0, free_bytes, threshold,
			  pageout_reason_text(reason));
		return 0;
	}
	done = advise(a, m->ranges, m->nranges);
	if (done < 0) {
		snprintf(msg, sizeof(msg), "process_madvise: %s", strerror((int)-done));
		app_reply(a, m->hdr.seq, -EIO, USBD_REASON_FAILED, 0, free_bytes, threshold, msg);
		return 0;
	}
	log_debug("registry: pid %d paged out %llu bytes", (int)a->pid, (unsigned long long)done);
	a->pageout_ms = now_ms;
	app_reply(a, m->hdr.seq, 0, USBD_REASON_OK, (uint64_t)done, free_bytes, threshold,
		  pageout_reason_text(USBD_REASON_OK));
	return (uint64_t)done;
}
