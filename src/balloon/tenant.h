/* tenant: the interface between the worker and what uses its chunks, and the balloon's modes (pinned, reclaimable).
 * Shared by the chunk pool and the worker, so that neither includes the other's header. */
#ifndef USBD_BALLOON_TENANT_H
#define USBD_BALLOON_TENANT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A tenant's figures, as the worker reports them to the controller (WMSG_STATS) and the metrics show them. The
 * counters count since the worker started (a restarted worker starts from 0, which Prometheus reads as a reset).
 * The totals are one of these; each user of the spot store (default and tenants) also gets one, in a
 * tenant_user_stats.
 */
struct tenant_stats {
	uint64_t used;          /* gauge: bytes of item slots in use (keys and values) */
	uint64_t keys;          /* gauge: live keys */
	uint64_t clients;       /* gauge: connected clients */
	uint64_t commands;      /* commands received, refused ones included */
	uint64_t hits, misses;  /* keys found / not found by read commands (Redis's keyspace_hits and _misses) */
	uint64_t evictions;     /* keys evicted to make room */
	uint64_t lost_keys;     /* keys lost because the balloon took their chunk back (or, reclaimable, the kernel) */
	uint64_t lost_bytes;    /* the bytes of those keys' slots */
};

/* One spot user's figures (the spot store's "default" user, then its tenants): at most TENANT_USERS_MAX. */
#define TENANT_NAME_MAX 64u     /* bytes of a name, its NUL included (= SPOT_NAME_MAX) */
#define TENANT_USERS_MAX 17u    /* the default user and up to 16 tenants (1 + WMSG_USERS_MAX) */
struct tenant_user_stats {
	char name[TENANT_NAME_MAX]; /* ends with a NUL, not empty */
	uint64_t quota;             /* bytes; 0: none */
	uint64_t refused;           /* writes refused by the quota */
	struct tenant_stats s;      /* the user's own store and connections */
};

/*
 * The worker's tenant: what uses the grabbed chunks (the spot store, src/spot). Without one, chunks are
 * simply held. The tenant runs inside the worker process, single-threaded, from the worker's epoll loop.
 */
struct wmsg_user_op;

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
	/* Fills in its figures (the spot part of a stats message). */
	void (*stats)(void *ctx, struct tenant_stats *out);
	/* Fills in up to max users' figures (default first); returns how many. NULL: none. */
	size_t (*user_stats)(void *ctx, struct tenant_user_stats *out, size_t max);
	/* A WMSG_USER from the controller (NULL: ignored): a tenant user to add, change or remove. */
	void (*user_op)(void *ctx, const struct wmsg_user_op *op);
	void (*destroy)(void *ctx);
};

enum balloon_mode { BALLOON_PINNED = 0, BALLOON_RECLAIMABLE };

#endif
