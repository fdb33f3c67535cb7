/*
 * server: the spot server's event loop. The clients' reads (batched), their requests (pipelined, with their keys
 * prefetched), their writes (batched) and closes, the timer's sweep, the AUTH guard's hooks and CLIENT LIST/KILL,
 * setup and teardown. Taking connections on, or refusing them, is intake.c's.
 */
#include "spot/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "spot/commands.h"
#include "spot/guard.h"
#include "spot/reply.h"
#include "spot/resp.h"
#include "spot/server_int.h"
#include "sys/uring.h"

#define READ_CHUNK (16 * 1024)  /* the least a read asks for, and what one into a spare buffer asks */
#define READ_MAX (64 * 1024)    /* a read straight into the parser asks for the room it has, up to this */
#define READS_PER_EVENT 16      /* fairness: then the next client's turn */
#define EVENTS_PER_RUN 64
#define SWEEP_INTERVAL_MS 100
#define SWEEP_MIN_BUCKETS 1024
#define DEFAULT_MAX_OUTPUT (64u * 1024 * 1024)
/* The shared argv is given back past this many entries (a large request's), like a parser's. */
#define ARGV_KEEP 1024

/* Tags of the two non-client fds in epoll data (client events carry the client pointer); intake.c uses the
 * listener's. */
char listener_tag;
static char timer_tag;

/* True if the warning may be logged now; *unsaid is then how many were held back since the last one. */
bool ratelog_due(struct ratelog *r, uint64_t now, uint64_t *unsaid)
{
	if (now < r->next_ms) {
		r->unsaid++;
		return false;
	}
	*unsaid = r->unsaid;
	r->unsaid = 0;
	r->next_ms = now + LOG_INTERVAL_MS;
	return true;
}

static void client_close(struct server *srv, struct client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->next = srv->dead;
	srv->dead = c;
	srv->env.clients--;
	srv->env.users->u[c->st.user].clients--;
}

void client_free(struct server *srv, struct client *c)
{
	cmd_client_free(&srv->env, &c->st);
	resp_free(&c->p);
	rbuf_free(&c->out);
	budget_release(&srv->budget, sizeof(*c));
	free(c);
}

static void log_budget_refusal(struct server *srv, const struct client *c, const char *what)
{
	uint64_t unsaid;

	if (ratelog_due(&srv->log_budget, clock_ms(), &unsaid))
		log_warn("spot: closing client %llu: %s would pass the clients' memory budget (%zu of %zu bytes used)"
			 " or its own cap; %llu more such closes not logged", (unsigned long long)c->st.id, what,
			 srv->budget.used, srv->budget.limit, (unsigned long long)unsaid);
}

/* Watches for output room while a reply is pending; stops reading a client that is being closed. */
static void set_out_interest(struct server *srv, struct client *c, bool want)
{
	struct epoll_event ev = { .events = (c->closing ? 0 : EPOLLIN) | (want ? EPOLLOUT : 0), .data.ptr = c };

	if (c->events == ev.events)
		return;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		log_warn("spot: epoll_ctl on client %llu: %s; closing it", (unsigned long long)c->st.id,
			 strerror(errno));
		client_close(srv, c);
		return;
	}
	c->events = ev.events;
}

/* Closing a socket with unread input makes the kernel send a reset, which can destroy the error reply still in
 * flight: what has already arrived is read and dropped first (bounded), so the close is a clean FIN. */
static void discard_input(struct client *c)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_EVENT * 4; i++)
		if (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return;
}

/*
 * Writes what is pending; closes the client once a final reply is out, or on a write error. `first` is the result
 * of a first write already made (bytes or -errno, from a batch), or URING_NOT_RUN.
 */
static void client_flush(struct server *srv, struct client *c, int32_t first)
{
	while (rbuf_pending(&c->out)) {
		ssize_t n;

		if (first != URING_NOT_RUN) {
			n = first < 0 ? -1 : first;
			errno = first < 0 ? -first : 0;
			first = URING_NOT_RUN;
		} else {
			n = send(c->fd, rbuf_next(&c->out), rbuf_pending(&c->out), MSG_NOSIGNAL);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_out_interest(srv, c, true);
			return;
		}
		if (n < 0) {
			log_debug("spot: write to client %llu: %s", (unsigned long long)c->st.id, strerror(errno));
			client_close(srv, c);
			return;
		}
		rbuf_advance(&c->out, (size_t)n);
	}
	if (c->closing || c->st.quit) {
		discard_input(c);
		client_close(srv, c);
		return;
	}
	rbuf_shrink(&c->out, budget_tight(&srv->budget));
	set_out_interest(srv, c, false);
}

/*
 * Answers a final error, then closes: through the output buffer (flushed at the end of the turn), or, when the
 * budget left no room even for that, straight to the socket if nothing else is pending (an error line fits any
 * send buffer), and the close is at once.
 */
static void client_fail(struct server *srv, struct client *c, const char *err)
{
	c->closing = true;
	rbuf_error(&c->out, "%s", err);
	if (!c->out.overflow)
		return;
	if (!rbuf_pending(&c->out)) {
		char line[160];
		int n = snprintf(line, sizeof(line), "-%s\r\n", err);

		if (n > 0 && send(c->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
				  MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("spot: telling client %llu: %s", (unsigned long long)c->st.id, strerror(errno));
	}
	discard_input(c);
	client_close(srv, c);
}

static bool grow_argv(struct server *srv, size_t argc)
{
	struct cmd_arg *na;

	if (argc <= srv->argv_cap)
		return true;
	if (!budget_grow(&srv->budget, srv->argv_cap * sizeof(*na), argc * sizeof(*na)))
		return false;
	na = realloc(srv->argv, argc * sizeof(*na));
	if (!na) {
		budget_release(&srv->budget, (argc - srv->argv_cap) * sizeof(*na));
		return false;
	}
	srv->argv = na;
	srv->argv_cap = argc;
	return true;
}

static void free_argv(struct server *srv)
{
	budget_release(&srv->budget, srv->argv_cap * sizeof(*srv->argv));
	free(srv->argv);
	srv->argv = NULL;
	srv->argv_cap = 0;
}

/* Once a client has nothing buffered, what a large request made grow goes back (all of it when the budget is
 * tight), so that an idle client holds no more than a small request needs. */
static void client_shrink(struct server *srv, struct client *c)
{
	bool tight = budget_tight(&srv->budget);

	resp_shrink(&c->p, tight);
	if (srv->argv_cap > ARGV_KEEP || (tight && srv->argv_cap))
		free_argv(srv);
}

/* Executes every complete request buffered (pipelining), appending the replies. */
static void client_process(struct server *srv, struct client *c)
{
	while (!c->closing && !c->st.quit) {
		const char *err = NULL;
		enum resp_status st = resp_parse(&c->p, &err);

		if (st == RESP_MORE) {
			client_shrink(srv, c);
			return;
		}
		if (st == RESP_ERROR || !grow_argv(srv, c->p.argc)) {
			if (st != RESP_ERROR || strcmp(err, RESP_ERR_OOM) == 0)
				log_budget_refusal(srv, c, "a request's arguments");
			client_fail(srv, c, st == RESP_ERROR ? err : RESP_ERR_OOM);
			return;
		}
		for (size_t i = 0; i < c->p.argc; i++) {
			srv->argv[i].p = resp_arg_ptr(&c->p, i);
			srv->argv[i].n = c->p.argv[i].len;
		}
		bool was_authed = c->st.authed;

		cmd_exec(&srv->env, &c->st, &c->out, c->p.argc, srv->argv, clock_ms());
		resp_consume(&c->p);
		if (c->st.authed && !was_authed)
			resp_set_limits(&c->p, &srv->lim_auth);
		if (c->out.overflow) {
			log_warn("spot: client %llu passed the output buffer cap (%llu bytes) or the clients' memory budget"
				 " (%zu of %zu bytes used); dropping it", (unsigned long long)c->st.id,
				 (unsigned long long)srv->max_output, srv->budget.used, srv->budget.limit);
			client_close(srv, c);
			return;
		}
	}
}

/*
 * What one read returned (n bytes, 0: end of stream, or -errno) goes into the client's parser, from buf, or, with buf
 * NULL, where the read put it (the parser's room, resp_room): the bytes taken, 0 when there were none (or the client
 * was closed).
 */
static size_t client_take(struct server *srv, struct client *c, const char *buf, ssize_t n)
{
	int err;

	if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
		return 0;
	if (n <= 0) {
		if (n < 0)
			log_debug("spot: read from client %llu: %s", (unsigned long long)c->st.id, strerror((int)-n));
		client_close(srv, c);
		return 0;
	}
	err = buf ? resp_feed(&c->p, buf, (size_t)n) : resp_commit(&c->p, (size_t)n);
	if (err == -ENOMEM) {
		log_budget_refusal(srv, c, "its query buffer");
		client_fail(srv, c, RESP_ERR_OOM);
		return 0;
	}
	if (err < 0) {
		log_warn("spot: closing client %llu: it reached the query buffer cap", (unsigned long long)c->st.id);
		client_close(srv, c);
		return 0;
	}
	return (size_t)n;
}

/*
 * Where the next read for this client goes, and how much it asks for (c->asked): the parser's room, made at least
 * READ_CHUNK and asked for whole up to READ_MAX and up to what the query cap still lets in (no copy, and a pipeline
 * of large values in fewer reads, never past the cap in one); else (the query cap or the budget refused the room)
 * READ_CHUNK into `spare`, whose bytes resp_feed then takes or refuses.
 */
static char *read_target(struct client *c, char *spare)
{
	char *at;
	size_t room;

	/* The room stops where the query cap would be passed: reading more could close a client for bytes that
	 * READ_CHUNK reads would take. */
	if (resp_reserve(&c->p, READ_CHUNK) == 0 && (room = resp_room(&c->p, &at)) >= READ_CHUNK) {
		c->asked = (uint32_t)(room < READ_MAX ? room : READ_MAX);
		return at;
	}
	c->asked = READ_CHUNK;
	return spare;
}

/* One read into the client's parser: the bytes read, 0 when there was nothing to read (or the client was closed). */
static size_t client_recv(struct server *srv, struct client *c)
{
	char buf[READ_CHUNK], *to = read_target(c, buf);
	ssize_t n;

	do
		n = recv(c->fd, to, c->asked, 0);
	while (n < 0 && errno == EINTR);
	return client_take(srv, c, to == buf ? buf : NULL, n < 0 ? -errno : n);
}

/* Starts loading what the keys of one client's buffered requests need (store_prefetch); returns how many. */
static size_t prefetch_client(struct server *srv, struct client *c, size_t max)
{
	struct resp_span span[STORE_PREFETCH_MAX];
	struct store_key keys[STORE_PREFETCH_MAX];
	size_t n;

	if (max > STORE_PREFETCH_MAX)
		max = STORE_PREFETCH_MAX;
	n = resp_peek_keys(&c->p, cmd_key_spec, span, max);
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct store_key){ span[i].p, span[i].n };
	store_prefetch(c->st.store, keys, n);
	return n;
}

/*
 * Runs what the first read (`got` bytes, 0: nothing) brought, then reads on while reads come back full, running
 * each read's requests before the next, so one pipelining client holds at most a read's worth.
 */
static void client_read(struct server *srv, struct client *c, size_t got)
{
	for (int i = 1; got && c->fd >= 0; i++) {
		client_process(srv, c);
		/* A short read drained the socket: skip the recv that would only say EAGAIN. */
		if (c->fd < 0 || c->closing || got < c->asked || i == READS_PER_EVENT)
			return;
		got = client_recv(srv, c);
		if (got)
			prefetch_client(srv, c, STORE_PREFETCH_MAX);
	}
}

static void timer_tick(struct server *srv)
{
	struct store_stats st;
	uint64_t ticks;
	size_t slice;

	if (read(srv->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("spot: timerfd read: %s", strerror(errno));
	for (size_t i = 0; i < SPOT_MAX_USERS; i++) {
		struct store *s = srv->env.users->u[i].store;

		if (!srv->env.users->u[i].live)
			continue;
		store_get_stats(s, &st);
		/* A full pass over the index every ~3 s whatever its size: stale and expired entries do not pile up. */
		slice = st.index_entries / 32 > SWEEP_MIN_BUCKETS ? (size_t)(st.index_entries / 32) : SWEEP_MIN_BUCKETS;
		store_sweep(s, clock_ms(), slice);
	}
	resume_accepting(srv);
}

static struct client *client_of(const struct cmd_client *cl)
{
	return (struct client *)((char *)cl - offsetof(struct client, st));
}

/* Says that a client failed AUTH or was refused, at a bounded rate (a guesser must not flood the log either). */
static void log_auth(struct server *srv, const struct client *c, const char *what, uint64_t now)
{
	char addr[INET6_ADDRSTRLEN + 4] = "?";
	const uint8_t *b = c->src.b;
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint64_t unsaid;

	if (!ratelog_due(&srv->log_auth, now, &unsaid))
		return;
	if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0)
		inet_ntop(AF_INET, b + 12, addr, sizeof(addr));
	else if (inet_ntop(AF_INET6, b, addr, INET6_ADDRSTRLEN))
		strcat(addr, "/64");
	log_warn("spot: client %llu from %s: %s (%llu failed AUTHs in all; %llu more not logged)",
		 (unsigned long long)c->st.id, addr, what, (unsigned long long)srv->env.auth_failures + 1,
		 (unsigned long long)unsaid);
}

static bool auth_allowed(void *ctx, const struct cmd_client *cl, uint64_t now)
{
	struct server *srv = ctx;
	const struct client *c = client_of(cl);

	if (guard_allows(&srv->guard, &c->src, now))
		return true;
	log_auth(srv, c, "AUTH refused, its address is backed off", now);
	return false;
}

static void auth_result(void *ctx, const struct cmd_client *cl, bool ok, uint64_t now)
{
	struct server *srv = ctx;
	const struct client *c = client_of(cl);

	if (ok) {
		guard_succeeded(&srv->guard, &c->src);
		return;
	}
	log_auth(srv, c, guard_failed(&srv->guard, &c->src, now) ? "wrong password; its address is now backed off" :
		 "wrong password", now);
}

static struct cmd_client *next_client(void *ctx, struct cmd_client *prev)
{
	struct server *srv = ctx;
	struct client *c = prev ? client_of(prev)->next : srv->clients;

	return c ? &c->st : NULL;
}

static void client_socket(void *ctx, const struct cmd_client *cl, char *buf, size_t cap)
{
	const struct client *c = client_of(cl);

	(void)ctx;
	snprintf(buf, cap, "addr=%s laddr=%s fd=%d", c->peer, c->local, c->fd);
}

/* CLIENT KILL: another client is closed at once; the caller itself after its reply. */
static void kill_client(void *ctx, struct cmd_client *cl)
{
	struct client *c = client_of(cl);

	if (c->closing || cl->quit)
		return;
	cl->quit = true;
	set_out_interest(ctx, c, true);
}

static bool is_client(const struct epoll_event *ev)
{
	return ev->data.ptr != &listener_tag && ev->data.ptr != &timer_tag;
}

/* Reads every ready client once (got[i]: the bytes event i's client brought): one batch through the ring, or one
 * recv each. */
static void read_ready(struct server *srv, const struct epoll_event *evs, int n, size_t *got)
{
	int32_t res[EVENTS_PER_RUN];
	int slot[EVENTS_PER_RUN];
	char *to[EVENTS_PER_RUN];

	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;

		got[i] = 0;
		slot[i] = -1;
		if (!is_client(&evs[i]) || c->fd < 0 || c->closing || !(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			continue;
		if (srv->ring) {
			to[i] = read_target(c, srv->rx + (size_t)i * READ_CHUNK);
			slot[i] = uring_recv(srv->ring, c->fd, to[i], c->asked, 0);
		}
		if (slot[i] < 0)
			got[i] = client_recv(srv, c);
	}
	if (!srv->ring || !uring_queued(srv->ring))
		return;
	uring_run(srv->ring, res);
	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;

		if (slot[i] < 0)
			continue;
		if (res[slot[i]] == URING_NOT_RUN)
			got[i] = client_recv(srv, c);
		else
			got[i] = client_take(srv, c, to[i] == srv->rx + (size_t)i * READ_CHUNK ? to[i] : NULL,
					     res[slot[i]]);
	}
}

/* Writes the ready clients' replies: the first write of each in one batch through the ring, the rest (a reply
 * that did not go out whole) one send at a time. */
static void flush_ready(struct server *srv, const struct epoll_event *evs, int n)
{
	int32_t res[EVENTS_PER_RUN];
	int slot[EVENTS_PER_RUN];

	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;

		slot[i] = -1;
		if (srv->ring && is_client(&evs[i]) && c->fd >= 0 && rbuf_pending(&c->out))
			slot[i] = uring_send(srv->ring, c->fd, rbuf_next(&c->out), rbuf_pending(&c->out), MSG_NOSIGNAL);
	}
	if (srv->ring)
		uring_run(srv->ring, res);
	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;

		if (is_client(&evs[i]) && c->fd >= 0)
			client_flush(srv, c, slot[i] >= 0 ? res[slot[i]] : URING_NOT_RUN);
	}
}

/*
 * Three passes over the ready fds. 1: every ready client is read once (through the ring: all of them in one system
 * call). 2: a window of clients at a time, the keys of
 * their requests are prefetched together (store_prefetch), then the window's requests run. A GET is a chain of cache
 * misses (bucket, entry, item); across a window they overlap instead of adding up, with pipelines (-P 16) and without
 * (many clients with one request each) alike. 3: the replies are written (through the ring: every client's first
 * write in one system call), so that no send runs (and evicts what was prefetched) between a window's prefetch and
 * its lookups.
 */
void server_run(struct server *srv)
{
	struct epoll_event evs[EVENTS_PER_RUN];
	size_t got[EVENTS_PER_RUN];
	int n = epoll_wait(srv->epfd, evs, EVENTS_PER_RUN, 0), window = 0;

	if (n < 0 && errno != EINTR)
		log_warn("spot: epoll_wait: %s", strerror(errno));
	read_ready(srv, evs, n, got);
	for (int i = 0; i < n; i++) {
		if (i == window) {
			size_t keys = 0;

			while (window < n && keys < STORE_PREFETCH_MAX) {
				struct client *c = evs[window].data.ptr;

				if (got[window] && c->fd >= 0)
					keys += prefetch_client(srv, c, STORE_PREFETCH_MAX - keys);
				window++;
			}
		}
		if (evs[i].data.ptr == &listener_tag)
			accept_clients(srv);
		else if (evs[i].data.ptr == &timer_tag)
			timer_tick(srv);
		else if (got[i])
			client_read(srv, evs[i].data.ptr, got[i]);
	}
	flush_ready(srv, evs, n);
	while (srv->dead) {
		struct client *c = srv->dead;

		srv->dead = c->next;
		client_free(srv, c);
	}
}

static int listen_on(struct server *srv, const struct spot_listen *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listener_tag };
	int one = 1;

	srv->lfd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0)
		return -errno;
	if (setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(srv->lfd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 || listen(srv->lfd, 511) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev) < 0)
		return -errno;
	return 0;
}

static int start_timer(struct server *srv)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = SWEEP_INTERVAL_MS * 1000000L },
		.it_value = { .tv_nsec = SWEEP_INTERVAL_MS * 1000000L },
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &timer_tag };

	srv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->tfd < 0 || timerfd_settime(srv->tfd, 0, &its, NULL) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->tfd, &ev) < 0)
		return -errno;
	return 0;
}

static int port_of(const struct spot_listen *l)
{
	if (l->off)
		return 0;
	if (l->addr.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
}

/* Unix time minus the monotonic clock, in ms, taken once: expiry times given as Unix times (EXPIREAT) become
 * monotonic ones, so that a step of the wall clock does not move the expiry of keys already set. */
static int64_t wall_offset_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)clock_ms();
}

void server_set_capacity(struct server *srv, uint64_t capacity) { budget_set_capacity(&srv->budget, capacity); }

/* The ring that batches the reads and writes of a loop turn, where io_uring can be used; else plain system calls. */
static void start_ring(struct server *srv, const struct spot_config *cfg)
{
	int err = -ENOMEM;

	if (cfg->plain_io)
		return;
	srv->rx = malloc((size_t)EVENTS_PER_RUN * READ_CHUNK);
	if (srv->rx)
		err = uring_new(EVENTS_PER_RUN, &srv->ring);
	if (err == 0) {
		log_debug("spot: socket reads and writes batched through io_uring");
		return;
	}
	free(srv->rx);
	srv->rx = NULL;
	srv->ring = NULL;
	log_info("spot: io_uring unavailable (%s): one system call per socket read and write", strerror(-err));
}

int server_new(const struct spot_config *cfg, struct spot_users *users, struct server **out)
{
	struct store *store = users->u[0].store;
	struct spot_listen l;
	struct store_stats st;
	struct server *srv;
	uint64_t max_bulk = store_max_value(store, 0);
	int err;

	if (spot_config_parse_listen(cfg->listen, &l) < 0) {
		log_err("spot: bad listen address '%s' (want IP:PORT, [IPV6]:PORT or off)", cfg->listen);
		return -EINVAL;
	}
	if (!l.off && !l.loopback && !cfg->password[0]) {
		log_err("spot: refusing to listen on %s without a password (protected mode)", cfg->listen);
		return -EPERM;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->lfd = srv->tfd = -1;
	srv->max_clients = fit_clients(cfg->max_clients ? cfg->max_clients : SPOT_DEFAULT_MAX_CLIENTS);
	open_reserve(srv);
	users_totals(users, &st);
	budget_set_capacity(&srv->budget, st.capacity);
	guard_init(&srv->guard, clock_ns() ^ (uint64_t)(uintptr_t)srv);
	srv->max_output = cfg->max_output ? cfg->max_output : DEFAULT_MAX_OUTPUT;
	memcpy(srv->password, cfg->password, sizeof(srv->password));
	srv->password[sizeof(srv->password) - 1] = '\0';
	/* A bulk larger than the largest storable value can only be refused, so it is refused before it is read. */
	srv->lim_auth = (struct resp_limits){
		.max_inline = RESP_MAX_INLINE,
		.max_bulk = max_bulk,
		.max_argc = RESP_MAX_ARGC,
		.max_query = cfg->max_query ? cfg->max_query : RESP_MAX_QUERY,
		.bulk_err = "ERR Protocol error: invalid bulk length",
		.argc_err = "ERR Protocol error: invalid multibulk length",
	};
	srv->lim_noauth = srv->lim_auth;
	srv->lim_noauth.max_bulk = RESP_NOAUTH_MAX_BULK;
	srv->lim_noauth.max_argc = RESP_NOAUTH_MAX_ARGC;
	srv->lim_noauth.bulk_err = "ERR Protocol error: unauthenticated bulk length";
	srv->lim_noauth.argc_err = "ERR Protocol error: unauthenticated multibulk length";
	srv->env = (struct cmd_env){
		.store = store,
		.users = users,
		.password = srv->password,
		.port = port_of(&l),
		.start_ms = clock_ms(),
		.wall_offset_ms = wall_offset_ms(),
		.max_clients = srv->max_clients,
		.budget = &srv->budget,
		.auth_allowed = auth_allowed,
		.auth_result = auth_result,
		.auth_ctx = srv,
		.client_next = next_client,
		.client_socket = client_socket,
		.client_kill = kill_client,
		.client_ctx = srv,
	};
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = srv->epfd < 0 ? -errno : start_timer(srv);
	if (err == 0 && !l.off) {
		err = listen_on(srv, &l);
		if (err < 0)
			log_err("spot: cannot listen on %s: %s", cfg->listen, strerror(-err));
	} else if (err < 0) {
		log_err("spot: epoll/timerfd: %s", strerror(-err));
	}
	if (err < 0) {
		server_free(srv);
		return err;
	}
	start_ring(srv, cfg);
	*out = srv;
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	while (srv->clients)
		client_close(srv, srv->clients);
	while (srv->dead) {
		struct client *c = srv->dead;

		srv->dead = c->next;
		client_free(srv, c);
	}
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->tfd >= 0)
		close(srv->tfd);
	if (srv->reserve_fd >= 0)
		close(srv->reserve_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	free_argv(srv);
	uring_free(srv->ring);
	free(srv->rx);
	free(srv);
}

int server_del_user(struct server *srv, const char *name, size_t n)
{
	int idx = users_find(srv->env.users, name, n);

	if (idx <= 0)
		return -ENOENT;
	for (struct client *c = srv->clients, *next; c; c = next) {
		next = c->next;
		if (c->st.user == idx)
			client_close(srv, c);
	}
	return users_del(srv->env.users, name, n);
}

int server_epoll_fd(const struct server *srv) { return srv->epfd; }

void server_counters(const struct server *srv, uint64_t *clients, uint64_t *commands, uint64_t *hits,
		     uint64_t *misses)
{
	*clients = srv->env.clients;
	*commands = srv->env.commands;
	*hits = srv->env.hits;
	*misses = srv->env.misses;
}
