/*
 * private_dir: a directory only root (or usbd's euid) may change, and files replaced in it atomically. Shared by the
 * harvest journal and the targets' state file: whoever else may write in such a directory could plant symlinks or
 * files of their own where usbd writes as root. Every access after private_dir_open is relative to its descriptor,
 * so no path component is looked up again and no symlink is followed at the files in it.
 * Return contract: 0 or an fd / -errno; nothing here logs.
 */
#ifndef USBD_SYS_PRIVATE_DIR_H
#define USBD_SYS_PRIVATE_DIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Opens dir (created one level deep with mode mkmode if missing) and checks it: owned by root or this process's
 * euid, and neither its group nor others may write it. Returns the O_DIRECTORY descriptor; -EPERM when it fails the
 * check (nothing stays open; *st, when given, then holds its owner and mode for the message); or -errno.
 */
int private_dir_open(const char *dir, mode_t mkmode, struct stat *st);

/*
 * Replaces name in dirfd with buf: a new temporary file tmp beside it (a leftover one, or a link planted there, is
 * removed, never opened: O_CREAT | O_EXCL | O_NOFOLLOW), fsync, rename over name. The directory itself is not
 * synced: callers decide what a failed fsync(dirfd) means for them. On failure name is unchanged and no tmp is left.
 */
int private_dir_replace(int dirfd, const char *name, const char *tmp, const char *buf, size_t len);

/*
 * Reads name in dirfd whole into buf (at most cap - 1 bytes, NUL-terminated) without following a symlink (-ELOOP)
 * and without blocking on a FIFO. Returns the length, -ENOENT, -EFBIG when it holds cap - 1 bytes or more, -EINVAL
 * when it holds a NUL byte, or -errno.
 */
int private_dir_read(int dirfd, const char *name, char *buf, size_t cap);

#endif
