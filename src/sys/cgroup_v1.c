/* cgroup_v1: the memory controller of cgroup v1 (memory.*_in_bytes, cgroup.event_control eventfds). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sys/cgroup_internal.h"
#include "sys/kv.h"

/* The hierarchical total_* fields: a domain's usage includes its descendants'. */
static const struct kv_field v1_stat_fields[] = {
	KV_FIELD(struct cg_stat, "total_rss", anon),
	KV_FIELD(struct cg_stat, "total_cache", file),
	KV_FIELD(struct cg_stat, "total_active_anon", active_anon),
	KV_FIELD(struct cg_stat, "total_inactive_anon", inactive_anon),
	KV_FIELD(struct cg_stat, "total_active_file", active_file),
	KV_FIELD(struct cg_stat, "total_inactive_file", inactive_file),
	KV_FIELD(struct cg_stat, "total_unevictable", unevictable),
	KV_FIELD(struct cg_stat, "total_shmem", shmem),
	KV_FIELD(struct cg_stat, "total_swapcached", swapcached),
	KV_FIELD(struct cg_stat, "total_swap", swap),
	KV_FIELD(struct cg_stat, "total_pgfault", pgfault),
	KV_FIELD(struct cg_stat, "total_pgmajfault", pgmajfault),
	KV_FIELD(struct cg_stat, "total_rss_huge", anon_thp),
	/* Kernels before 5.9 have one refault counter, later ones split it by LRU type: they sum. */
	KV_FIELD(struct cg_stat, "total_workingset_refault", workingset_refault),
	KV_FIELD(struct cg_stat, "total_workingset_refault_anon", workingset_refault),
	KV_FIELD(struct cg_stat, "total_workingset_refault_file", workingset_refault),
};

int cg_stat_parse_v1(const char *buf, struct cg_stat *out)
{
	struct cg_stat st = { 0 };
	uint64_t seen;

	if (kv_parse(buf, v1_stat_fields, KV_COUNT(v1_stat_fields), &st, &seen))
		return -EINVAL;
	if ((seen & 3) != 3)
		return -EINVAL;
	*out = st;
	return 0;
}

static int v1_usage(const struct cgroup *cg, uint64_t *bytes)
{
	return cg_read_u64(cg, "memory.usage_in_bytes", bytes);
}

static int v1_limit(const struct cgroup *cg, uint64_t *bytes)
{
	return cg_read_u64(cg, "memory.limit_in_bytes", bytes);
}

static int v1_set_limit(const struct cgroup *cg, uint64_t bytes)
{
	char v[24];

	if (bytes == CG_UNLIMITED)
		snprintf(v, sizeof(v), "-1");
	else
		snprintf(v, sizeof(v), "%" PRIu64, bytes);
	return cg_write_file(cg, "memory.limit_in_bytes", v);
}

static int v1_stat(const struct cgroup *cg, struct cg_stat *out)
{
	char buf[8192];
	int err = cg_read_whole(cg, "memory.stat", buf, sizeof(buf));

	return err ? err : cg_stat_parse_v1(buf, out);
}

static int v1_swap(const struct cgroup *cg, uint64_t *bytes)
{
	struct cg_stat st;
	int err = v1_stat(cg, &st);

	if (!err)
		*bytes = st.swap;
	return err;
}

/* Registers a new eventfd for `file` with cgroup.event_control ("<efd> <fd>[ <args>]") and returns it.
 * The file's fd is needed only while registering; closing the eventfd unregisters. */
static int v1_event_open(const struct cgroup *cg, const char *file, const char *args)
{
	char line[64];
	int efd, fd, err;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	fd = cg_open_file(cg, file, O_RDONLY);
	if (fd < 0) {
		close(efd);
		return fd;
	}
	snprintf(line, sizeof(line), "%d %d%s%s", efd, fd, args ? " " : "", args ? args : "");
	err = cg_write_file(cg, "cgroup.event_control", line);
	close(fd);
	if (err) {
		close(efd);
		return err;
	}
	return efd;
}

static int v1_pressure_open(const struct cgroup *cg, enum cg_pressure level)
{
	static const char *const names[] = {
		[CG_PRESSURE_LOW] = "low",
		[CG_PRESSURE_MEDIUM] = "medium",
		[CG_PRESSURE_CRITICAL] = "critical",
	};

	if (level <= CG_PRESSURE_NONE || level > CG_PRESSURE_CRITICAL)
		return -EINVAL;
	return v1_event_open(cg, "memory.pressure_level", names[level]);
}

static int v1_usage_threshold_open(const struct cgroup *cg, uint64_t bytes)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRIu64, bytes);
	return v1_event_open(cg, "memory.usage_in_bytes", v);
}

static int v1_oom_open(const struct cgroup *cg)
{
	return v1_event_open(cg, "memory.oom_control", NULL);
}

static int v1_set_swap_allowed(const struct cgroup *cg, bool allowed)
{
	return cg_write_file(cg, "memory.swappiness", allowed ? "60" : "0");
}

static int v1_reclaim(const struct cgroup *cg, uint64_t bytes)
{
	return -ENOTSUP;
}

const struct cg_ops cg_v1_ops = {
	.usage = v1_usage,
	.limit = v1_limit,
	.set_limit = v1_set_limit,
	.swap = v1_swap,
	.stat = v1_stat,
	.pressure_open = v1_pressure_open,
	.usage_threshold_open = v1_usage_threshold_open,
	.oom_open = v1_oom_open,
	.set_swap_allowed = v1_set_swap_allowed,
	.reclaim = v1_reclaim,
};
