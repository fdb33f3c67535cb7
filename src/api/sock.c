#include "api/sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

static int make_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int rc = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (!mkdir(dir, 0755)) {
			/* mkdir honours the umask; the directory must be traversable by a permitted non-root peer. */
			if (chmod(dir, 0755))
				rc = -errno;
		} else if (errno != EEXIST) {
			rc = -errno;
		}
	}
	free(dir);
	return rc;
}

/* Returns 0 when nothing answers on path (a stale file may remain), -EADDRINUSE when a server does, or -errno. */
static int probe(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc = 0;

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

/* Makes room for a new socket at addr's path: refuses a live server or a file that is not a socket. */
static int clear_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int rc;

	if (lstat(addr->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	rc = probe(addr);
	if (rc)
		return rc;
	log_info("api: removing stale socket %s", addr->sun_path);
	if (unlink(addr->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

static int bind_private(int fd, const struct sockaddr_un *addr)
{
	mode_t old = umask(077);
	int rc = bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) ? -errno : 0;

	umask(old);
	return rc;
}

int sock_listen(const char *path, uid_t uid, bool has_gid, gid_t gid, int backlog, struct stat *id)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	rc = make_parent(path);
	if (!rc)
		rc = clear_path(&addr);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bind_private(fd, &addr);
	if (rc) {
		close(fd);
		return rc;
	}
	if (chown(path, uid, has_gid ? gid : (gid_t)-1) || chmod(path, has_gid ? 0660 : 0600) ||
	    listen(fd, backlog) || stat(path, id)) {
		rc = -errno;
		unlink(path);
		close(fd);
		return rc;
	}
	return fd;
}

void sock_remove(const char *path, const struct stat *id)
{
	struct stat st;

	if (lstat(path, &st) || st.st_dev != id->st_dev || st.st_ino != id->st_ino)
		return;
	if (unlink(path))
		log_warn("api: cannot remove %s: %s", path, strerror(errno));
}

int sock_peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	*uid = cred.uid;
	return 0;
}
