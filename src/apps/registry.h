/*
 * registry: the daemon's side of libusbd — apps that registered, their SIGBALLOONs and their page-outs.
 *
 * Apps connect to a SOCK_SEQPACKET Unix socket (mode 0666 from its creation, in a directory only root may write
 * to: sys/listen.h) and speak lib/proto.h. The peer's credentials decide which process registers (an app registers
 * itself only); the registry holds a pidfd for it, so a recycled pid is never signalled or advised.
 * A connection is refused at once unless its process is inside the domain; at most 4 connections of one uid, and
 * 16 in all, may wait unregistered, each for at most 5 s, so that nobody can hold the socket against the apps.
 *
 * Swap scheme (docs/LIBUSBD.md, scheme.h): at the first registration the registry creates APP/usbd-registered
 * (swappiness allowed) and keeps every other cgroup of the domain out of swap (v1 memory.swappiness 0, v2
 * memory.swap.max 0), remembering each old value; registry_close() restores them and removes the cgroup. A
 * registering process must already be inside the domain; it is moved into APP/usbd-registered and back where it
 * came from when it unregisters.
 * Every change is recorded first in SOCK.state (state.h); registry_open() undoes what a usbd killed before it
 * could clean up left there, once the socket is its own.
 *
 * Return contract: 0 / -errno; failures are logged here.
 */
#ifndef USBD_APPS_REGISTRY_H
#define USBD_APPS_REGISTRY_H

#include <stdint.h>

#include "apps/scheme.h"
#include "sys/cgroup.h"

struct registry;

struct registry_config {
	const char *sock_path;          /* NULL: USBD_APPS_SOCK_DEFAULT (its directory is created if missing) */
	const struct cgroup *domain;    /* swap is kept off in this subtree (the hierarchy root: host mode) */
	const struct cgroup *app;       /* REGISTRY_CGROUP is made inside it */
	uint64_t resignal_ms;           /* SIGBALLOON again while free stays below the threshold (0: 1000) */
	unsigned max_apps;              /* 0: 64 */
	/* Reads the domain's free memory (as registry_tick() takes it) when a page-out is judged; NULL uses the last
	 * registry_tick() value. */
	int (*read_free)(void *ctx, uint64_t *free_bytes);
	void *ctx;
};

/* Listens (replacing a stale socket of its own, -EADDRINUSE if a daemon answers on it, -EEXIST if something else is
 * at the path, -EPERM for a directory others may write to), then repairs from SOCK.state. Changes no cgroup
 * otherwise. */
int registry_open(struct registry **out, const struct registry_config *cfg);
/* One fd for the caller's epoll (EPOLLIN): an inner epoll set of the listener and the apps' connections. */
int registry_fd(const struct registry *r);
/* Serves whatever is ready: connections, registrations, page-outs, hang-ups. Never blocks. */
void registry_run(struct registry *r);
/*
 * Records the reading: the domain's free memory counting its idle swap cache (domain.h). What an app paged out is
 * charged until the next reclaim drops it without I/O; without counting it, an app that gave what it was asked
 * would be asked again every second, and would end up paging out all it has. For PAGEOUT_UNSEEN_MS after an
 * honoured page-out, free memory is at least what that page-out was judged with plus what it paged out
 * (pageout_free, policy/pageout.h): the counters behind the reading can lag a page-out by 2 s.
 * While free < threshold sends SIGBALLOON to every registered app when it first falls below, then again every
 * resignal_ms; an app honoured a page-out less than 250 ms ago is left out of that round. now_ms is clock_ms().
 * The signal's value is the app's part of the deficit in MiB (pageout_share: in proportion to the apps' resident
 * memory), so that the apps between them page out the deficit once. Also closes the connections of processes
 * that exited and those that did not register within 5 s.
 */
void registry_tick(struct registry *r, uint64_t now_ms, uint64_t domain_free_bytes, uint64_t threshold_bytes);
unsigned registry_count(const struct registry *r);
/* SIGBALLOONs sent so far (status, metrics). */
uint64_t registry_signals_sent(const struct registry *r);
/* Drops every app (moving it back), restores the domain's swap settings, removes the cgroup, SOCK.state and the
 * socket (if it is still the one it made). */
void registry_close(struct registry *r);

#endif
