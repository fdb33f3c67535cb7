/* sock: the API's Unix listening socket — safe creation, removal, and the peer's credentials. */
#ifndef USBD_API_SOCK_H
#define USBD_API_SOCK_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Creates a non-blocking, close-on-exec Unix stream socket listening on path, owned by uid (and gid when has_gid),
 * mode 0660 with a gid, else 0600; never reachable by others in between (umask 077 around bind). Creates the
 * parent directory 0755 if it is missing and replaces a stale socket file. Sets *id to the socket file's identity
 * for sock_remove. Returns the fd, or -EADDRINUSE (a server answers on path), -EEXIST (path is not a socket),
 * -ENAMETOOLONG, or another -errno.
 */
int sock_listen(const char *path, uid_t uid, bool has_gid, gid_t gid, int backlog, struct stat *id);
/* Unlinks path if it is still the socket file sock_listen created (another server may have replaced it). */
void sock_remove(const char *path, const struct stat *id);
/* Returns 0 and sets *uid to the uid of the process at the other end of the connected socket fd, or -errno. */
int sock_peer_uid(int fd, uid_t *uid);

#endif
