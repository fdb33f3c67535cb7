#include "sys/domain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/size.h"
#include "sys/procfs.h"

static int resolve_named(const struct cg_hier *h, const char *what, const char *name, struct cgroup *out,
			 char *err, size_t errlen)
{
	int r = cg_resolve(h, name, out);

	if (r == -ENOENT)
		snprintf(err, errlen, "%s cgroup '%s' does not exist in %s: create it with `cgcreate -g memory:%s`",
			 what, name, h->root, name);
	else if (r == -EINVAL)
		snprintf(err, errlen, "%s cgroup name '%s' is not valid (no '..', '.', empty parts or control "
			 "characters)", what, name);
	else if (r == -EXDEV)
		snprintf(err, errlen, "%s cgroup '%s' escapes the memory hierarchy %s", what, name, h->root);
	else if (r)
		snprintf(err, errlen, "%s cgroup '%s': %s", what, name, strerror(-r));
	return r;
}

int domain_open(struct domain *d, const char *domain_name, const char *app_name, const char *cg_root,
		int cg_version, char *err, size_t errlen)
{
	uint64_t limit;
	struct meminfo mi;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = cg_hier_open(&d->hier, cg_root, cg_version))) {
		snprintf(err, errlen, "no cgroup memory controller found (%s)", strerror(-r));
		return r;
	}
	d->host = !domain_name;
	if ((r = resolve_named(&d->hier, "domain", d->host ? "" : domain_name, &d->dom, err, errlen)))
		return r;
	if ((r = resolve_named(&d->hier, "app", app_name, &d->app, err, errlen)))
		return r;
	if (!cg_within(&d->app, &d->dom) || !strcmp(d->app.name, d->dom.name)) {
		snprintf(err, errlen, "app cgroup '%s' is not inside the domain '%s' (it must be a descendant)",
			 d->app.name, domain_label(d));
		return -EINVAL;
	}
	if ((r = meminfo_read(&mi))) {
		snprintf(err, errlen, "cannot read meminfo: %s", strerror(-r));
		return r;
	}
	d->total = mi.total;
	if (!d->host) {
		if ((r = cg_limit(&d->dom, &limit))) {
			snprintf(err, errlen, "domain '%s': cannot read its limit: %s", d->dom.name, strerror(-r));
			return r;
		}
		if (limit == CG_UNLIMITED || limit >= mi.total) {
			snprintf(err, errlen, "domain '%s' has no memory limit below the machine's memory: set one "
				 "(e.g. `cgset -r memory.limit_in_bytes=2G %s`) or run without --domain",
				 d->dom.name, d->dom.name);
			return -EINVAL;
		}
		d->total = limit;
	}
	return 0;
}

int domain_create_worker_cgroup(struct domain *d, char *err, size_t errlen)
{
	pid_t pid;
	int r = cg_create_child(&d->dom, USBD_WORKER_CGROUP, &d->worker);

	if (r == -EEXIST) {
		/* A leftover from a crashed usbd is reused; one with processes belongs to a running usbd. */
		char name[PATH_MAX + sizeof(USBD_WORKER_CGROUP) + 1];
		snprintf(name, sizeof(name), "%s%s%s", d->dom.name, *d->dom.name ? "/" : "", USBD_WORKER_CGROUP);
		if ((r = cg_resolve(&d->hier, name, &d->worker)) == 0 && cg_pids(&d->worker, &pid, 1) > 0) {
			snprintf(err, errlen, "cgroup '%s' holds process %d: is another usbd running on this domain?",
				 name, (int)pid);
			return -EBUSY;
		}
		if (r == 0)
			log_warn("reusing the worker cgroup '%s' left by an earlier usbd", name);
	}
	if (r) {
		snprintf(err, errlen, "cannot create the worker cgroup in '%s': %s", domain_label(d), strerror(-r));
		return r;
	}
	d->worker_created = true;
	return 0;
}

void domain_remove_worker_cgroup(struct domain *d)
{
	int r;

	if (!d->worker_created)
		return;
	if ((r = cg_remove(&d->worker)))
		log_err("cannot remove cgroup '%s': %s", d->worker.name, strerror(-r));
	else
		d->worker_created = false;
}

uint64_t domain_idle_swapcache(uint64_t swapcached, uint64_t anon_lru, uint64_t anon_mapped, uint64_t shmem)
{
	return min_u64(swapcached, sat_sub(anon_lru, sat_add(anon_mapped, shmem)));
}

int domain_read(const struct domain *d, struct domain_reading *out)
{
	struct cg_stat st;
	struct meminfo mi;
	int r;

	memset(out, 0, sizeof(*out));
	out->total = d->total;
	if ((r = cg_usage(&d->app, &out->app_usage)) || (r = cg_stat(&d->app, &st)))
		return r;
	out->app_swap = st.swap;
	out->app_majfault = st.pgmajfault;
	if (d->host) {
		if ((r = meminfo_read(&mi)))
			return r;
		out->idle_swapcache = domain_idle_swapcache(mi.swap_cached, sat_add(mi.active_anon, mi.inactive_anon),
							    mi.anon_pages, mi.shmem);
		out->free = mi.available;
		out->usage = sat_sub(mi.total, mi.available);
		return 0;
	}
	if ((r = cg_usage(&d->dom, &out->usage)) || (r = cg_stat(&d->dom, &st)))
		return r;
	/* Inactive page cache is reclaimed before anything else: count it as free, like MemAvailable does. */
	out->inactive_file = st.inactive_file;
	out->free = sat_sub(d->total, sat_sub(out->usage, st.inactive_file));
	out->idle_swapcache = domain_idle_swapcache(st.swapcached, sat_add(st.active_anon, st.inactive_anon), st.anon,
						    st.shmem);
	return 0;
}

const char *domain_label(const struct domain *d)
{
	return d->host ? "host" : d->dom.name;
}
