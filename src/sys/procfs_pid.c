/* procfs_pid: per-process /proc readers that the apps registry needs (see procfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"
#include "sys/procfs.h"

#define CGROUP_FILE_MAX 8192

/* Whether the comma-separated controller list [list, end) names "memory". */
static bool lists_memory(const char *list, const char *end)
{
	while (list < end) {
		const char *comma = memchr(list, ',', (size_t)(end - list));
		const char *stop = comma ? comma : end;

		if (stop - list == 6 && !memcmp(list, "memory", 6))
			return true;
		list = stop + 1;
	}
	return false;
}

/* Checks one "ID:CONTROLLERS:PATH" line [line, eol); returns its path or NULL when it is not the memory cgroup's. */
static const char *memcg_path(const char *line, const char *eol, int version)
{
	const char *c1 = memchr(line, ':', (size_t)(eol - line)), *c2;

	if (!c1)
		return NULL;
	c2 = memchr(c1 + 1, ':', (size_t)(eol - c1 - 1));
	if (!c2)
		return NULL;
	if (version == 2 ? !(c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) : !lists_memory(c1 + 1, c2))
		return NULL;
	return c2 + 1;
}

int pid_memcg_parse(const char *buf, int version, char *name, size_t len)
{
	const char *line = buf;

	while (*line) {
		const char *eol = strchr(line, '\n'), *p;

		if (!eol)
			eol = line + strlen(line);
		p = memcg_path(line, eol, version);
		if (p) {
			while (p < eol && *p == '/')
				p++;
			if ((size_t)(eol - p) >= len)
				return -ENAMETOOLONG;
			memcpy(name, p, (size_t)(eol - p));
			name[eol - p] = '\0';
			return 0;
		}
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int pid_memcg_read(pid_t pid, int version, char *name, size_t len)
{
	char path[PATH_MAX], buf[CGROUP_FILE_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/cgroup", procfs_root(), (int)pid);
	n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if ((size_t)n == sizeof(buf) - 1)
		return -EFBIG;
	return pid_memcg_parse(buf, version, name, len);
}

/* Grows *buf (capacity *cap) so that it has room past len, within max bytes. */
static int grow(char **buf, size_t *cap, size_t len, size_t max)
{
	size_t want = *buf ? *cap * 2 : 64 * KIB;
	char *nb;

	if (*buf && len + 1 < *cap)
		return 0;
	if (want > max + 1)
		want = max + 1;
	if (want <= *cap)
		return -E2BIG;
	nb = realloc(*buf, want);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = want;
	return 0;
}

int pid_maps_read(pid_t pid, size_t max, char **out)
{
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0, len = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/%d/maps", procfs_root(), (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (!(err = grow(&buf, &cap, len, max))) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}
