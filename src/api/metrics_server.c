#include "api/metrics_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http_req.h"
#include "api/metrics.h"
#include "api/route.h"
#include "common/clock.h"
#include "common/log.h"

#define MAX_HEAD (8 * 1024)
#define IN_CAP 4096

struct mconn {
	int fd;                 /* -1: a free slot */
	uint64_t deadline_ms;
	struct http_req req;
	char *out;              /* the answer: out[off..len) still to send */
	size_t off, len;
};

struct metrics_server {
	struct api_backend be;
	int listen_fd, epoll_fd;
	bool listening;
	bool paused;            /* accept failed (out of fds): not listening until the next run */
	unsigned int n;
	struct mconn conns[METRICS_SERVER_MAX_CONNECTIONS];
};

static void set_listening(struct metrics_server *srv, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (on != srv->listening && !epoll_ctl(srv->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, srv->listen_fd, &ev))
		srv->listening = on;
}

static void conn_close(struct metrics_server *srv, struct mconn *c)
{
	close(c->fd);
	c->fd = -1;
	http_req_free(&c->req);
	free(c->out);
	c->out = NULL;
	srv->n--;
	if (!srv->paused)
		set_listening(srv, true);
}

/* The whole answer, head and body, in c->out; every answer closes the connection. */
static int answer(struct mconn *c, unsigned int status, const char *reason, const char *extra, const char *type,
		  const char *body, bool with_body)
{
	size_t blen = strlen(body);
	FILE *f = open_memstream(&c->out, &c->len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
		reason, type, blen, extra);
	if (with_body)
		fwrite(body, 1, blen, f);
	return fclose(f) ? -ENOMEM : 0;
}

static int on_request(struct metrics_server *srv, struct mconn *c)
{
	const struct http_req *q = &c->req;
	bool head = !strcmp(q->method, "HEAD");
	char err[API_ERR_LEN], *text;
	int rc;

	if (strcmp(q->path, "/metrics"))
		return answer(c, 404, "Not Found", "", "text/plain", "only /metrics is served here\n", !head);
	if (strcmp(q->method, "GET") && !head)
		return answer(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", "text/plain",
			      "/metrics is read-only: GET or HEAD\n", true);
	if (q->has_query || http_req_has_body(q))
		return answer(c, 400, "Bad Request", "", "text/plain", "GET /metrics takes no query and no body\n", !head);
	if (metrics_from_backend(&srv->be, &text, err, sizeof(err))) {
		strcat(err, "\n");
		return answer(c, 500, "Internal Server Error", "", "text/plain", err, !head);
	}
	rc = answer(c, 200, "OK", "", ROUTE_METRICS, text, !head);
	free(text);
	return rc;
}

/* Sends what is left of the answer: 1 when it is all out, 0 when the socket is full, -errno. */
static int flush(struct mconn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EINTR ? 0 : errno == EAGAIN ? 0 : -errno;
		c->off += (size_t)n;
	}
	return 1;
}

/* Reads and parses until the request is complete, then answers. 1: answered (or to close), 0: wait for more. */
static int read_request(struct metrics_server *srv, struct mconn *c)
{
	char buf[IN_CAP];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t used = 0, off = 0;
	enum http_req_event ev = HTTP_REQ_MORE;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	while (off < (size_t)n || ev == HTTP_REQ_HEAD) {
		ev = http_req_feed(&c->req, buf + off, (size_t)n - off, &used);
		off += used;
		if (ev == HTTP_REQ_DONE)
			return on_request(srv, c) ? -ENOMEM : 1;
		if (ev == HTTP_REQ_ERROR)
			return c->req.status && !answer(c, c->req.status, c->req.status == 400 ? "Bad Request" : "Error", "",
							 "text/plain", "bad request\n", true) ? 1 : -EPROTO;
		if (ev == HTTP_REQ_MORE)
			break;
	}
	return 0;
}

static void conn_event(struct metrics_server *srv, struct mconn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int rc = c->out ? 1 : read_request(srv, c);

	if (rc > 0 && (rc = flush(c)) == 1) {
		shutdown(c->fd, SHUT_WR);
		rc = -ECONNRESET; /* answered: done */
	}
	if (rc < 0)
		conn_close(srv, c);
	else if (c->out && epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev))
		conn_close(srv, c);
}

static void accept_all(struct metrics_server *srv)
{
	while (srv->n < METRICS_SERVER_MAX_CONNECTIONS) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct mconn *c = srv->conns;
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			/* Out of fds: retried at the next run (a tick) instead of spinning on the readable socket. */
			if (errno != EAGAIN) {
				log_warn("metrics: accept: %s", strerror(errno));
				srv->paused = true;
				set_listening(srv, false);
			}
			return;
		}
		while (c->fd >= 0)
			c++;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->deadline_ms = clock_ms() + METRICS_SERVER_TIMEOUT_S * 1000u;
		c->off = c->len = 0;
		http_req_init(&c->req, MAX_HEAD, 1);
		srv->n++;
	}
	/* Full: newcomers wait in the backlog until a slot frees. */
	set_listening(srv, false);
}

void metrics_server_run(struct metrics_server *srv)
{
	struct epoll_event ev[METRICS_SERVER_MAX_CONNECTIONS + 1];
	uint64_t now;
	int n;

	if (srv->paused) {
		srv->paused = false;
		set_listening(srv, srv->n < METRICS_SERVER_MAX_CONNECTIONS);
	}
	n = epoll_wait(srv->epoll_fd, ev, METRICS_SERVER_MAX_CONNECTIONS + 1, 0);
	for (int i = 0; i < n; i++) {
		if (!ev[i].data.ptr)
			accept_all(srv);
		else if (((struct mconn *)ev[i].data.ptr)->fd >= 0)
			conn_event(srv, ev[i].data.ptr);
	}
	now = clock_ms();
	for (unsigned int i = 0; i < METRICS_SERVER_MAX_CONNECTIONS; i++)
		if (srv->conns[i].fd >= 0 && now >= srv->conns[i].deadline_ms)
			conn_close(srv, &srv->conns[i]);
}

int metrics_server_fd(const struct metrics_server *srv) { return srv->epoll_fd; }

int metrics_server_open(struct metrics_server **out, int listen_fd, const struct api_backend *be)
{
	struct metrics_server *srv;

	if (listen_fd < 0 || !be || !be->get_status || !be->get_balloon || !be->get_stats)
		return -EINVAL;
	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	srv->be = *be;
	srv->listen_fd = listen_fd;
	for (unsigned int i = 0; i < METRICS_SERVER_MAX_CONNECTIONS; i++)
		srv->conns[i].fd = -1;
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epoll_fd >= 0)
		set_listening(srv, true);
	if (!srv->listening) {
		int rc = srv->epoll_fd < 0 ? -errno : -EIO;

		if (srv->epoll_fd >= 0)
			close(srv->epoll_fd);
		free(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

void metrics_server_close(struct metrics_server *srv)
{
	if (!srv)
		return;
	for (unsigned int i = 0; i < METRICS_SERVER_MAX_CONNECTIONS; i++)
		if (srv->conns[i].fd >= 0)
			conn_close(srv, &srv->conns[i]);
	close(srv->listen_fd);
	close(srv->epoll_fd);
	free(srv);
}
