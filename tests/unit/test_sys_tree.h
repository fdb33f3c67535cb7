/* test_sys_tree: temporary directory trees that stand in for a cgroup hierarchy in the sys unit tests. */
#ifndef USBD_TEST_SYS_TREE_H
#define USBD_TEST_SYS_TREE_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh temporary directory into dir[PATH_MAX]; returns 0 or -1. */
static inline int tree_make(char *dir)
{
	snprintf(dir, PATH_MAX, "/tmp/usbd-test-sys-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static inline int tree_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static inline void tree_remove(const char *dir)
{
	nftw(dir, tree_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes exactly `len` bytes to dir/rel (created or truncated); returns 0 or -1. */
static inline int tree_put_bytes(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX * 2];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	return close(fd) || n != (ssize_t)len ? -1 : 0;
}

static inline int tree_put(const char *dir, const char *rel, const char *text)
{
	return tree_put_bytes(dir, rel, text, strlen(text));
}

static inline int tree_mkdir(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return mkdir(path, 0755);
}

/* Reads dir/rel into buf (NUL-terminated); returns the byte count or -1. */
static inline ssize_t tree_get(const char *dir, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX * 2];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Copies the fixture $USBD_FIXTURES/<fixture> to dir/rel; returns 0 or -1. */
static inline int tree_put_fixture(const char *dir, const char *rel, const char *fixture)
{
	char path[PATH_MAX * 2], buf[16384];
	const char *fx = getenv("USBD_FIXTURES");
	ssize_t n;
	int fd;

	if (!fx)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", fx, fixture);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n < 0 || n == (ssize_t)sizeof(buf) ? -1 : tree_put_bytes(dir, rel, buf, (size_t)n);
}

/* Counts this process's open fds, to show that error paths close what they opened. */
static inline int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* True when fd is an eventfd. */
static inline int is_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

#endif
