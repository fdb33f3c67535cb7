#include "api/api.h"

#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/route.h"
#include "api/sock.h"
#include "common/log.h"
#include "common/size.h"

#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_MAX_BODY (64 * 1024)
#define DEFAULT_CONN_MEMORY (32 * 1024)
#define DEFAULT_TIMEOUT_S 5
#define POLL_PERIOD_MS 1000

struct api_server {
	struct MHD_Daemon *mhd;
	struct api_backend be;
	char *path;
	struct stat id;		/* the socket file we created, so close never removes another server's */
	uid_t uid;
	size_t max_body;
	int epoll_fd;
};

/* One request's body, collected across the access handler's calls. */
struct request {
	char *body;
	size_t len;
	size_t cap;
	bool too_big;		/* the body outgrew max_body: the rest is discarded, then 413 */
	size_t dropped;		/* bytes discarded since */
};

/*
 * A body over the limit is still read (and thrown away) up to this many times the limit before the 413 is sent:
 * a client that is still sending when the server answers and closes gets EPIPE and never sees the answer.
 * Beyond it, the connection is dropped.
 */
#define DRAIN_FACTOR 16

static enum MHD_Result send_reply(struct MHD_Connection *c, struct route_reply *r, bool close_after)
{
	struct MHD_Response *resp = r->body
		? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
		: MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	if ((r->content_type &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) != MHD_YES) ||
	    (close_after && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ok = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* Answers status with a fault_message and closes the connection: used before the body is read. */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	struct route_reply r;

	if (route_fault(&r, status, msg))
		return MHD_NO;
	return send_reply(c, &r, true);
}

/* Returns 0 if the peer may use the API, else -EACCES with the reason in msg. */
static int check_peer(const struct api_server *srv, struct MHD_Connection *c, char *msg, size_t len)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	uid_t uid;
	int rc = info ? sock_peer_uid(info->connect_fd, &uid) : -EBADF;

	if (rc) {
		snprintf(msg, len, "permission denied: cannot read the peer's credentials: %s", strerror(-rc));
		return -EACCES;
	}
	if (uid != srv->uid && uid != 0) {
		snprintf(msg, len, "permission denied: uid %u may not use this socket", (unsigned int)uid);
		return -EACCES;
	}
	return 0;
}

/*
 * What to do with a request's announced body (a chunked body is caught while it arrives instead): 0 read it,
 * 1 over max but small enough to drain and then answer 413, -1 answer 413 now (too large to drain, or the client
 * waits for "100 Continue" and so sends nothing more).
 */
static int announced_too_big(struct MHD_Connection *c, size_t max)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	char *end;
	unsigned long long n;

	if (!cl)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (end == cl || (n <= max && errno != ERANGE))
		return 0;
	return errno != ERANGE && n / DRAIN_FACTOR <= max && !expect ? 1 : -1;
}

static void too_big_message(char *msg, size_t len, size_t max)
{
	snprintf(msg, len, "request body is larger than the limit of %zu bytes", max);
}

/*
 * Appends data to rq->body, growing it no further than max; past max, marks the request and drops the data, up to
 * DRAIN_FACTOR * max bytes (then -E2BIG).
 */
static int append(struct request *rq, const char *data, size_t n, size_t max)
{
	size_t cap;
	char *p;

	if (rq->too_big || n > max - rq->len) {
		rq->too_big = true;
		rq->dropped += n;
		return rq->dropped / DRAIN_FACTOR > max ? -E2BIG : 0;
	}
	if (rq->len + n > rq->cap) {
		cap = min_u64(max_u64(rq->cap * 2, max_u64(rq->len + n, 1024)), max);
		p = realloc(rq->body, cap);
		if (!p)
			return -ENOMEM;
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_len, void **req_cls)
{
	struct api_server *srv = cls;
	struct request *rq = *req_cls;
	struct route_reply r;
	char msg[API_ERR_LEN];
	int announced;

	if (!rq) {
		/* First call, headers only: check who is asking and the announced size before reading any body. */
		if (check_peer(srv, c, msg, sizeof(msg)))
			return refuse(c, MHD_HTTP_FORBIDDEN, msg);
		/* Strict like the bodies: a query string would be silently ignored, so refuse it instead. */
		if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
			return refuse(c, MHD_HTTP_BAD_REQUEST, "query strings are not supported");
		announced = announced_too_big(c, srv->max_body);
		if (announced < 0) {
			too_big_message(msg, sizeof(msg), srv->max_body);
			return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
		}
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->too_big = announced > 0;
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_len) {
		if (append(rq, upload, *upload_len, srv->max_body))
			return MHD_NO;
		*upload_len = 0;
		return MHD_YES;
	}
	if (rq->too_big) {
		too_big_message(msg, sizeof(msg), srv->max_body);
		return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
	}
	if (route_request(&srv->be, method, url, rq->body ? rq->body : "", rq->len, &r))
		return MHD_NO;
	return send_reply(c, &r, false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode code)
{
	struct request *rq = *req_cls;

	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	/* Mostly clients misbehaving (closing mid-request): not worth a warning; real failures reach our callers. */
	log_debug("api: %s", line);
}

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

static int start_daemon(struct api_server *srv, int fd, const struct api_config *cfg)
{
	const union MHD_DaemonInfo *info;

	/* No internal thread: the controller's epoll loop drives MHD through its epoll fd. */
	srv->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, srv,
				    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd,
				    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
				    cfg->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory_bytes,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
	if (!srv->mhd)
		return -EIO;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		MHD_stop_daemon(srv->mhd);
		return -EIO;
	}
	srv->epoll_fd = info->epoll_fd;
	return 0;
}

int api_server_open(struct api_server **out, const struct api_config *config, const struct api_backend *be)
{
	struct api_config cfg = with_defaults(config);
	struct api_server *srv;
	int fd, rc;

	if (!backend_complete(be) || !*cfg.sock_path)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->path = strdup(cfg.sock_path))) {
		free(srv);
		return -ENOMEM;
	}
	srv->be = *be;
	srv->uid = cfg.uid;
	srv->max_body = cfg.max_body_bytes;
	fd = sock_listen(srv->path, cfg.uid, cfg.has_gid, cfg.gid, (int)min_u64(cfg.max_connections, INT_MAX),
			 &srv->id);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	rc = start_daemon(srv, fd, &cfg);
	if (rc) {
		/* MHD closes the listening socket only once it has started. */
		close(fd);
		sock_remove(srv->path, &srv->id);
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	free(srv->path);
	free(srv);
	return rc;
}

int api_server_fd(const struct api_server *srv) { return srv->epoll_fd; }

void api_server_run(struct api_server *srv)
{
	if (MHD_run(srv->mhd) != MHD_YES)
		log_err("api: MHD_run failed");
}

int api_server_timeout_ms(struct api_server *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;

	/*
	 * At its connection limit, libmicrohttpd 0.9.75 in external epoll mode may leave closed connections and the
	 * listening socket unserviced until it runs again (seen in tests): never let it wait longer than a poll period.
	 */
	if (MHD_get_timeout(srv->mhd, &ms) != MHD_YES || ms > POLL_PERIOD_MS)
		return POLL_PERIOD_MS;
	return (int)ms;
}

void api_server_close(struct api_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	sock_remove(srv->path, &srv->id);
	free(srv->path);
	free(srv);
}
