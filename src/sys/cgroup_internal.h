/* cgroup_internal: what cgroup.c, cgroup_file.c and the two backends share. Not for other parts. */
#ifndef USBD_SYS_CGROUP_INTERNAL_H
#define USBD_SYS_CGROUP_INTERNAL_H

#include <stddef.h>

#include "sys/cgroup.h"

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;

/* Builds <cg->path>/<file> into path[PATH_MAX]. -EINVAL if `file` is not one plain name, -ENAMETOOLONG. */
int cg_file_path(const struct cgroup *cg, const char *file, char *path);
/* Opens one file of the cgroup (O_CLOEXEC added). Returns the fd or -errno. */
int cg_open_file(const struct cgroup *cg, const char *file, int flags);
/* Writes all of buf with one write(2): 0, -errno, or -EIO when the kernel took only part of it. */
int cg_fd_write(int fd, const void *buf, size_t len);
/* Reads a file whole: 0, -errno, or -EFBIG when it fills buf (a cut-off last line would parse wrong). */
int cg_read_whole(const struct cgroup *cg, const char *file, char *buf, size_t len);

#endif
