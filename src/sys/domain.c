#include "sys/domain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/size.h"
#include "sys/procfs.h"
#include "sys/sdunit.h"

#define USBD_CONTROL_CGROUP "usbd-control"

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

/* How to give the domain a limit, in the form its hierarchy takes. */
static void limit_hint(const struct domain *d, char *err, size_t errlen)
{
	const char *base = strrchr(d->dom.name, '/');
	char how[2 * PATH_MAX + 128];

	base = base ? base + 1 : d->dom.name;
	if (d->hier.version == 1)
		snprintf(how, sizeof(how), "`cgset -r memory.limit_in_bytes=2G %s`", d->dom.name);
	else if (strstr(base, ".slice") || strstr(base, ".service") || strstr(base, ".scope"))
		snprintf(how, sizeof(how), "`systemctl set-property %s MemoryMax=2G` for a unit's cgroup, or "
			 "`echo 2G > %s/memory.max`", base, d->dom.path);
	else
		snprintf(how, sizeof(how), "`echo 2G > %s/memory.max`", d->dom.path);
	snprintf(err, errlen, "domain '%s' has no memory limit below the machine's memory: set one (e.g. %s) or run "
		 "without --domain", d->dom.name, how);
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
			limit_hint(d, err, errlen);
			return -EINVAL;
		}
		d->total = limit;
	}
	return 0;
}

/*
 * Whole-host mode on cgroup v2 under systemd, started by a unit that delegates its cgroup (Delegate=yes, as usbd's
 * unit does): usbd's cgroups go in that subtree, which systemd leaves to usbd, instead of the root's, which is
 * systemd's. The controller moves into OWN/usbd-control (cgroup v2 keeps processes out of a cgroup whose children
 * have controllers) and the memory controller is enabled for OWN's children. The whole host is the domain, so the
 * balloon is charged to it wherever it lies. 1: parent set; 0: not so started; -errno (err set).
 */
static int delegated_parent(struct domain *d, struct cgroup *parent, char *err, size_t errlen)
{
	struct cgroup control;
	char own[PATH_MAX] = "", name[PATH_MAX + sizeof(USBD_CONTROL_CGROUP) + 1];
	int r;

	if (!d->host || (r = sdunit_self_delegated(&d->hier, own, sizeof(own))) == 0)
		return 0;
	if (r > 0 && (r = cg_resolve(&d->hier, own, parent)) == 0) {
		r = cg_create_child(parent, USBD_CONTROL_CGROUP, &control);
		snprintf(name, sizeof(name), "%s/%s", own, USBD_CONTROL_CGROUP);
		if (r == -EEXIST) /* left by an earlier start of the unit: systemd removes it when the unit stops */
			r = cg_resolve(&d->hier, name, &control);
	}
	if (r == 0 && (r = cg_move_pid(&control, 0)) == 0)
		r = cg_write_file(parent, "cgroup.subtree_control", "+memory");
	if (r < 0) {
		snprintf(err, errlen, "cannot set up usbd's cgroups in its unit's delegated cgroup '%s': %s", own,
			 strerror(-r));
		return r;
	}
	log_info("usbd's cgroups are in its unit's delegated cgroup '%s'", own);
	return 1;
}

int domain_create_worker_cgroup(struct domain *d, char *err, size_t errlen)
{
	struct cgroup parent = d->dom;
	pid_t pid;
	int r = delegated_parent(d, &parent, err, errlen);

	if (r < 0)
		return r;
	r = cg_create_child(&parent, USBD_WORKER_CGROUP, &d->worker);
	if (r == -EEXIST) {
		/* A leftover from a crashed usbd is reused; one with processes belongs to a running usbd. */
		char name[PATH_MAX + sizeof(USBD_WORKER_CGROUP) + 1];
		snprintf(name, sizeof(name), "%s%s%s", parent.name, *parent.name ? "/" : "", USBD_WORKER_CGROUP);
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
