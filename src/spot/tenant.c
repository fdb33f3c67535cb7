#include "spot/spot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
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

struct spot {
	struct worker_tenant t;
	struct store *store;
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

void spot_config_init(struct spot_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", SPOT_DEFAULT_LISTEN);
}

int spot_config_parse_listen(const char *text, struct spot_listen *out)
{
	char host[64];
	const char *colon, *h = text;
	size_t hlen;
	long port;
	char *end;

	memset(out, 0, sizeof(*out));
	if (strcmp(text, "off") == 0) {
		out->off = true;
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon || colon == text)
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 3 || text[hlen - 1] != ']')
			return -EINVAL;
		h = text + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || colon[1] == '+' || colon[1] == '-' || port < 1 || port > 65535)
		return -EINVAL;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (text[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin);
		out->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin6);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

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
	store_refree(sp->store, lazy_free, sp);
}

static void t_chunk_added(void *ctx, void *base, size_t size)
{
	int err = store_chunk_add(((struct spot *)ctx)->store, base, size);

	if (err == -EINVAL)
		log_warn("spot: chunk of %zu bytes is not %u bytes: held unused", size, STORE_CHUNK_SIZE);
	else if (err < 0)
		log_err("spot: cannot track chunk %p: %s; it stays with the worker until exit", base, strerror(-err));
}

static size_t t_chunks_take(void *ctx, size_t n, void **out)
{
	return store_chunks_take(((struct spot *)ctx)->store, n, out);
}

static void t_stats(void *ctx, uint64_t *used, uint64_t *keys, uint64_t *evictions, uint64_t *losses,
		    uint64_t *clients)
{
	struct spot *sp = ctx;
	struct store_stats st;

	store_get_stats(sp->store, &st);
	*used = st.used;
	*keys = st.keys;
	*evictions = st.evictions;
	*losses = st.losses + st.dropped;
	*clients = server_clients(sp->srv);
}

static void t_destroy(void *ctx)
{
	struct spot *sp = ctx;

	server_free(sp->srv);
	store_free(sp->store);
	free(sp);
}

struct worker_tenant *spot_tenant_new(const void *arg)
{
	struct spot_config defaults;
	const struct spot_config *cfg = arg;
	struct spot *sp;

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
	sp->store = store_new(cfg->max_keys, 0, clock_ns() ^ ((uint64_t)getpid() << 32));
	if (!sp->store) {
		log_err("spot: no memory for the store");
		free(sp);
		return NULL;
	}
	store_set_reclaimable(sp->store, cfg->reclaimable);
	if (server_new(cfg, sp->store, &sp->srv) < 0) {
		store_free(sp->store);
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
		.destroy = t_destroy,
	};
	log_info("spot: serving on %s", cfg->listen);
	return &sp->t;
}
