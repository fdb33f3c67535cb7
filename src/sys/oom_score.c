/* oom_score: the oom_score_adj writer (see oom_score.h). */
#include "sys/oom_score.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "sys/procfs.h"

int oom_score_set(pid_t pid, int value)
{
	char path[PATH_MAX], val[16];
	int fd, n, err = 0;

	if (value < OOM_SCORE_ADJ_MIN || value > OOM_SCORE_ADJ_MAX)
		return -EINVAL;
	if (pid)
		snprintf(path, sizeof(path), "%s/%d/oom_score_adj", procfs_root(), (int)pid);
	else
		snprintf(path, sizeof(path), "%s/self/oom_score_adj", procfs_root());
	n = snprintf(val, sizeof(val), "%d", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write: the kernel takes the whole number or refuses it. */
	errno = 0;
	if (write(fd, val, (size_t)n) != n)
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}
