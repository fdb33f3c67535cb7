#include "control/notify.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"

static void add(struct notify *nt, int fd, enum notify_kind kind, int epfd, uint32_t tag_base)
{
	/* v1 eventfds signal EPOLLIN; v2 PSI and memory.events files signal EPOLLPRI. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.u32 = tag_base + (uint32_t)nt->n };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_warn("cannot watch a notification fd: %s", strerror(errno));
		close(fd);
		return;
	}
	nt->fd[nt->n] = fd;
	nt->kind[nt->n] = kind;
	nt->n++;
}

int notify_setup(struct notify *nt, const struct domain *d, uint64_t headroom, int epfd, uint32_t tag_base)
{
	const struct cg_ops *ops = d->hier.ops;
	int fd;

	memset(nt, 0, sizeof(*nt));
	/* Thresholds at the edge of the headroom and deeper into it, so continued growth keeps waking us. */
	for (int k = 0; k < 4 && nt->n < NOTIFY_MAX; k++) {
		uint64_t level = sat_add(sat_sub(d->total, headroom), headroom / 4 * (uint64_t)k);
		if (level == 0 || level >= d->total)
			continue;
		fd = ops->usage_threshold_open(&d->dom, level);
		if (fd < 0) {
			log_debug("no usage thresholds on %s: %s", domain_label(d), strerror(-fd));
			break;
		}
		add(nt, fd, NOTIFY_USAGE, epfd, tag_base);
		nt->nusage++;
	}
	if ((fd = ops->pressure_open(&d->dom, CG_PRESSURE_MEDIUM)) >= 0)
		add(nt, fd, NOTIFY_MEDIUM, epfd, tag_base);
	else
		log_warn("no medium pressure notifications on %s: %s", domain_label(d), strerror(-fd));
	if ((fd = ops->pressure_open(&d->dom, CG_PRESSURE_CRITICAL)) >= 0)
		add(nt, fd, NOTIFY_CRITICAL, epfd, tag_base);
	else
		log_warn("no critical pressure notifications on %s: %s", domain_label(d), strerror(-fd));
	if ((fd = ops->oom_open(&d->dom)) >= 0)
		add(nt, fd, NOTIFY_OOM, epfd, tag_base);
	else
		log_warn("no OOM notifications on %s: %s", domain_label(d), strerror(-fd));
	return nt->n;
}

void notify_teardown(struct notify *nt, int epfd)
{
	for (int i = 0; i < nt->n; i++) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, nt->fd[i], NULL);
		close(nt->fd[i]);
	}
	nt->n = nt->nusage = 0;
}

int notify_rearm(struct notify *nt, const struct domain *d, uint64_t headroom, int epfd, uint32_t tag_base)
{
	notify_teardown(nt, epfd);
	return notify_setup(nt, d, headroom, epfd, tag_base);
}
