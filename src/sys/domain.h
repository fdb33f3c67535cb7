/*
 * domain: the producer's memory (a cgroup, or the whole host) and the app cgroup inside it, resolved and
 * checked once at start, and the readings the control loop takes from them.
 */
#ifndef USBD_SYS_DOMAIN_H
#define USBD_SYS_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/size.h"
#include "sys/cgroup.h"

#define USBD_WORKER_CGROUP "usbd-balloon"

struct domain {
	struct cg_hier hier;
	bool host;                 /* no --domain: the whole machine */
	struct cgroup dom;         /* the domain cgroup (the hierarchy root in host mode) */
	struct cgroup app;
	struct cgroup worker;      /* USBD_WORKER_CGROUP, a child of dom that usbd creates and removes */
	bool worker_created;
	uint64_t total;            /* the domain's memory, bytes */
};

struct domain_reading {
	uint64_t total, usage, free;   /* free = total - (usage - inactive file cache), never negative */
	uint64_t inactive_file;
	uint64_t idle_swapcache;       /* domain_idle_swapcache(): not in free; the registry adds it */
	uint64_t app_usage, app_swap, app_majfault;
};

/*
 * Resolves and checks the domain and app cgroups (no writes). cg_root/cg_version override detection (tests).
 * On failure returns -errno with a message for people in err: a missing cgroup names `cgcreate -g memory:NAME`.
 */
int domain_open(struct domain *d, const char *domain_name, const char *app_name, const char *cg_root,
		int cg_version, char *err, size_t errlen);

/* Creates the worker's cgroup (refuses with -EBUSY if one with processes exists: another usbd). */
int domain_create_worker_cgroup(struct domain *d, char *err, size_t errlen);
/* Removes it if usbd created it; logs a failure. */
void domain_remove_worker_cgroup(struct domain *d);

/*
 * Swap-cache pages no process maps: paged out (by an app's usbd_pageout, the harvester or the kernel's reclaim)
 * and written, they stay charged until the next reclaim drops them without I/O. Estimated as the anon LRU less
 * mapped anon and shmem, at most the swap cache; mlocked anon (on no LRU) makes it an underestimate, never an
 * overestimate. The registry counts it as free (registry_tick), the balloon's policy does not: when the kernel
 * reclaims at the limit, what it just unmapped is idle swap cache too, and the balloon must not grow into a
 * domain that is thrashing.
 */
uint64_t domain_idle_swapcache(uint64_t swapcached, uint64_t anon_lru, uint64_t anon_mapped, uint64_t shmem);

/* Free memory as the registry judges it (SIGBALLOONs, page-outs): the domain's plus its idle swap cache. */
static inline uint64_t domain_free_for_apps(const struct domain_reading *r)
{
	return sat_add(r->free, r->idle_swapcache);
}

/* Takes the readings the control loop needs. */
int domain_read(const struct domain *d, struct domain_reading *r);

/* The domain's name for people: the cgroup name, or "host". */
const char *domain_label(const struct domain *d);

#endif
