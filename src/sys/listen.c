/* listen: usbd's Unix listening sockets (see listen.h). */
#include "sys/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "common/log.h"

/* The directory holding path ("." or "/" when it has no other), and its last component (pointing into path). */
static int split(const char *path, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);

	*base = slash ? slash + 1 : path;
	if (!**base)
		return -EINVAL;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dir, slash ? path : ".", n);
	dir[n] = '\0';
	return 0;
}

static bool trusted_uid(uid_t uid) { return uid == 0 || uid == geteuid(); }

/* Opens the socket's directory, making it 0755 when missing; refuses one that others could write to. */
static int open_dir(const char *dir)
{
	struct stat st;
	bool made = mkdir(dir, 0755) == 0;
	int fd;

	if (!made && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* mkdir honours the umask; the directory must be traversable by a permitted non-root peer. */
	if ((made && fchmod(fd, 0755)) || fstat(fd, &st)) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (!trusted_uid(st.st_uid) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_err("refusing to make a socket in %s: owned by uid %u, mode %04o; it must belong to root and be "
			"writable by nobody else", dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Returns 0 when nothing answers on addr (a stale file may remain), -EADDRINUSE when a server does, or -errno. */
static int probe(const struct sockaddr_un *addr, int type)
{
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	/* EAGAIN: a live server whose backlog is full. */
	if (!connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) || errno == EAGAIN)
		rc = -EADDRINUSE;
	else if (errno != ECONNREFUSED && errno != ENOENT)
		rc = -errno;
	close(fd);
	return rc;
}

/* Makes room for the new socket: removes a stale socket of ours, refuses anything else. */
static int clear_path(int dirfd, const char *base, const struct sockaddr_un *addr, const struct listen_opts *o)
{
	struct stat st;
	int rc;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || !(trusted_uid(st.st_uid) || st.st_uid == o->uid))
		return -EEXIST;
	rc = probe(addr, o->type);
	if (rc)
		return rc;
	log_info("removing stale socket %s", addr->sun_path);
	if (unlinkat(dirfd, base, 0) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Binds with the umask that gives the socket file exactly o->mode as it appears. */
static int bind_with_mode(int fd, const struct sockaddr_un *addr, mode_t mode)
{
	mode_t old = umask(~mode & 0777);
	int rc = bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) ? -errno : 0;

	umask(old);
	return rc;
}

/* Sets the owner without following a symlink, and records the socket file's identity. */
static int own(int dirfd, const char *base, const struct listen_opts *o, struct stat *id)
{
	if (fchownat(dirfd, base, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) ||
	    fstatat(dirfd, base, id, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return S_ISSOCK(id->st_mode) ? 0 : -EEXIST;
}

static int create(int dirfd, const char *base, const struct sockaddr_un *addr, const struct listen_opts *o,
		  struct stat *id)
{
	int fd, rc = clear_path(dirfd, base, addr, o);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, o->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bind_with_mode(fd, addr, o->mode);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = own(dirfd, base, o, id);
	if (!rc && listen(fd, o->backlog))
		rc = -errno;
	if (rc) {
		unlinkat(dirfd, base, 0);
		close(fd);
		return rc;
	}
	return fd;
}

int listen_unix(const char *path, const struct listen_opts *o, struct stat *id)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[sizeof(addr.sun_path)];
	const char *base;
	int dirfd, rc;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	rc = split(path, dir, sizeof(dir), &base);
	if (rc)
		return rc;
	dirfd = open_dir(dir);
	if (dirfd < 0)
		return dirfd;
	rc = create(dirfd, base, &addr, o, id);
	close(dirfd);
	return rc;
}

int listen_owned(const char *path, uid_t uid, bool has_gid, gid_t gid, int backlog, struct stat *id)
{
	struct listen_opts o = {
		.type = SOCK_STREAM, .mode = has_gid ? 0660 : 0600, .uid = uid, .gid = has_gid ? gid : (gid_t)-1,
		.backlog = backlog,
	};

	return listen_unix(path, &o, id);
}

void listen_remove(const char *path, const struct stat *id)
{
	struct stat st;

	/* A file put in its place may have got the same inode number: only a socket can be the one made here. */
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_dev != id->st_dev || st.st_ino != id->st_ino)
		return;
	if (unlink(path))
		log_warn("cannot remove %s: %s", path, strerror(errno));
}

int listen_peer_cred(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) ? -errno : 0;
}

int listen_peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	int rc = listen_peer_cred(fd, &cred);

	if (!rc)
		*uid = cred.uid;
	return rc;
}

int listen_vsock(unsigned int port, int backlog)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) || listen(fd, backlog)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int listen_peer_cid(int fd, unsigned int *cid)
{
	struct sockaddr_vm addr;
	socklen_t len = sizeof(addr);

	if (getpeername(fd, (struct sockaddr *)&addr, &len))
		return -errno;
	if (addr.svm_family != AF_VSOCK)
		return -EAFNOSUPPORT;
	*cid = addr.svm_cid;
	return 0;
}
