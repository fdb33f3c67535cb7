/* procfs: reading /proc files through one redirectable root, into stack buffers (no allocation). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys/procfs.h"

static char proc_root[PATH_MAX] = "/proc";

void procfs_set_root(const char *root)
{
	snprintf(proc_root, sizeof(proc_root), "%s", root && *root ? root : "/proc");
}

const char *procfs_root(void)
{
	return proc_root;
}

ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd, err = 0;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return err ? err : (ssize_t)got;
}

/* Reads a file whole; -EFBIG when it fills the buffer, since a cut-off last line would parse wrong. */
static int read_whole(const char *path, char *buf, size_t len)
{
	ssize_t n = read_small_file(path, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n >= len - 1 ? -EFBIG : 0;
}

static int read_proc(const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", proc_root, rel) >= sizeof(path))
		return -ENAMETOOLONG;
	return read_whole(path, buf, len);
}

int meminfo_read(struct meminfo *out)
{
	char buf[8192];
	int err = read_proc("meminfo", buf, sizeof(buf));

	return err ? err : meminfo_parse(buf, out);
}

int vmstat_read(struct vmstat *out)
{
	char buf[16384];
	int err = read_proc("vmstat", buf, sizeof(buf));

	return err ? err : vmstat_parse(buf, out);
}

int pid_status_read(pid_t pid, struct pid_status *out)
{
	char buf[8192], rel[32];
	int err;

	if (pid > 0)
		snprintf(rel, sizeof(rel), "%d/status", (int)pid);
	else
		snprintf(rel, sizeof(rel), "self/status");
	err = read_proc(rel, buf, sizeof(buf));
	return err ? err : pid_status_parse(buf, out);
}

int psi_read(const char *path, struct psi *out)
{
	char buf[512];
	int err = path && *path ? read_whole(path, buf, sizeof(buf)) : read_proc("pressure/memory", buf, sizeof(buf));

	return err ? err : psi_parse(buf, out);
}
