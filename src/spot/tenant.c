#include "spot/spot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "balloon/proto.h"
#include "balloon/worker.h"
#include "common/clock.h"
#include "common/log.h"
#include "spot/server.h"
#include "spot/store.h"
#include "spot/users.h"

struct spot {
	struct worker_tenant t;
	struct spot_users users;
	struct server *srv;
	uint64_t refree_at_ms;
	bool refree_warned;
};

/*
 * Written chunks go back to the kernel at most this often. A lazy free costs tens of microseconds per call (measured
 * 40-120 us here, whatever the length: the TLB flush dominates), too much once per round of requests; until then
 * what was written stays resident, so a burst finds at most what one interval wrote unreclaimable. The server's
 * own 100 ms sweep timer makes sure a round comes.
 */
#define REFREE_INTERVAL_MS 100

static int t_epoll_fd(void *ctx) { return server_epoll_fd(((struct spot *)ctx)->srv); }

static int lazy_free(void *base, size_t len, void *arg)
{
	struct spot *sp = arg;
	int err;

	if (madvise(base, len, MADV_FREE) == 0)
		return 0;
	err = -errno;
	/* The pages stay in memory until the chunk is taken back: correct, only not reclaimable. Said once. */
	if (!sp->refree_warned)
		log_warn("spot: madvise(MADV_FREE) of %zu bytes: %s; written pages stay resident", len, strerror(-err));
	sp->refree_warned = true;
	return err;
}

/* Serves the clients, then hands what they wrote back to the kernel: per interval, not per write. */
static void t_run(void *ctx)
{
	struct spot *sp = ctx;
	uint64_t now;

	server_run(sp->srv);
	now = clock_ms();
	if (now - sp->refree_at_ms < REFREE_INTERVAL_MS)
		return;
	sp->refree_at_ms = now;
	for (size_t i = 0; i < SPOT_MAX_USERS; i++)
		if (sp->users.u[i].live)
			store_refree(sp->users.u[i].store, lazy_free, sp);
}

/* The clients' memory budget is a share of the capacity: it follows every change. */
static void capacity_changed(struct spot *sp)
{
	struct store_stats st;

	users_totals(&sp->users, &st);
	server_set_capacity(sp->srv, st.capacity);
}

static void t_chunk_added(void *ctx, void *base, size_t size)
{
	struct spot *sp = ctx;
	int err = users_chunk_add(&sp->users, base, size);

	capacity_changed(sp);
	if (err == -EINVAL)
		log_warn("spot: chunk of %zu bytes is not %u bytes: held unused", size, STORE_CHUNK_SIZE);
	else if (err < 0)
		log_err("spot: cannot track chunk %p: %s; it stays with the worker until exit", base, strerror(-err));
}

static size_t t_chunks_take(void *ctx, size_t n, void **out)
{
	struct spot *sp = ctx;
	size_t got = users_chunks_take(&sp->users, n, out);

	capacity_changed(sp);
	return got;
}

static void t_stats(void *ctx, struct tenant_stats *out)
{
	struct spot *sp = ctx;
	struct store_stats st;

	users_totals(&sp->users, &st);
	*out = (struct tenant_stats){
		.used = st.used,
		.keys = st.keys,
		.evictions = st.evictions,
		.lost_keys = st.losses + st.dropped,
		.lost_bytes = st.loss_bytes + st.dropped_bytes,
	};
	server_counters(sp->srv, &out->clients, &out->commands, &out->hits, &out->misses);
}

static size_t t_user_stats(void *ctx, struct tenant_user_stats *out, size_t max)
{
	struct spot *sp = ctx;
	size_t n = 0;

	_Static_assert(TENANT_NAME_MAX == SPOT_NAME_MAX && TENANT_USERS_MAX >= SPOT_MAX_USERS, "every user fits");
	for (size_t i = 0; i < SPOT_MAX_USERS && n < max; i++) {
		const struct spot_user *u = &sp->users.u[i];
		struct store_stats st;

		if (!u->live)
			continue;
		store_get_stats(u->store, &st);
		out[n] = (struct tenant_user_stats){
			.quota = u->quota,
			.refused = st.refused,
			.s = { .used = st.used, .keys = st.keys, .clients = u->clients, .commands = u->commands,
			       .hits = u->hits, .misses = u->misses, .evictions = st.evictions,
			       .lost_keys = st.losses + st.dropped, .lost_bytes = st.loss_bytes + st.dropped_bytes },
		};
		memcpy(out[n].name, u->name, sizeof(out[n].name));
		n++;
	}
	return n;
}

static void t_user_op(void *ctx, const struct wmsg_user_op *op)
{
	struct spot *sp = ctx;
	struct spot_tenant_spec spec = { .quota = op->user.quota };
	int err;

	memcpy(spec.name, op->user.name, sizeof(spec.name));
	memcpy(spec.password, op->user.password, sizeof(spec.password));
	if (op->verb == WUSER_SET)
		err = users_set(&sp->users, &spec);
	else
		err = server_del_user(sp->srv, spec.name, strlen(spec.name));
	explicit_bzero(&spec, sizeof(spec));
	if (err < 0)
		log_warn("spot: cannot %s tenant '%s': %s", op->verb == WUSER_SET ? "set" : "remove", op->user.name,
			 strerror(-err));
	else
		log_info("spot: tenant '%s' %s (quota %llu bytes)", op->user.name,
			 op->verb == WUSER_SET ? "set" : "removed", (unsigned long long)op->user.quota);
}

static void t_destroy(void *ctx)
{
	struct spot *sp = ctx;

	server_free(sp->srv);
	users_fini(&sp->users);
	free(sp);
}

struct worker_tenant *spot_tenant_new(const void *arg)
{
	struct spot_config defaults;
	const struct spot_config *cfg = arg;
	struct spot *sp;
	int err;

	if (!cfg) {
		spot_config_init(&defaults);
		cfg = &defaults;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		log_err("spot: no memory for the tenant");
		return NULL;
	}
	/* The hash seed differs per process so that a client cannot aim keys at one chain. */
	err = users_init(&sp->users, cfg, clock_ns() ^ ((uint64_t)getpid() << 32));
	if (err < 0) {
		log_err("spot: cannot set up the users: %s", strerror(-err));
		free(sp);
		return NULL;
	}
	if (server_new(cfg, &sp->users, &sp->srv) < 0) {
		users_fini(&sp->users);
		free(sp);
		return NULL;
	}
	sp->t = (struct worker_tenant){
		.ctx = sp,
		.epoll_fd = t_epoll_fd,
		.run = t_run,
		.chunk_added = t_chunk_added,
		.chunks_take = t_chunks_take,
		.stats = t_stats,
		.user_stats = t_user_stats,
		.user_op = t_user_op,
		.destroy = t_destroy,
	};
	log_info("spot: serving on %s (%u tenants)", cfg->listen, cfg->ntenants);
	return &sp->t;
}
