#include "control/notify.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"

enum { SLOT_MEDIUM = NOTIFY_USAGE_LEVELS, SLOT_CRITICAL, SLOT_OOM };

static void put(struct notify *nt, int slot, int fd, enum notify_kind kind, int epfd, uint32_t tag_base)
{
	/* A v2 PSI or memory.events file is always readable: watching EPOLLIN there would spin. */
	struct epoll_event ev = { .events = nt->events, .data.u32 = tag_base + (uint32_t)slot };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_warn("cannot watch a notification fd: %s", strerror(errno));
		close(fd);
		return;
	}
	nt->fd[slot] = fd;
	nt->kind[slot] = kind;
}

static void drop(struct notify *nt, int slot, int epfd)
{
	if (nt->fd[slot] < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, nt->fd[slot], NULL);
	close(nt->fd[slot]); /* closing a v1 eventfd unregisters it */
	nt->fd[slot] = -1;
}

void notify_setup(struct notify *nt, const struct domain *d, int epfd, uint32_t tag_base)
{
	static const struct { int slot; enum cg_pressure level; enum notify_kind kind; const char *name; } pressure[] = {
		{ SLOT_MEDIUM, CG_PRESSURE_MEDIUM, NOTIFY_MEDIUM, "medium pressure" },
		{ SLOT_CRITICAL, CG_PRESSURE_CRITICAL, NOTIFY_CRITICAL, "critical pressure" },
	};
	const struct cg_ops *ops = d->hier.ops;
	int fd;

	memset(nt, 0, sizeof(*nt));
	for (int i = 0; i < NOTIFY_SLOTS; i++)
		nt->fd[i] = -1;
	nt->events = d->hier.version == 1 ? EPOLLIN : EPOLLPRI;
	if (cg_oom_count(&d->dom, &nt->oom_count))
		nt->oom_count = 0;
	for (size_t i = 0; i < sizeof(pressure) / sizeof(pressure[0]); i++) {
		if ((fd = ops->pressure_open(&d->dom, pressure[i].level)) >= 0)
			put(nt, pressure[i].slot, fd, pressure[i].kind, epfd, tag_base);
		else
			log_warn("no %s notifications on %s: %s", pressure[i].name, domain_label(d), strerror(-fd));
	}
	if ((fd = ops->oom_open(&d->dom)) >= 0)
		put(nt, SLOT_OOM, fd, NOTIFY_OOM, epfd, tag_base);
	else
		log_warn("no OOM notifications on %s: %s", domain_label(d), strerror(-fd));
}

/* Registers the usage threshold of level k (NOTIFY_ANTICIPATE early for the reflex); -errno when the backend
 * refuses (-ENOTSUP: it has none). */
static int open_level(struct notify *nt, const struct domain *d, int k, bool early)
{
	uint64_t level = sat_add(nt->usage_edge, nt->usage_step * (uint64_t)k);

	if (early)
		level = sat_sub(level, NOTIFY_ANTICIPATE);
	int fd;

	if (level == 0 || level >= d->total)
		return -ERANGE;
	if ((fd = d->hier.ops->usage_threshold_open(&d->dom, level)) < 0) {
		if (fd != -ENOTSUP)
			log_warn("cannot register a usage threshold on %s: %s", domain_label(d), strerror(-fd));
		nt->no_usage = fd == -ENOTSUP;
	}
	return fd;
}

int notify_arm_usage(struct notify *nt, const struct domain *d, uint64_t edge, uint64_t step, int epfd,
		     uint32_t tag_base, int *handover)
{
	int n = 0, opened = 0, fd;

	if (handover)
		*handover = -1;
	if (nt->usage_edge != edge || nt->usage_step != step) {
		for (int k = 0; k < NOTIFY_USAGE_LEVELS; k++)
			drop(nt, k, epfd);
		nt->first_handed = false; /* the caller replaces or disarms the reflex holding the old one */
	}
	nt->usage_edge = edge;
	nt->usage_step = step;
	if (d->host || nt->no_usage) {
		nt->no_usage = true;
		return 0; /* the root's usage is not what MemAvailable measures: pressure and the timer serve there */
	}
	for (int k = 0; k < NOTIFY_USAGE_LEVELS; k++) {
		bool hand = k == 0 && handover;

		if (hand && nt->first_handed) {
			n++; /* the reflex still holds it */
			continue;
		}
		if (hand)
			drop(nt, 0, epfd); /* the controller's goes: the reflex gets its own */
		else if (nt->fd[k] >= 0) {
			n++;
			continue;
		}
		if ((fd = open_level(nt, d, k, hand)) < 0)
			break;
		if (hand) {
			*handover = fd;
			nt->first_handed = true;
		} else {
			put(nt, k, fd, NOTIFY_USAGE, epfd, tag_base);
			if (k == 0)
				nt->first_handed = false;
		}
		n++;
		opened++;
	}
	if (opened)
		log_debug("usage thresholds: %d from %llu MiB, every %llu MiB, %d new%s", n, (unsigned long long)(edge >> 20),
			  (unsigned long long)(step >> 20), opened,
			  handover && *handover >= 0 ? ", the first for the reflex" : "");
	return n;
}

uint64_t notify_first_level(const struct notify *nt)
{
	return nt->first_handed ? sat_sub(nt->usage_edge, NOTIFY_ANTICIPATE) : nt->usage_edge;
}

void notify_first_returned(struct notify *nt)
{
	nt->first_handed = false;
}

bool notify_is_oom(struct notify *nt, const struct domain *d)
{
	uint64_t count;

	if (cg_oom_count(&d->dom, &count))
		return d->hier.version == 1;
	if (count == nt->oom_count)
		return d->hier.version == 1; /* v1 may signal before its oom_kill counter moves */
	nt->oom_count = count;
	return true;
}

void notify_teardown(struct notify *nt, int epfd)
{
	for (int i = 0; i < NOTIFY_SLOTS; i++)
		drop(nt, i, epfd);
	nt->usage_edge = 0;
	nt->first_handed = false;
}
