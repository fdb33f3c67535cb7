/*
 * route: Firecracker's routing (v1.16.1, src/firecracker/src/api_server/parsed_request.rs and request/balloon.rs)
 * and its answers for a running microVM's balloon (src/vmm/src/rpc_interface.rs RuntimeApiController, lib.rs,
 * devices/virtio/balloon), plus usbd's own /usbd/targets, /usbd/status and /metrics under the same rules.
 * The path is split like Firecracker's: leading slashes trimmed, split on '/', one trailing empty piece dropped;
 * "body" means a non-empty one (micro_http has no body for Content-Length 0).
 */
#include "api/route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/metrics.h"
#include "api/request.h"
#include "api/response.h"
#include "api/text.h"

/* Firecracker's texts (VmmActionError, VmmError and BalloonError displays, joined as they nest). */
#define FC_NO_DEVICE "Failed perform action on device: Device not found"
#define FC_INTERNAL "Internal VMM error: "
#define FC_UPDATE "Balloon update error: "
#define FC_TOO_LARGE_PUT "Balloon config error: Amount of pages requested is too large."
#define FC_TOO_LARGE_PATCH FC_UPDATE "Balloon: Requested memory should be less than %uMiB"
#define FC_STATS_DISABLED FC_INTERNAL "Balloon: Received stats query when stats are disabled."
#define FC_STATS_STATE FC_UPDATE "Balloon: Statistics cannot be enabled/disabled after activation."
#define FC_NO_HINTING FC_UPDATE "Balloon: Attempting to use hinting when not enabled"

/* At most this many path pieces matter to routing; deeper ones are ignored, as Firecracker ignores them. */
#define MAX_TOKENS 4

struct path {
	const char *tok[MAX_TOKENS];
	size_t len[MAX_TOKENS];
	int n;
};

/* One request as the handlers see it. */
struct req {
	const struct api_backend *be;
	const char *method;
	struct path p;
	const char *body;
	size_t len;
	struct route_reply *r;
};

static void split_path(const char *path, struct path *p)
{
	const char *s = path + strspn(path, "/");

	p->n = 0;
	while (*s && p->n < MAX_TOKENS) {
		size_t n = strcspn(s, "/");

		p->tok[p->n] = s;
		p->len[p->n++] = n;
		s += n;
		if (*s == '/')
			s++;
		/* A piece after the last '/' that is empty is the trailing one split_terminator drops. */
		if (!*s)
			break;
	}
}

static bool tok_is(const struct path *p, int i, const char *word)
{
	return i < p->n && p->len[i] == strlen(word) && !memcmp(p->tok[i], word, p->len[i]);
}

/* Piece i, printable and cut for a message ("" when absent). */
static const char *tok_text(const struct path *p, int i, char *dst, size_t len)
{
	char raw[TEXT_QUOTE_LEN * 2];
	size_t n = i < p->n ? p->len[i] : 0;

	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	memcpy(raw, i < p->n ? p->tok[i] : "", n);
	raw[n] = '\0';
	return text_printable(dst, len, raw);
}

int route_fault(struct route_reply *r, unsigned int status, const char *msg)
{
	r->status = status;
	r->content_type = ROUTE_JSON;
	r->body = response_fault(msg);
	r->len = r->body ? strlen(r->body) : 0;
	return r->body ? 0 : -ENOMEM;
}

static int fault(struct req *q, const char *msg)
{
	char safe[API_ERR_LEN];

	return route_fault(q->r, 400, text_printable(safe, sizeof(safe), msg));
}

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

/* A backend failure: Firecracker's text for a missing balloon (after prefix), else the backend's reason. */
static int backend_fault(struct req *q, int rc, const char *prefix, const char *err)
{
	char msg[API_ERR_LEN];

	if (rc == -ENODEV)
		snprintf(msg, sizeof(msg), "%s" FC_NO_DEVICE, prefix);
	else
		snprintf(msg, sizeof(msg), "%s", err[0] ? err : strerror(-rc));
	return fault(q, msg);
}

/* Firecracker's "Invalid request method and/or path: GET nope." names the method and the first piece. */
static int invalid_path(struct req *q)
{
	char msg[API_ERR_LEN], first[TEXT_QUOTE_LEN];

	snprintf(msg, sizeof(msg), "Invalid request method and/or path: %s %s.", q->method,
		 tok_text(&q->p, 0, first, sizeof(first)));
	return fault(q, msg);
}

/* "Unrecognized GET request path `x`." / "... `/hinting/x`." with piece i (absent: empty). */
static int unrecognized(struct req *q, const char *under, int i)
{
	char msg[API_ERR_LEN], piece[TEXT_QUOTE_LEN];

	snprintf(msg, sizeof(msg), "Unrecognized %s request path `%s%s`.", q->method, under,
		 tok_text(&q->p, i, piece, sizeof(piece)));
	return fault(q, msg);
}

/* The balloon's configuration; on failure the reply is already made (prefix: the failing action's). */
static int read_balloon(struct req *q, struct api_balloon *b, const char *prefix, bool *done)
{
	char err[API_ERR_LEN] = "";
	int rc = q->be->get_balloon(q->be->ctx, b, err, sizeof(err));

	*done = rc != 0;
	return rc ? backend_fault(q, rc, prefix, err) : 0;
}

static int get_balloon(struct req *q)
{
	struct api_balloon b = { 0 };
	bool done;
	int rc = read_balloon(q, &b, FC_INTERNAL, &done);

	return done ? rc : reply_body(q->r, ROUTE_JSON, response_balloon(&b));
}

static int get_stats(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_balloon b = { 0 };
	struct api_balloon_stats s = { 0 };
	bool done;
	int rc = read_balloon(q, &b, FC_INTERNAL, &done);

	if (done)
		return rc;
	if (!b.stats_polling_interval_s)
		return fault(q, FC_STATS_DISABLED);
	if ((rc = q->be->get_stats(q->be->ctx, &s, err, sizeof(err))))
		return backend_fault(q, rc, FC_INTERNAL, err);
	return reply_body(q->r, ROUTE_JSON, response_stats(&s));
}

/* Hinting needs a guest driver; usbd's balloon never has one, so an existing balloon refuses every call. */
static int hinting(struct req *q)
{
	struct api_balloon b = { 0 };
	bool done;
	int rc = read_balloon(q, &b, FC_UPDATE, &done);

	return done ? rc : fault(q, FC_NO_HINTING);
}

static int put_balloon(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_balloon b;
	int rc = request_parse_balloon_put(q->body, q->len, &b, err, sizeof(err));

	if (rc)
		return fault(q, err);
	if (b.free_page_hinting)
		return fault(q, "free_page_hinting is not supported: usbd's balloon is a process holding memory, there "
				"is no guest driver to hint free pages");
	if (b.free_page_reporting)
		return fault(q, "free_page_reporting is not supported: usbd's balloon is a process holding memory, "
				"there is no guest driver to report free pages");
	rc = q->be->put_balloon(q->be->ctx, &b, err, sizeof(err));
	if (rc == -E2BIG)
		return fault(q, FC_TOO_LARGE_PUT);
	return rc ? backend_fault(q, rc, "", err) : reply_empty(q->r);
}

static int patch_balloon(struct req *q)
{
	char err[API_ERR_LEN] = "", msg[API_ERR_LEN];
	uint32_t amount_mib;
	int rc = request_parse_balloon_patch(q->body, q->len, &amount_mib, err, sizeof(err));

	if (rc)
		return fault(q, err);
	rc = q->be->patch_balloon(q->be->ctx, amount_mib, err, sizeof(err));
	if (rc == -E2BIG) {
		snprintf(msg, sizeof(msg), FC_TOO_LARGE_PATCH, amount_mib);
		return fault(q, msg);
	}
	return rc ? backend_fault(q, rc, FC_UPDATE, err) : reply_empty(q->r);
}

static int patch_stats(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_balloon b = { 0 };
	uint16_t interval_s;
	bool done;
	int rc = request_parse_stats_patch(q->body, q->len, &interval_s, err, sizeof(err));

	if (rc)
		return fault(q, err);
	if ((rc = read_balloon(q, &b, FC_UPDATE, &done)), done)
		return rc;
	if (interval_s == b.stats_polling_interval_s)
		return reply_empty(q->r);
	if (!interval_s || !b.stats_polling_interval_s)
		return fault(q, FC_STATS_STATE);
	rc = q->be->set_stats_interval(q->be->ctx, interval_s, err, sizeof(err));
	return rc ? backend_fault(q, rc, FC_UPDATE, err) : reply_empty(q->r);
}

static int patch_hinting(struct req *q)
{
	char err[API_ERR_LEN] = "";
	bool ack;

	if (tok_is(&q->p, 2, "start")) {
		if (q->len && request_parse_hinting_start(q->body, q->len, &ack, err, sizeof(err)))
			return fault(q, err);
		return hinting(q);
	}
	if (tok_is(&q->p, 2, "stop"))
		return hinting(q);
	return unrecognized(q, "/hinting/", 2);
}

static int get_targets(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_targets t = { 0 };
	int rc = q->be->get_targets(q->be->ctx, &t, err, sizeof(err));

	return rc ? backend_fault(q, rc, "", err) : reply_body(q->r, ROUTE_JSON, response_targets(&t));
}

static int patch_targets(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_targets t = { 0 };
	unsigned int mask;
	int rc = request_parse_targets_patch(q->body, q->len, &t, &mask, err, sizeof(err));

	if (rc)
		return fault(q, err);
	rc = q->be->patch_targets(q->be->ctx, &t, mask, err, sizeof(err));
	return rc ? backend_fault(q, rc, "", err) : reply_empty(q->r);
}

static int get_status(struct req *q)
{
	char err[API_ERR_LEN] = "";
	struct api_status st = { 0 };
	int rc = q->be->get_status(q->be->ctx, &st, err, sizeof(err));

	return rc ? backend_fault(q, rc, "", err) : reply_body(q->r, ROUTE_JSON, response_status(&st));
}

/* Statistics appear only while they are on; a balloon that does not exist has none. */
static int get_metrics(struct req *q)
{
	char err[API_ERR_LEN] = "", *text = NULL;
	int rc = metrics_from_backend(q->be, &text, err, sizeof(err));

	return rc ? backend_fault(q, rc, "", err) : reply_body(q->r, ROUTE_METRICS, text);
}

/* /usbd/spot/tenants[/NAME]: the tenants of spot memory. */
static int tenants(struct req *q)
{
	char err[API_ERR_LEN] = "", name[API_TENANT_NAME_LEN];
	struct api_tenant list[API_TENANTS_MAX], t = { 0 };
	size_t n = 0;
	int rc;

	if (!q->be->list_tenants || !q->be->put_tenant || !q->be->del_tenant)
		return fault(q, "spot memory has no tenants here");
	if (!strcmp(q->method, "GET")) {
		if (q->p.n > 3)
			return invalid_path(q);
		rc = q->be->list_tenants(q->be->ctx, list, &n, err, sizeof(err));
		return rc ? backend_fault(q, rc, "", err) : reply_body(q->r, ROUTE_JSON, response_tenants(list, n));
	}
	if (q->p.n != 4)
		return invalid_path(q);
	if (q->p.len[3] >= sizeof(name))
		return fault(q, "a tenant name is at most 63 bytes");
	memcpy(name, q->p.tok[3], q->p.len[3]);
	name[q->p.len[3]] = '\0';
	if (!strcmp(q->method, "DELETE")) {
		if (q->len)
			return fault(q, "Empty Delete request.");
		rc = q->be->del_tenant(q->be->ctx, name, err, sizeof(err));
		return rc ? backend_fault(q, rc, "", err) : reply_empty(q->r);
	}
	if (!q->len)
		return fault(q, "Empty PUT request.");
	rc = request_parse_tenant_put(q->body, q->len, &t, err, sizeof(err));
	if (!rc) {
		memcpy(t.name, name, sizeof(t.name));
		rc = q->be->put_tenant(q->be->ctx, &t, err, sizeof(err));
		rc = rc ? backend_fault(q, rc, "", err) : reply_empty(q->r);
	} else {
		rc = fault(q, err);
	}
	explicit_bzero(&t, sizeof(t));
	return rc;
}

static bool is_tenants(const struct req *q)
{
	return tok_is(&q->p, 0, "usbd") && tok_is(&q->p, 1, "spot") && tok_is(&q->p, 2, "tenants");
}

/* parse_get_balloon and parse_get_hinting. */
static int route_get_balloon(struct req *q)
{
	if (q->p.n < 2)
		return get_balloon(q);
	if (tok_is(&q->p, 1, "statistics"))
		return get_stats(q);
	if (!tok_is(&q->p, 1, "hinting"))
		return unrecognized(q, "", 1);
	return tok_is(&q->p, 2, "status") ? hinting(q) : unrecognized(q, "/hinting/", 2);
}

/* parse_patch_balloon: statistics need a body; hinting takes one or none; any other path with a body updates. */
static int route_patch_balloon(struct req *q)
{
	if (tok_is(&q->p, 1, "statistics") && q->len)
		return patch_stats(q);
	if (tok_is(&q->p, 1, "hinting"))
		return patch_hinting(q);
	return q->len ? patch_balloon(q) : fault(q, "Empty PATCH request.");
}

static int route_get(struct req *q)
{
	if (q->len)
		return fault(q, "GET request cannot have a body.");
	if (tok_is(&q->p, 0, "balloon"))
		return route_get_balloon(q);
	if (tok_is(&q->p, 0, "usbd") && tok_is(&q->p, 1, "targets"))
		return get_targets(q);
	if (tok_is(&q->p, 0, "usbd") && tok_is(&q->p, 1, "status"))
		return get_status(q);
	if (is_tenants(q))
		return tenants(q);
	if (tok_is(&q->p, 0, "metrics"))
		return get_metrics(q);
	return invalid_path(q);
}

static int route_put(struct req *q)
{
	if (tok_is(&q->p, 0, "balloon") && q->len)
		return put_balloon(q);
	if (is_tenants(q))
		return tenants(q);
	return q->len ? invalid_path(q) : fault(q, "Empty PUT request.");
}

static int route_patch(struct req *q)
{
	if (tok_is(&q->p, 0, "balloon"))
		return route_patch_balloon(q);
	if (tok_is(&q->p, 0, "usbd") && tok_is(&q->p, 1, "targets") && q->len)
		return patch_targets(q);
	return q->len ? invalid_path(q) : fault(q, "Empty PATCH request.");
}

/* usbd's one DELETE is a tenant's; Firecracker's text for a DELETE with a body is kept. */
static int route_delete(struct req *q)
{
	if (is_tenants(q))
		return tenants(q);
	return q->len ? fault(q, "Empty Delete request.") : invalid_path(q);
}

int route_request(const struct api_backend *be, const char *method, const char *path, const char *body, size_t len,
		  struct route_reply *r)
{
	struct req q = { .be = be, .method = method, .body = body, .len = len, .r = r };

	*r = (struct route_reply){ 0 };
	split_path(path, &q.p);
	if (!strcmp(method, "GET"))
		return route_get(&q);
	if (!strcmp(method, "PUT"))
		return route_put(&q);
	if (!strcmp(method, "PATCH"))
		return route_patch(&q);
	if (!strcmp(method, "DELETE"))
		return route_delete(&q);
	/* micro_http's text for a method it does not parse (it answers it outside a fault_message). */
	return fault(&q, "Invalid HTTP Method: Unsupported HTTP method.");
}
