/* cgroup_file: reading and writing the files of one cgroup, and draining notification fds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"
#include "sys/cgroup_internal.h"
#include "sys/kv.h"
#include "sys/procfs.h"

int cg_file_path(const struct cgroup *cg, const char *file, char *path)
{
	if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
		return -EINVAL;
	if ((size_t)snprintf(path, PATH_MAX, "%s/%s", cg->path, file) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int cg_open_file(const struct cgroup *cg, const char *file, int flags)
{
	char path[PATH_MAX];
	int fd, err = cg_file_path(cg, file, path);

	if (err)
		return err;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cg_fd_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int cg_read_file(const struct cgroup *cg, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err = cg_file_path(cg, file, path);

	return err ? err : (int)read_small_file(path, buf, len);
}

int cg_read_whole(const struct cgroup *cg, const char *file, char *buf, size_t len)
{
	int n = cg_read_file(cg, file, buf, len);

	if (n < 0)
		return n;
	return (size_t)n >= len - 1 ? -EFBIG : 0;
}

int cg_write_file(const struct cgroup *cg, const char *file, const char *value)
{
	/* O_TRUNC is what a shell's '>' does: harmless on cgroupfs, and exact content on fixture files. */
	int err, fd = cg_open_file(cg, file, O_WRONLY | O_TRUNC);

	if (fd < 0)
		return fd;
	err = cg_fd_write(fd, value, strlen(value));
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int cg_read_u64(const struct cgroup *cg, const char *file, uint64_t *out)
{
	/* v1 reports "no limit" as PAGE_COUNTER_MAX pages: LONG_MAX rounded down to the page size. */
	const uint64_t v1_unlimited = round_down(INT64_MAX, (uint64_t)sysconf(_SC_PAGESIZE));
	char buf[64];
	const char *p = buf;
	uint64_t v;
	size_t n;
	int err = cg_read_whole(cg, file, buf, sizeof(buf));

	if (err)
		return err;
	for (n = strlen(buf); n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'); n--)
		buf[n - 1] = '\0';
	if (!strcmp(buf, "max")) {
		*out = CG_UNLIMITED;
		return 0;
	}
	if (kv_u64(&p, &v) || *p)
		return -EINVAL;
	*out = v >= v1_unlimited ? CG_UNLIMITED : v;
	return 0;
}

struct oom_counts {
	uint64_t oom, oom_kill;
};

int cg_oom_count(const struct cgroup *cg, uint64_t *count)
{
	static const struct kv_field fields[] = {
		KV_FIELD(struct oom_counts, "oom", oom),
		KV_FIELD(struct oom_counts, "oom_kill", oom_kill),
	};
	struct oom_counts c = { 0 };
	uint64_t seen = 0;
	char buf[1024];
	int err = cg_read_whole(cg, cg->hier->version == 1 ? "memory.oom_control" : "memory.events", buf, sizeof(buf));

	if (!err)
		err = kv_parse(buf, fields, KV_COUNT(fields), &c, &seen);
	if (!err)
		*count = sat_add(c.oom, c.oom_kill);
	return err;
}

int cg_notify_ack(int fd)
{
	/* 4 KiB: an eventfd needs 8 bytes; memory.events and PSI files are read whole to re-arm them. */
	char buf[4096];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return 0;
}
