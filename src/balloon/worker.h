/*
 * worker: the balloon worker process (holds the grabbed memory, oom_score_adj 1000) and the controller's
 * handle on it. The controller never holds balloon memory itself.
 */
#ifndef USBD_BALLOON_WORKER_H
#define USBD_BALLOON_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "balloon/proto.h"
#include "sys/cgroup.h"

/*
 * The worker's tenant: what uses the grabbed chunks (the spot store, src/spot). Without one, chunks are
 * simply held. The tenant runs inside the worker process, single-threaded, from the worker's epoll loop.
 */
struct worker_tenant {
	void *ctx;
	/* An epoll fd of the tenant's own (its sockets); the worker polls it and calls run() when readable. */
	int (*epoll_fd)(void *ctx);
	/* Handles ready events without blocking (epoll_wait with timeout 0 on its own fd), plus timers. */
	void (*run)(void *ctx);
	/* A new chunk of `size` bytes at `base` (populated, zeroed, 2 MiB aligned) is the tenant's to use. */
	void (*chunk_added)(void *ctx, void *base, size_t size);
	/* Picks up to n chunks to give back (emptiest/coldest first); the tenant forgets them and stores their
	 * bases in out. Returns how many. Must cost O(n), not O(keys). */
	size_t (*chunks_take)(void *ctx, size_t n, void **out);
	/* Fills the store_* and clients fields of a stats message. */
	void (*stats)(void *ctx, uint64_t *used, uint64_t *keys, uint64_t *evictions, uint64_t *losses,
		      uint64_t *clients);
	void (*destroy)(void *ctx);
};

enum balloon_mode { BALLOON_PINNED = 0, BALLOON_RECLAIMABLE };

struct worker_config {
	struct cgroup cg;             /* cgroup the worker runs in (a child of the domain); cg.hier NULL: the
	                               * worker stays in the controller's cgroup (tests without root) */
	enum balloon_mode mode;       /* pinned: mlock'ed chunks */
	int oom_score_adj;            /* 1000 normally; lower when deflate_on_oom=false pins the balloon */
	/* Creates the tenant inside the child after fork (may be NULL: no tenant). */
	struct worker_tenant *(*tenant_new)(const void *arg);
	const void *tenant_arg;
};

/* The controller's handle. */
struct worker_handle {
	pid_t pid;
	int fd;                       /* SOCK_SEQPACKET, non-blocking, close-on-exec */
	int pidfd;                    /* readable when the worker exits */
	uint64_t next_seq;
};

/* Forks the worker: the child joins cfg->cg, sets its oom_score_adj, drops every capability but CAP_IPC_LOCK,
 * closes inherited fds except its end of the socketpair, and sends WMSG_HELLO when ready. Returns 0 or -errno. */
int worker_start(const struct worker_config *cfg, struct worker_handle *w);
/* Sends a request (WMSG_GROW, WMSG_SHRINK with bytes; WMSG_STATS_REQ with 0). Returns the seq or -errno:
 * -EINVAL for another type or a grow that is not a multiple of 2 MiB, -EAGAIN when the socket is full. */
int64_t worker_request(struct worker_handle *w, uint16_t type, uint64_t bytes);
/* Receives one message if any: 0, -EAGAIN when none, -ECONNRESET when the worker is gone, -EPROTO for a
 * malformed datagram (dropped). */
int worker_receive(struct worker_handle *w, struct wmsg *out);
/* Reaps the worker if it exited: 1 and *status set when it did (then w->pid is -1 and worker_stop only
 * closes the fds), 0 when still running, -ECHILD when already reaped. */
int worker_reap(struct worker_handle *w, int *status);
/* Asks the worker to free everything and exit; SIGKILLs it after timeout_ms. Closes fds. */
void worker_stop(struct worker_handle *w, unsigned timeout_ms);

/* The child's main loop (exposed for tests that run a worker in-process): creates the tenant, sends
 * WMSG_HELLO, serves requests until EOF on fd or SIGTERM, then releases everything. Does not close fd.
 * Returns the exit status: 0 after EOF or SIGTERM, 1 on a failure (logged). */
int worker_main(int fd, const struct worker_config *cfg);

#endif
