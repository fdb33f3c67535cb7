/* cgroup_v2: the memory controller of cgroup v2 (memory.current/max, PSI triggers, memory.reclaim). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "sys/cgroup_internal.h"
#include "sys/kv.h"

static const struct kv_field v2_stat_fields[] = {
	KV_FIELD(struct cg_stat, "anon", anon),
	KV_FIELD(struct cg_stat, "file", file),
	KV_FIELD(struct cg_stat, "active_anon", active_anon),
	KV_FIELD(struct cg_stat, "inactive_anon", inactive_anon),
	KV_FIELD(struct cg_stat, "active_file", active_file),
	KV_FIELD(struct cg_stat, "inactive_file", inactive_file),
	KV_FIELD(struct cg_stat, "unevictable", unevictable),
	KV_FIELD(struct cg_stat, "shmem", shmem),
	KV_FIELD(struct cg_stat, "swapcached", swapcached),
	KV_FIELD(struct cg_stat, "pgfault", pgfault),
	KV_FIELD(struct cg_stat, "pgmajfault", pgmajfault),
	KV_FIELD(struct cg_stat, "workingset_refault_anon", workingset_refault),
	KV_FIELD(struct cg_stat, "workingset_refault_file", workingset_refault),
	KV_FIELD(struct cg_stat, "anon_thp", anon_thp),
};

int cg_stat_parse_v2(const char *buf, struct cg_stat *out)
{
	struct cg_stat st = { 0 };
	uint64_t seen;

	if (kv_parse(buf, v2_stat_fields, KV_COUNT(v2_stat_fields), &st, &seen))
		return -EINVAL;
	if ((seen & 3) != 3)
		return -EINVAL;
	*out = st;
	return 0;
}

/*
 * PSI thresholds over a 1 s window (unprivileged users are held to multiples of 2 s; usbd runs as root and
 * wants to react fast). They mirror v1's levels:
 * - low: some task stalled on memory 5% of the time: reclaim has started to cost something;
 * - medium: some task stalled 10% of the time: the apps feel it, release part of the balloon;
 * - critical: all tasks stalled 10% of the time together: no progress, release everything.
 */
int cg_psi_trigger_format(enum cg_pressure level, char *buf, size_t len)
{
	static const char *const triggers[] = {
		[CG_PRESSURE_LOW] = "some 50000 1000000",
		[CG_PRESSURE_MEDIUM] = "some 100000 1000000",
		[CG_PRESSURE_CRITICAL] = "full 100000 1000000",
	};
	int n;

	if (level <= CG_PRESSURE_NONE || level > CG_PRESSURE_CRITICAL || !buf)
		return -EINVAL;
	n = snprintf(buf, len, "%s", triggers[level]);
	return n < 0 || (size_t)n >= len ? -EINVAL : n;
}

static int v2_usage(const struct cgroup *cg, uint64_t *bytes)
{
	return cg_read_u64(cg, "memory.current", bytes);
}

static int v2_limit(const struct cgroup *cg, uint64_t *bytes)
{
	return cg_read_u64(cg, "memory.max", bytes);
}

/* Writes a byte count, or "max" for CG_UNLIMITED. */
static int write_bytes(const struct cgroup *cg, const char *file, uint64_t bytes)
{
	char v[24];

	if (bytes == CG_UNLIMITED)
		snprintf(v, sizeof(v), "max");
	else
		snprintf(v, sizeof(v), "%" PRIu64, bytes);
	return cg_write_file(cg, file, v);
}

static int v2_set_limit(const struct cgroup *cg, uint64_t bytes)
{
	return write_bytes(cg, "memory.max", bytes);
}

static int v2_swap(const struct cgroup *cg, uint64_t *bytes)
{
	int err = cg_read_u64(cg, "memory.swap.current", bytes);

	/* Without swap accounting (swapaccount=0, or the root cgroup) the file is absent: nothing is known to
	 * be swapped. A vanished cgroup is still an error. */
	if (err == -ENOENT && !access(cg->path, F_OK)) {
		*bytes = 0;
		return 0;
	}
	return err;
}

static int v2_stat(const struct cgroup *cg, struct cg_stat *out)
{
	char buf[8192];
	struct cg_stat st;
	int err = cg_read_whole(cg, "memory.stat", buf, sizeof(buf));

	if (!err)
		err = cg_stat_parse_v2(buf, &st);
	if (!err)
		err = v2_swap(cg, &st.swap);
	if (!err)
		*out = st;
	return err;
}

static int v2_pressure_open(const struct cgroup *cg, enum cg_pressure level)
{
	char trigger[32];
	int fd, err, n = cg_psi_trigger_format(level, trigger, sizeof(trigger));

	if (n < 0)
		return n;
	fd = cg_open_file(cg, "memory.pressure", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return fd;
	/* The kernel replaces the last byte written with a NUL: send the terminating NUL as that byte. */
	err = cg_fd_write(fd, trigger, (size_t)n + 1);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int v2_usage_threshold_open(const struct cgroup *cg, uint64_t bytes)
{
	return -ENOTSUP;
}

static int v2_oom_open(const struct cgroup *cg)
{
	int err, fd = cg_open_file(cg, "memory.events", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return fd;
	/* A fresh kernfs fd polls as changed until it has been read once: read it so only real events wake. */
	err = cg_notify_ack(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int v2_set_swap_allowed(const struct cgroup *cg, bool allowed)
{
	return write_bytes(cg, "memory.swap.max", allowed ? CG_UNLIMITED : 0);
}

static int v2_reclaim(const struct cgroup *cg, uint64_t bytes)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRIu64, bytes);
	/* -EAGAIN: the kernel reclaimed less than asked; the caller decides whether that is enough. */
	return cg_write_file(cg, "memory.reclaim", v);
}

const struct cg_ops cg_v2_ops = {
	.usage = v2_usage,
	.limit = v2_limit,
	.set_limit = v2_set_limit,
	.swap = v2_swap,
	.stat = v2_stat,
	.pressure_open = v2_pressure_open,
	.usage_threshold_open = v2_usage_threshold_open,
	.oom_open = v2_oom_open,
	.set_swap_allowed = v2_set_swap_allowed,
	.reclaim = v2_reclaim,
};
