/*
 * state: what the registry changed on the system, kept in a file next to the apps socket (SOCK.state) for as long
 * as it stays changed, so that the next start undoes what a killed usbd could not.
 * Format (text, one record a line, at most STATE_MAX_APPS app and STATE_MAX_SWAPS swap lines):
 *   usbd-registry-state 1
 *   registered NAME       the cgroup apps are moved into (APP/usbd-registered)
 *   swap OLD NAME         a cgroup kept out of swap, and its setting before (digits or "max")
 *   app PID NAME          a registered app, and the cgroup it came from ("" for the hierarchy root)
 * Written whole, before what it records is changed: a temporary file opened with O_NOFOLLOW, then rename, in the
 * socket's directory, which listen_unix() checked belongs to root and is writable by nobody else. Not fsync'd: it
 * must outlive usbd, not the machine, whose cgroups die with it (and /run, its default home, is a tmpfs).
 * Return contract: 0 / -errno.
 */
#ifndef USBD_APPS_STATE_H
#define USBD_APPS_STATE_H

#include <stddef.h>

#include "apps/app.h"
#include "apps/scheme.h"

#define STATE_MAX_APPS 4096
#define STATE_MAX_SWAPS 4096

/* SOCK_PATH.state. */
int state_path(const char *sock_path, char *out, size_t len);
/* Records s (when applied) and the registered apps among apps; -EINVAL for a name holding a newline. */
int state_write(const char *path, const struct scheme *s, const struct app *apps);
/* 0 also when there is none. */
int state_remove(const char *path);
/*
 * Undoes what the state at path records, then removes it: every process still in the registered cgroup goes back to
 * the cgroup it came from (the registered cgroup's parent when unrecorded or gone), the registered cgroup is
 * removed, each swap setting is restored. 0 when there is no state. A malformed state changes nothing, is removed
 * and is -EINVAL. Logs what it does.
 */
int state_repair(const struct cg_hier *hier, const char *path);

#endif
