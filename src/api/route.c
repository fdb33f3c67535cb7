#include "api/route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/metrics.h"
#include "api/request.h"
#include "api/response.h"
#include "api/text.h"

/* A handler fills r and returns 0, or returns a negative errno with the reason in err (empty: strerror). */
typedef int (*handler_fn)(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
			  char *err, size_t err_len);

static int reply_body(struct route_reply *r, const char *type, char *body)
{
	if (!body)
		return -ENOMEM;
	r->status = 200;
	r->content_type = type;
	r->body = body;
	r->len = strlen(body);
	return 0;
}

static int reply_empty(struct route_reply *r)
{
	r->status = 204;
	return 0;
}

static int get_balloon(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		       char *err, size_t err_len)
{
	struct api_balloon b = { 0 };
	int rc = be->get_balloon(be->ctx, &b, err, err_len);

	return rc ? rc : reply_body(r, ROUTE_JSON, response_balloon(&b));
}

static int put_balloon(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		       char *err, size_t err_len)
{
	struct api_balloon b;
	int rc = request_parse_balloon_put(body, len, &b, err, err_len);

	if (!rc)
		rc = be->put_balloon(be->ctx, &b, err, err_len);
	return rc ? rc : reply_empty(r);
}

static int patch_balloon(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
			 char *err, size_t err_len)
{
	uint32_t amount_mib;
	int rc = request_parse_balloon_patch(body, len, &amount_mib, err, err_len);

	if (!rc)
		rc = be->patch_balloon(be->ctx, amount_mib, err, err_len);
	return rc ? rc : reply_empty(r);
}

/* Fills *s, or fails like Firecracker when statistics are off. */
static int read_stats(const struct api_backend *be, struct api_balloon_stats *s, char *err, size_t err_len)
{
	struct api_balloon b = { 0 };
	int rc = be->get_balloon(be->ctx, &b, err, err_len);

	if (rc)
		return rc;
	if (!b.stats_polling_interval_s) {
		snprintf(err, err_len, "statistics are disabled: set a non-zero stats_polling_interval_s first");
		return -EINVAL;
	}
	return be->get_stats(be->ctx, s, err, err_len);
}

static int get_stats(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		     char *err, size_t err_len)
{
	struct api_balloon_stats s = { 0 };
	int rc = read_stats(be, &s, err, err_len);

	return rc ? rc : reply_body(r, ROUTE_JSON, response_stats(&s));
}

static int patch_stats(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		       char *err, size_t err_len)
{
	uint16_t interval_s;
	int rc = request_parse_stats_patch(body, len, &interval_s, err, err_len);

	if (!rc)
		rc = be->set_stats_interval(be->ctx, interval_s, err, err_len);
	return rc ? rc : reply_empty(r);
}

static int get_targets(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		       char *err, size_t err_len)
{
	struct api_targets t = { 0 };
	int rc = be->get_targets(be->ctx, &t, err, err_len);

	return rc ? rc : reply_body(r, ROUTE_JSON, response_targets(&t));
}

static int patch_targets(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
			 char *err, size_t err_len)
{
	struct api_targets t = { 0 };
	unsigned int mask;
	int rc = request_parse_targets_patch(body, len, &t, &mask, err, err_len);

	if (!rc)
		rc = be->patch_targets(be->ctx, &t, mask, err, err_len);
	return rc ? rc : reply_empty(r);
}

static int get_status(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		      char *err, size_t err_len)
{
	struct api_status st = { 0 };
	int rc = be->get_status(be->ctx, &st, err, err_len);

	return rc ? rc : reply_body(r, ROUTE_JSON, response_status(&st));
}

static int get_metrics(const struct api_backend *be, const char *body, size_t len, struct route_reply *r,
		       char *err, size_t err_len)
{
	struct api_status st = { 0 };
	struct api_balloon b = { 0 };
	struct api_balloon_stats s = { 0 };
	int rc = be->get_status(be->ctx, &st, err, err_len);

	if (!rc)
		rc = be->get_balloon(be->ctx, &b, err, err_len);
	if (!rc && b.stats_polling_interval_s)
		rc = be->get_stats(be->ctx, &s, err, err_len);
	if (rc)
		return rc;
	return reply_body(r, ROUTE_METRICS, metrics_format(&st, b.stats_polling_interval_s ? &s : NULL));
}

static const struct route {
	const char *path;
	const char *method;
	handler_fn fn;
} routes[] = {
	{ "/balloon", "GET", get_balloon },
	{ "/balloon", "PUT", put_balloon },
	{ "/balloon", "PATCH", patch_balloon },
	{ "/balloon/statistics", "GET", get_stats },
	{ "/balloon/statistics", "PATCH", patch_stats },
	{ "/usbd/targets", "GET", get_targets },
	{ "/usbd/targets", "PATCH", patch_targets },
	{ "/usbd/status", "GET", get_status },
	{ "/metrics", "GET", get_metrics },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

int route_fault(struct route_reply *r, unsigned int status, const char *msg)
{
	r->status = status;
	r->content_type = ROUTE_JSON;
	r->body = response_fault(msg);
	r->len = r->body ? strlen(r->body) : 0;
	return r->body ? 0 : -ENOMEM;
}

/* "unknown path '/x'" or "method DELETE is not allowed on /balloon (allowed: GET, PUT, PATCH)". */
static int refuse_route(struct route_reply *r, const char *method, const char *path, bool path_known)
{
	char msg[API_ERR_LEN], qpath[TEXT_QUOTE_LEN], qmethod[TEXT_QUOTE_LEN];
	const char *sep = "";
	size_t n;

	text_printable(qpath, sizeof(qpath), path);
	if (!path_known) {
		snprintf(msg, sizeof(msg), "unknown path '%s'", qpath);
		return route_fault(r, 400, msg);
	}
	/* The known paths and methods are short: msg always has room for the whole list. */
	n = (size_t)snprintf(msg, sizeof(msg), "method %s is not allowed on %s (allowed: ",
			     text_printable(qmethod, sizeof(qmethod), method), qpath);
	for (size_t i = 0; i < N_ROUTES; i++) {
		if (strcmp(routes[i].path, path))
			continue;
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", sep, routes[i].method);
		sep = ", ";
	}
	snprintf(msg + n, sizeof(msg) - n, ")");
	return route_fault(r, 400, msg);
}

int route_request(const struct api_backend *be, const char *method, const char *path, const char *body, size_t len,
		  struct route_reply *r)
{
	const struct route *found = NULL;
	char err[API_ERR_LEN] = "", msg[API_ERR_LEN];
	bool path_known = false;
	int rc;

	*r = (struct route_reply){ 0 };
	for (size_t i = 0; i < N_ROUTES && !found; i++) {
		if (strcmp(routes[i].path, path))
			continue;
		path_known = true;
		if (!strcmp(routes[i].method, method))
			found = &routes[i];
	}
	if (!found)
		return refuse_route(r, method, path, path_known);
	if (!strcmp(method, "GET") && len) {
		snprintf(msg, sizeof(msg), "GET %s takes no request body", found->path);
		return route_fault(r, 400, msg);
	}
	rc = found->fn(be, body, len, r, err, sizeof(err));
	if (!rc)
		return 0;
	if (!err[0])
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	return route_fault(r, 400, text_printable(msg, sizeof(msg), err));
}
