/*
 * The control API's HTTP/1.1 server: non-blocking Unix-socket connections multiplexed on an epoll fd of its own,
 * which the controller watches (level-triggered) and serves through api_server_run. Requests are parsed by
 * http_req, routed by route; answers are written from a per-connection buffer, at most one answer's worth: the
 * next pipelined request waits (unread, in the socket) until the previous answers are in the socket. A connection
 * that makes no progress for timeout_s, reading or writing, is closed, whatever waits unread or unsent.
 *
 * The peer's uid is checked at accept: a peer that may not use the API is answered 403 at once and only drained
 * until it hangs up (a few at a time, outside the connection slots), so it never holds a slot. Root and the owner
 * share max_connections, each held to a share that leaves the other a reserved part; at max_connections the
 * listening socket is not watched, so newcomers wait in its backlog.
 */
#include "api/api.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/http_req.h"
#include "api/route.h"
#include "sys/listen.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"

#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_MAX_BODY (64 * 1024)
#define DEFAULT_CONN_MEMORY (32 * 1024)
#define DEFAULT_TIMEOUT_S 5
#define POLL_PERIOD_MS 1000
/* Bytes read per connection at a time (a buffer only while unparsed input waits). */
#define IN_CAP 4096
/* Events handled per api_server_run, so a flood of clients never holds up the controller for long. */
#define EVENTS_PER_RUN 256
/* After the last answer on a closing connection, input still arriving is read and dropped up to this much. */
#define LINGER_BYTES (64 * 1024)
/* Refused peers drained at once, beyond the connection slots; past it, the oldest is closed. */
#define MAX_DRAINING 32
/* When root and the owner differ, each may hold all slots but max_connections / RESERVE_DIVISOR (at least 1). */
#define RESERVE_DIVISOR 8

struct conn {
	struct conn *prev, *next;	/* the activity list, least recently active first */
	int fd;
	uint64_t deadline_ms;		/* closed when no progress is made by then */
	bool draining;			/* a refused peer: answered, only read and dropped until it hangs up */
	bool root;			/* holds one of root's slots (else one of the owner's), unless draining */
	size_t dropped;			/* bytes read and dropped while draining */
	struct http_req req;
	char *in;			/* unparsed input, IN_CAP bytes, allocated while in use */
	size_t in_len;
	char *out;			/* answers not yet sent: out[out_off..out_len) */
	size_t out_len, out_off, out_cap;
	bool closing;			/* close once out is sent; read nothing more */
	bool eof;			/* the client has shut down its side */
	uint32_t events;		/* the epoll interest now registered */
};

struct api_server {
	struct api_backend be;
	char *path;			/* NULL on vsock */
	struct stat id;			/* the socket file we created, so close never removes another server's */
	uid_t uid;
	unsigned int peer_cid;		/* vsock: the one peer CID served */
	size_t max_body;
	size_t max_head;
	unsigned int max_conns;
	unsigned int uid_share;		/* the most connections root, or the owner, may hold */
	uint64_t timeout_ms;
	int listen_fd;
	int epoll_fd;
	bool listening;			/* listen_fd is in the epoll set */
	uint64_t resume_ms;		/* accepting failed: not listening until then */
	unsigned int n_conns;		/* slots held: n_root + n_owner */
	unsigned int n_root, n_owner;
	unsigned int n_draining;
	struct conn *head, *tail;	/* the activity list */
	struct conn *dead;		/* closed in this batch of events, freed after it (linked by next) */
};

/* The activity list: touching moves a connection to the end with a fresh deadline. */
static void list_unlink(struct api_server *srv, struct conn *c)
{
	*(c->prev ? &c->prev->next : &srv->head) = c->next;
	*(c->next ? &c->next->prev : &srv->tail) = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct api_server *srv, struct conn *c)
{
	c->prev = srv->tail;
	c->next = NULL;
	*(srv->tail ? &srv->tail->next : &srv->head) = c;
	srv->tail = c;
}

static void touch(struct api_server *srv, struct conn *c)
{
	c->deadline_ms = clock_ms() + srv->timeout_ms;
	list_unlink(srv, c);
	list_append(srv, c);
}

static void set_listening(struct api_server *srv, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (on == srv->listening)
		return;
	if (epoll_ctl(srv->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, srv->listen_fd, &ev))
		log_err("api: epoll_ctl on the listening socket: %s", strerror(errno));
	else
		srv->listening = on;
}

/*
 * Closes a connection; its memory is freed by reap, once the batch of events being handled is done: closing one
 * connection may happen while handling another's event (turn_away closes the oldest refused peer), and the closed
 * one's own event may still wait later in the batch. Its fd is -1 from here on, and such an event is skipped.
 */
static void conn_close(struct api_server *srv, struct conn *c)
{
	list_unlink(srv, c);
	close(c->fd);		/* also leaves the epoll set */
	c->fd = -1;
	http_req_free(&c->req);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	if (c->draining) {
		srv->n_draining--;
	} else {
		srv->n_conns--;
		(*(c->root ? &srv->n_root : &srv->n_owner))--;
	}
	c->next = srv->dead;
	srv->dead = c;
	if (srv->n_conns < srv->max_conns && !srv->resume_ms)
		set_listening(srv, true);
}

/* Frees the connections closed since the last call: none of them has an event left to handle. */
static void reap(struct api_server *srv)
{
	while (srv->dead) {
		struct conn *c = srv->dead;

		srv->dead = c->next;
		free(c);
	}
}

/*
 * Registers the interest the connection's state calls for: output while some is pending, else input unless
 * closing. A client that does not read its answers is therefore not read either.
 */
static int update_events(struct api_server *srv, struct conn *c)
{
	bool pending = c->out_off < c->out_len;
	uint32_t want = pending ? EPOLLOUT : !c->closing && !c->eof && c->in_len < IN_CAP ? EPOLLIN : 0;
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want == c->events)
		return 0;
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev))
		return -errno;
	c->events = want;
	return 0;
}

static int out_append(struct conn *c, const char *data, size_t n)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (n > c->out_cap - c->out_len) {
		size_t cap = max_u64(c->out_cap * 2, max_u64(c->out_len + n, 1024));
		char *p = realloc(c->out, cap);

		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

static const char *reason_phrase(unsigned int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/*
 * Queues an answer (freeing r->body). with_body false: a HEAD request's answer, headers only. keep_alive_10: an
 * HTTP/1.0 client asked to keep the connection.
 */
static int queue_reply(struct conn *c, struct route_reply *r, bool with_body, bool keep_alive_10)
{
	char head[512], date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (!gmtime_r(&now, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
		date[0] = '\0';
	n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\nDate: %s\r\n", r->status, reason_phrase(r->status), date);
	if (r->content_type)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\n", r->content_type);
	/* A 204 has no body and must not announce one (RFC 9110 8.6). */
	if (r->status != 204)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", r->body ? r->len : 0);
	if (c->closing)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
	else if (keep_alive_10)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: keep-alive\r\n");
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if ((size_t)n >= sizeof(head) || out_append(c, head, (size_t)n) ||
	    (with_body && r->body && out_append(c, r->body, r->len))) {
		free(r->body);
		return -ENOMEM;
	}
	free(r->body);
	return 0;
}

/* Answers status with a fault_message and closes the connection once it is sent. */
static int refuse(struct conn *c, unsigned int status, const char *msg)
{
	struct route_reply r;

	c->closing = true;
	if (route_fault(&r, status, msg))
		return -ENOMEM;
	return queue_reply(c, &r, true, false);
}

static int refuse_too_big(struct api_server *srv, struct conn *c)
{
	char msg[API_ERR_LEN];

	snprintf(msg, sizeof(msg), "request body is larger than the limit of %zu bytes", srv->max_body);
	return refuse(c, 413, msg);
}

/* The head is complete: who asks, and what, before any body is read. Returns 0 or -ENOMEM. */
static int on_head(struct api_server *srv, struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct http_req *q = &c->req;

	/* Strict like the bodies: a query string would be silently ignored, so refuse it instead. */
	if (q->has_query)
		return refuse(c, 400, "query strings are not supported");
	if (http_req_refuse_now(q))
		return refuse_too_big(srv, c);
	if (q->expect_continue && http_req_has_body(q) && !q->too_big)
		return out_append(c, cont, sizeof(cont) - 1);
	return 0;
}

static int on_request(struct api_server *srv, struct conn *c)
{
	const struct http_req *q = &c->req;
	struct route_reply r;

	if (q->too_big)
		return refuse_too_big(srv, c);
	if (!http_req_keep_alive(q))
		c->closing = true;
	if (route_request(&srv->be, q->method, q->path, q->body ? q->body : "", q->body_len, &r))
		return -ENOMEM;
	return queue_reply(c, &r, strcmp(q->method, "HEAD") != 0, !c->closing && q->minor == 0);
}

/*
 * Parses what input there is, answering each complete request, and stops at an answer that is not sent yet (the
 * caller flushes and calls again): what is queued per connection stays one answer. Returns 0, or -errno to close
 * at once.
 */
static int process(struct api_server *srv, struct conn *c)
{
	size_t off = 0, used;
	int rc = 0;

	while (!rc && !c->closing && c->out_off == c->out_len) {
		enum http_req_event ev = http_req_feed(&c->req, c->in + off, c->in_len - off, &used);

		off += used;
		if (ev == HTTP_REQ_MORE)
			break;
		if (ev == HTTP_REQ_HEAD) {
			rc = on_head(srv, c);
		} else if (ev == HTTP_REQ_DONE) {
			rc = on_request(srv, c);
			http_req_reset(&c->req);
		} else if (!c->req.status) {
			log_debug("api: dropping a connection: %s", c->req.error);
			rc = -EPROTO;
		} else {
			rc = refuse(c, c->req.status, c->req.error);
		}
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (!c->in_len) {
		free(c->in);
		c->in = NULL;
	}
	return rc;
}

/*
 * Sends pending output. Returns 1 when everything is sent, 0 when the socket is full, -errno on failure. A
 * closing connection whose answer is out is done: the caller closes it.
 */
static int flush(struct api_server *srv, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		c->out_off += (size_t)n;
		touch(srv, c);
	}
	if (c->out_cap > 4 * IN_CAP) {
		/* A large answer (metrics) is not kept around for the connection's life. */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/* Reads what is there into the input buffer. Returns bytes read, 0 at end of input, -EAGAIN, or -errno. */
static ssize_t fill(struct conn *c)
{
	ssize_t n;

	if (!c->in && !(c->in = malloc(IN_CAP)))
		return -ENOMEM;
	do
		n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c->in_len += (size_t)n;
	return n;
}

/*
 * Before closing after a final answer: the client may still be sending (a refused body). Unread data at close
 * makes the kernel reset the connection, which can cost the client the answer; so what has arrived is read and
 * dropped first, and the client sees the end of the stream.
 */
static void linger_close(struct api_server *srv, struct conn *c)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	shutdown(c->fd, SHUT_WR);
	while (total < LINGER_BYTES && (n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	conn_close(srv, c);
}

/* Reads and drops what a refused peer sends; closes it at its end of input or past LINGER_BYTES. */
static void drain(struct api_server *srv, struct conn *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0 && (c->dropped += (size_t)n) <= LINGER_BYTES)
		return;
	conn_close(srv, c);
}

/*
 * Handles epoll events for one connection; may close it. Input is read once per event (level-triggered epoll
 * comes back for more), parsed, answered and flushed; answers that do not fit the socket wait for EPOLLOUT, and
 * so does the parsing of pipelined requests behind them.
 */
static void conn_event(struct api_server *srv, struct conn *c, uint32_t events)
{
	int rc = 0;

	if (events & EPOLLERR) {
		conn_close(srv, c);
		return;
	}
	if (c->draining) {
		drain(srv, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !c->closing && !c->eof && c->in_len < IN_CAP) {
		ssize_t n = fill(c);

		if (n > 0)
			touch(srv, c);
		else if (n == 0)
			c->eof = true;
		else if (n != -EAGAIN)
			rc = (int)n;
	}
	while (rc >= 0) {
		if (c->in_len && !c->closing)
			rc = process(srv, c);
		if (rc >= 0 && c->out_off < c->out_len)
			rc = flush(srv, c);
		/* Stop when the socket is full, or when no input waits behind an answer that is now sent. */
		if (rc <= 0 || !c->in_len || c->closing)
			break;
	}
	if (rc < 0) {
		conn_close(srv, c);
		return;
	}
	/* The client has finished sending: once every complete request is answered, a partial one never will be. */
	if (c->eof && !c->in_len)
		c->closing = true;
	if (c->closing && c->out_off == c->out_len) {
		linger_close(srv, c);
		return;
	}
	if (update_events(srv, c))
		conn_close(srv, c);
}

/*
 * Who is at the other end, from its credentials at connect time: 0 when it may take a slot (*root says whose),
 * else the status to refuse it with, 403 (it may not use the API) or 503 (its uid holds its whole share), and the
 * reason in msg.
 */
static unsigned int admit(struct api_server *srv, int fd, bool *root, char *msg, size_t len)
{
	unsigned int held, cid = 0;
	uid_t uid = 0;
	int rc = srv->path ? listen_peer_uid(fd, &uid) : listen_peer_cid(fd, &cid);

	if (rc) {
		snprintf(msg, len, "permission denied: cannot read the peer's credentials: %s", strerror(-rc));
		return 403;
	}
	/* On vsock the peer is a machine, known by its CID (set by the hypervisor): only the configured one. */
	if (!srv->path && cid != srv->peer_cid) {
		snprintf(msg, len, "permission denied: vsock CID %u may not use this port (only CID %u)", cid,
			 srv->peer_cid);
		return 403;
	}
	if (srv->path && uid != srv->uid && uid != 0) {
		snprintf(msg, len, "permission denied: uid %u may not use this socket", (unsigned int)uid);
		return 403;
	}
	*root = uid == 0;
	held = *root ? srv->n_root : srv->n_owner;
	if (held >= srv->uid_share) {
		snprintf(msg, len, "uid %u already holds %u connections, the most one uid may", (unsigned int)uid,
			 held);
		return 503;
	}
	return 0;
}

/* The refused peer drained longest (the activity list's first); NULL when none is. */
static struct conn *oldest_draining(const struct api_server *srv)
{
	struct conn *c = srv->head;

	while (c && !c->draining)
		c = c->next;
	return c;
}

/*
 * A refused peer gets its answer at once and holds no slot. It is then drained (what it sends is read and
 * dropped) until it hangs up or its deadline passes, so that it reads the answer rather than a reset or EPIPE.
 * Beyond MAX_DRAINING such peers the oldest, which has had the longest to read its answer, is closed: a flood of
 * refused peers leaves the newest its chance.
 */
static void turn_away(struct api_server *srv, struct conn *c, unsigned int status, const char *msg)
{
	c->draining = true;
	srv->n_draining++;
	log_debug("api: refusing a peer at once (%u): %s", status, msg);
	/* An answer this short always fits the new socket's empty buffer: anything else is a failure. */
	if (refuse(c, status, msg) || flush(srv, c) != 1) {
		conn_close(srv, c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	/* c has just moved to the list's end: the oldest is another. */
	if (srv->n_draining > MAX_DRAINING)
		linger_close(srv, oldest_draining(srv));
}

/* Accepts one waiting client. Returns 0, -EAGAIN when none waits, or -errno (out of fds or memory). */
static int accept_one(struct api_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char msg[API_ERR_LEN];
	unsigned int status;
	struct conn *c;
	int fd;

	do
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->events = ev.events;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		int rc = -errno;

		free(c);
		close(fd);
		return rc;
	}
	http_req_init(&c->req, srv->max_head, srv->max_body);
	list_append(srv, c);
	touch(srv, c);
	status = admit(srv, fd, &c->root, msg, sizeof(msg));
	if (status) {
		turn_away(srv, c, status, msg);
		return 0;
	}
	srv->n_conns++;
	(*(c->root ? &srv->n_root : &srv->n_owner))++;
	return 0;
}

/*
 * Accepts waiting clients up to the connection limit, and at most EVENTS_PER_RUN at a time (refused ones take no
 * slot, and the controller must not spin here).
 */
static void accept_all(struct api_server *srv)
{
	for (unsigned int i = 0; i < EVENTS_PER_RUN && srv->n_conns < srv->max_conns; i++) {
		int rc = accept_one(srv);

		if (rc == -EAGAIN)
			return;
		if (rc) {
			/* Out of fds or memory: retried in a while instead of spinning on the readable socket. */
			log_warn("api: accept: %s", strerror(-rc));
			srv->resume_ms = clock_ms() + POLL_PERIOD_MS;
			break;
		}
	}
	if (srv->resume_ms || srv->n_conns >= srv->max_conns)
		set_listening(srv, false);
}

/* Closes every connection whose deadline has passed, whatever waits unread or unsent. */
static void expire(struct api_server *srv)
{
	uint64_t now = clock_ms();

	while (srv->head && srv->head->deadline_ms <= now) {
		struct conn *c = srv->head;
		int pending = 0;

		/*
		 * Bytes waiting that this run had no turn to read (a busy run stops after EVENTS_PER_RUN): not idle. Only
		 * for a connection that is reading: one blocked writing, closing or refused is not read, so its input
		 * waits for good.
		 */
		if ((c->events & EPOLLIN) && !c->closing && ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0) {
			touch(srv, c);
			continue;
		}
		log_debug("api: closing a connection that made no progress for %llu ms",
			  (unsigned long long)srv->timeout_ms);
		conn_close(srv, c);
	}
}

void api_server_run(struct api_server *srv)
{
	struct epoll_event ev[64];
	int handled = 0, n;

	do {
		n = epoll_wait(srv->epoll_fd, ev, 64, 0);
		if (n < 0 && errno != EINTR)
			log_err("api: epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (!c)
				accept_all(srv);
			else if (c->fd >= 0)	/* not closed earlier in this batch */
				conn_event(srv, c, ev[i].events);
		}
		reap(srv);
		handled += n > 0 ? n : 0;
	} while (n == 64 && handled < EVENTS_PER_RUN);
	expire(srv);
	reap(srv);
	if (srv->resume_ms && clock_ms() >= srv->resume_ms) {
		srv->resume_ms = 0;
		if (srv->n_conns < srv->max_conns)
			set_listening(srv, true);
	}
}

int api_server_timeout_ms(struct api_server *srv)
{
	uint64_t now = clock_ms();

	if (!srv->head || srv->head->deadline_ms > now + POLL_PERIOD_MS)
		return POLL_PERIOD_MS;
	return srv->head->deadline_ms <= now ? 0 : (int)(srv->head->deadline_ms - now);
}

int api_server_fd(const struct api_server *srv) { return srv->epoll_fd; }

static bool backend_complete(const struct api_backend *be)
{
	return be && be->get_balloon && be->put_balloon && be->patch_balloon && be->get_stats &&
	       be->set_stats_interval && be->get_targets && be->patch_targets && be->get_status;
}

static struct api_config with_defaults(const struct api_config *cfg)
{
	struct api_config c = *cfg;

	c.sock_path = c.sock_path ? c.sock_path : API_DEFAULT_SOCK;
	c.max_connections = c.max_connections ? c.max_connections : DEFAULT_MAX_CONNECTIONS;
	c.max_body_bytes = c.max_body_bytes ? c.max_body_bytes : DEFAULT_MAX_BODY;
	c.conn_memory_bytes = c.conn_memory_bytes ? c.conn_memory_bytes : DEFAULT_CONN_MEMORY;
	c.timeout_s = c.timeout_s ? c.timeout_s : DEFAULT_TIMEOUT_S;
	return c;
}

/* Root's share and the owner's: all slots when they are one uid, else all but a reserved part for the other. */
static unsigned int uid_share(unsigned int max_conns, uid_t owner)
{
	if (owner == 0 || max_conns < 2)
		return max_conns;
	return max_conns - (unsigned int)max_u64(1, max_conns / RESERVE_DIVISOR);
}

int api_server_open(struct api_server **out, const struct api_config *config, const struct api_backend *be)
{
	struct api_config cfg = with_defaults(config);
	struct api_server *srv;
	int rc;

	if (!backend_complete(be) || (!cfg.vsock_port && !*cfg.sock_path) || cfg.vsock_port == UINT_MAX)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv || (!cfg.vsock_port && !(srv->path = strdup(cfg.sock_path)))) {
		free(srv);
		return -ENOMEM;
	}
	srv->be = *be;
	srv->uid = cfg.uid;
	srv->peer_cid = cfg.vsock_peer_cid ? cfg.vsock_peer_cid : 2;
	srv->max_body = cfg.max_body_bytes;
	srv->max_head = cfg.conn_memory_bytes;
	srv->max_conns = cfg.max_connections;
	srv->uid_share = uid_share(cfg.max_connections, cfg.uid);
	srv->timeout_ms = (uint64_t)cfg.timeout_s * 1000;
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epoll_fd < 0) {
		rc = -errno;
		goto fail;
	}
	srv->listen_fd = cfg.vsock_port ? listen_vsock(cfg.vsock_port, (int)min_u64(cfg.max_connections, INT_MAX))
		: listen_owned(srv->path, cfg.uid, cfg.has_gid, cfg.gid, (int)min_u64(cfg.max_connections, INT_MAX),
			       &srv->id);
	if (srv->listen_fd < 0) {
		rc = srv->listen_fd;
		close(srv->epoll_fd);
		goto fail;
	}
	set_listening(srv, true);
	if (!srv->listening) {
		rc = -EIO;
		close(srv->listen_fd);
		close(srv->epoll_fd);
		if (srv->path)
			listen_remove(srv->path, &srv->id);
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	free(srv->path);
	free(srv);
	return rc;
}

void api_server_close(struct api_server *srv)
{
	if (!srv)
		return;
	while (srv->head)
		conn_close(srv, srv->head);
	reap(srv);
	close(srv->listen_fd);
	close(srv->epoll_fd);
	if (srv->path)
		listen_remove(srv->path, &srv->id);
	free(srv->path);
	free(srv);
}
