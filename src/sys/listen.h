/*
 * listen: usbd's listening sockets — the Unix ones (the control API's, the libusbd apps socket): safe creation,
 * removal and the peer's credentials; and the control API's AF_VSOCK one, whose peer is known by its CID. One module, so that both sockets get the same guarantees:
 *   - the socket's directory belongs to root (or usbd's euid) and nobody else may write to it (a missing one is
 *     made 0755), so that once checked nobody can swap the path for a symlink or a file of theirs;
 *   - the socket file appears with its final mode (the umask is set around bind; nothing is chmod'ed by path
 *     afterwards) and is chowned without following a symlink;
 *   - only a stale socket (nobody answers on it) owned by root, usbd or the configured owner is replaced; a live
 *     server, or anything that is not a socket, is left alone and refused;
 *   - removal unlinks the path only while it is still the socket file created here.
 * The umask is process-wide: call these before starting threads that create files.
 * Return contract: an fd or 0 / -errno; a refused directory is logged here (the caller logs the rest).
 */
#ifndef USBD_SYS_LISTEN_H
#define USBD_SYS_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

struct listen_opts {
	int type;               /* SOCK_STREAM or SOCK_SEQPACKET */
	mode_t mode;            /* the socket file's permission bits, from the moment it exists */
	uid_t uid;              /* its owner */
	gid_t gid;              /* its group; (gid_t)-1 leaves usbd's */
	int backlog;
};

/*
 * Creates a non-blocking, close-on-exec Unix socket of o->type listening on path, as the contract above says, and
 * sets *id to the socket file's identity for listen_remove. Returns the fd, or -EADDRINUSE (a server answers on
 * path), -EEXIST (path is not a socket, or a socket of someone else), -EPERM (a directory others may write to, or
 * owned by another user), -ENAMETOOLONG, or another -errno.
 */
int listen_unix(const char *path, const struct listen_opts *o, struct stat *id);
/* The control API's socket: a stream socket owned by uid (and gid when has_gid), mode 0660 with a gid, else 0600. */
int listen_owned(const char *path, uid_t uid, bool has_gid, gid_t gid, int backlog, struct stat *id);
/* Unlinks path if it is still the socket file listen_unix created (another server may have replaced it). */
void listen_remove(const char *path, const struct stat *id);
/*
 * A non-blocking, close-on-exec AF_VSOCK stream socket listening on port for any local CID (VMADDR_CID_ANY).
 * There is no file and so nothing to remove: close the fd. Returns the fd, or -EAFNOSUPPORT (this kernel has no
 * vsock), -EADDRNOTAVAIL (no vsock transport, e.g. no vsock device), -EADDRINUSE (the port is taken), or another
 * -errno.
 */
int listen_vsock(unsigned int port, int backlog);
/* The CID of the peer of the connected vsock socket fd: 0 or -errno. */
int listen_peer_cid(int fd, unsigned int *cid);
/* The credentials (pid, uid, gid) of the process at the other end of the connected socket fd: 0 or -errno. */
int listen_peer_cred(int fd, struct ucred *cred);
/* Its uid alone. */
int listen_peer_uid(int fd, uid_t *uid);

#endif
