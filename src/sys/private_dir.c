#include "sys/private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int private_dir_open(const char *dir, mode_t mkmode, struct stat *out)
{
	struct stat st;
	int fd;

	if (mkdir(dir, mkmode) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (out)
		*out = st;
	if ((st.st_uid && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates tmp holding buf, durably. O_EXCL | O_NOFOLLOW: only a new file of ours is ever written. */
static int write_tmp(int dirfd, const char *tmp, const char *buf, size_t len)
{
	int fd, err;

	if (unlinkat(dirfd, tmp, 0) && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int private_dir_replace(int dirfd, const char *name, const char *tmp, const char *buf, size_t len)
{
	int err = write_tmp(dirfd, tmp, buf, len);

	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

int private_dir_read(int dirfd, const char *name, char *buf, size_t cap)
{
	ssize_t n;
	int fd, err;

	/* O_NONBLOCK: a FIFO planted there reads as empty instead of hanging the start. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	/* One read: the files are written whole by rename; a longer one is not ours. */
	if ((size_t)n >= cap)
		return -EFBIG;
	if (memchr(buf, '\0', (size_t)n))
		return -EINVAL;
	buf[n] = '\0';
	return (int)n;
}
