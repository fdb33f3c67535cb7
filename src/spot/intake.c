/*
 * intake: how the spot server takes connections on. Accepting them and making them clients (their ends described
 * for CLIENT LIST, their structs charged to the budget), refusing them past max_clients or the budget, the client
 * cap fitted to the open-file limit, and, when accept runs out of fds anyway, the reserve fd that is given up to
 * refuse a client, or the listener unwatched until the next timer tick.
 */
#include "spot/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

#define ACCEPTS_PER_RUN 64
/* File descriptors kept out of the client count (the worker's own, the listener, epoll, timer, reserve), as
 * Redis keeps 32: max_clients is lowered to fit RLIMIT_NOFILE. */
#define RESERVED_FDS 32

#define MSG_MAX_CLIENTS "-ERR max number of clients reached\r\n"

/* Answers a connection that is not taken on, and closes it. */
static void reject(struct server *srv, int fd, const char *msg)
{
	/* A fresh socket's send buffer is empty: the line goes out whole or the client is gone anyway. */
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("spot: telling a rejected client: %s", strerror(errno));
	close(fd);
	srv->env.rejected++;
}

void open_reserve(struct server *srv)
{
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * accept failed for want of file descriptors (EMFILE, ENFILE). The waiting connection keeps the listener readable,
 * so doing nothing would spin. The reserve fd is given up to accept it, tell it the server is full and close it;
 * without a reserve, the listener is unwatched until the next timer tick. True if accepting may go on.
 */
static bool out_of_fds(struct server *srv, int err)
{
	uint64_t unsaid;
	bool refused = false;
	int fd;

	if (srv->reserve_fd >= 0) {
		close(srv->reserve_fd);
		fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			srv->env.connections++;
			reject(srv, fd, MSG_MAX_CLIENTS);
			refused = true;
		}
		open_reserve(srv);
	}
	if (!refused && !srv->accept_paused) {
		struct epoll_event ev = { .events = 0, .data.ptr = &listener_tag };

		if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->lfd, &ev) == 0)
			srv->accept_paused = true;
	}
	if (ratelog_due(&srv->log_fds, clock_ms(), &unsaid))
		log_warn("spot: accept: %s (%llu clients, RLIMIT_NOFILE too low for max_clients %llu?); refusing new "
			 "clients; %llu more such failures not logged", strerror(err),
			 (unsigned long long)srv->env.clients, (unsigned long long)srv->max_clients,
			 (unsigned long long)unsaid);
	return refused;
}

void resume_accepting(struct server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listener_tag };

	if (!srv->accept_paused)
		return;
	if (srv->reserve_fd < 0)
		open_reserve(srv);
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->lfd, &ev) == 0)
		srv->accept_paused = false;
}

/* "ip:port" of an address (IPv6 in brackets), or "?". */
static void format_addr(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	bool v6 = sa->ss_family == AF_INET6;
	const void *a = v6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
			     (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	int port = ntohs(v6 ? ((const struct sockaddr_in6 *)sa)->sin6_port : ((const struct sockaddr_in *)sa)->sin_port);

	if (!inet_ntop(sa->ss_family, a, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, cap, v6 ? "[%s]:%d" : "%s:%d", ip, port);
}

static void describe_ends(struct client *c, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	format_addr(peer, c->peer, sizeof(c->peer));
	if (getsockname(c->fd, (struct sockaddr *)&local, &len) == 0)
		format_addr(&local, c->local, sizeof(c->local));
	else
		snprintf(c->local, sizeof(c->local), "?");
}

/* Takes a connection on as a client, its struct charged to the budget. */
static void add_client(struct server *srv, int fd, const struct sockaddr_storage *peer)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *c = NULL;
	int one = 1;

	if (!budget_grow(&srv->budget, 0, sizeof(*c))) {
		reject(srv, fd, "-" RESP_ERR_OOM "\r\n");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("spot: no memory for a new client");
		budget_release(&srv->budget, sizeof(*c));
		close(fd);
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	guard_addr_from(&c->src, (const struct sockaddr *)peer);
	describe_ends(c, peer);
	c->st.id = ++srv->next_id;
	c->st.created_ms = c->st.last_ms = clock_ms();
	c->st.authed = !srv->password[0];
	c->st.store = srv->env.store;
	srv->env.users->u[0].clients++;
	resp_init(&c->p, c->st.authed ? &srv->lim_auth : &srv->lim_noauth);
	c->p.budget = &srv->budget;
	rbuf_init(&c->out, srv->max_output);
	c->out.budget = &srv->budget;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("spot: epoll_ctl: %s", strerror(errno));
		close(fd);
		client_free(srv, c);
		return;
	}
	/* Replies are written whole per event loop turn: Nagle would only add latency. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("spot: TCP_NODELAY: %s", strerror(errno));
	c->next = srv->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &srv->clients;
	srv->clients = c;
	srv->env.clients++;
}

void accept_clients(struct server *srv)
{
	for (int i = 0; i < ACCEPTS_PER_RUN; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(srv->lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			if (!out_of_fds(srv, errno))
				return;
			continue;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("spot: accept: %s", strerror(errno));
			return;
		}
		srv->env.connections++;
		if (srv->env.clients >= srv->max_clients)
			reject(srv, fd, MSG_MAX_CLIENTS);
		else
			add_client(srv, fd, &peer);
	}
}

/* Lowers max_clients to what RLIMIT_NOFILE leaves after RESERVED_FDS, so that the cap is met before accept fails. */
uint64_t fit_clients(uint64_t max_clients)
{
	struct rlimit rl;
	uint64_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return max_clients;
	room = rl.rlim_cur > RESERVED_FDS + 1 ? rl.rlim_cur - RESERVED_FDS : 1;
	if (room >= max_clients)
		return max_clients;
	log_warn("spot: max_clients lowered from %llu to %llu to fit the open-file limit (RLIMIT_NOFILE %llu)",
		 (unsigned long long)max_clients, (unsigned long long)room, (unsigned long long)rl.rlim_cur);
	return room;
}
