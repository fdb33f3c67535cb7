#include "api/http_req.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

#define HEAD_MIN_CAP 256
#define BODY_MIN_CAP 1024

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static enum http_req_event fail(struct http_req *r, unsigned int status, const char *why)
{
	r->state = HTTP_REQ_S_ERROR;
	r->status = status;
	r->error = why;
	return HTTP_REQ_ERROR;
}

void http_req_init(struct http_req *r, size_t max_head, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->max_head = max_head;
	r->max_body = max_body;
}

void http_req_free(struct http_req *r)
{
	free(r->head);
	free(r->body);
	r->head = r->body = NULL;
	r->head_cap = r->body_cap = 0;
}

void http_req_reset(struct http_req *r)
{
	/* Freed rather than kept: an idle keep-alive connection then holds no buffers. */
	http_req_free(r);
	http_req_init(r, r->max_head, r->max_body);
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static bool equals_ci(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(s, want, n);
}

/* Adds a digit to *v, saturating at UINT64_MAX. */
static void accumulate(uint64_t *v, unsigned int base, unsigned int digit)
{
	*v = *v > (UINT64_MAX - digit) / base ? UINT64_MAX : *v * base + digit;
}

/* Decodes %XX escapes in the NUL-terminated s in place. Returns false on a malformed escape or a %00. */
static bool percent_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		hi = hex_digit(s[1]);
		lo = hi < 0 ? -1 : hex_digit(s[2]);
		if (lo < 0 || (!hi && !lo))
			return false;
		*out++ = (char)(hi * 16 + lo);
		s += 2;
	}
	*out = '\0';
	return true;
}

/* "METHOD SP request-target SP HTTP/1.x", NUL-terminated at line[n]. */
static enum http_req_event request_line(struct http_req *r, char *line, size_t n)
{
	char *sp1 = memchr(line, ' ', n), *sp2, *target, *version, *q;

	if (!sp1 || !is_token(line, (size_t)(sp1 - line)))
		return fail(r, 400, "malformed request line");
	target = sp1 + 1;
	sp2 = strchr(target, ' ');
	if (!sp2 || sp2 == target)
		return fail(r, 400, "malformed request line");
	version = sp2 + 1;
	if (strlen(version) != 8 || memcmp(version, "HTTP/", 5) || version[6] != '.' ||
	    version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
		return fail(r, 400, "malformed request line");
	if (version[5] != '1')
		return fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
	r->minor = version[7] == '0' ? 0 : 1;
	*sp1 = *sp2 = '\0';
	for (const char *p = target; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return fail(r, 400, "malformed request target");
	/* The absolute form (RFC 9112 3.2.2) names the same path after its authority. */
	if (!strncasecmp(target, "http://", 7)) {
		target = strchr(target + 7, '/');
		if (!target)
			return fail(r, 400, "malformed request target");
	}
	if (*target != '/')
		return fail(r, 400, "malformed request target");
	q = strchr(target, '?');
	if (q) {
		r->has_query = true;
		*q = '\0';
	}
	if (!percent_decode(target))
		return fail(r, 400, "malformed percent-encoding in the request target");
	r->method_off = 0;
	r->path_off = (size_t)(target - r->head);
	r->state = HTTP_REQ_S_HEADER;
	return HTTP_REQ_MORE;
}

static enum http_req_event content_length(struct http_req *r, const char *v, size_t n)
{
	uint64_t len = 0;

	if (!n)
		return fail(r, 400, "malformed Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(r, 400, "malformed Content-Length");
		accumulate(&len, 10, (unsigned int)(v[i] - '0'));
	}
	/* Two different lengths make the message ambiguous (request smuggling's favourite). */
	if (r->has_length && r->content_length != len)
		return fail(r, 400, "conflicting Content-Length headers");
	r->has_length = true;
	r->content_length = len;
	return HTTP_REQ_MORE;
}

static void connection_options(struct http_req *r, const char *v, size_t n)
{
	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t tn = comma ? (size_t)(comma - v) : n, rest = comma ? n - tn - 1 : 0;
		const char *t = v;

		while (tn && is_ows(*t)) {
			t++;
			tn--;
		}
		while (tn && is_ows(t[tn - 1]))
			tn--;
		if (equals_ci(t, tn, "close"))
			r->conn_close = true;
		else if (equals_ci(t, tn, "keep-alive"))
			r->conn_keep_alive = true;
		v = comma ? comma + 1 : v + n;
		n = rest;
	}
}

/* "name: value", NUL-terminated at line[n]. */
static enum http_req_event header_line(struct http_req *r, char *line, size_t n)
{
	char *colon = memchr(line, ':', n);
	const char *v;
	size_t name_len, vn;

	if (is_ows(line[0]))
		return fail(r, 400, "folded header lines are not supported");
	if (!colon || !is_token(line, (size_t)(colon - line)))
		return fail(r, 400, "malformed header line");
	name_len = (size_t)(colon - line);
	v = colon + 1;
	vn = n - name_len - 1;
	while (vn && is_ows(*v)) {
		v++;
		vn--;
	}
	while (vn && is_ows(v[vn - 1]))
		vn--;
	for (size_t i = 0; i < vn; i++)
		if (((unsigned char)v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f)
			return fail(r, 400, "control character in a header value");
	if (equals_ci(line, name_len, "Content-Length"))
		return content_length(r, v, vn);
	if (equals_ci(line, name_len, "Transfer-Encoding")) {
		if (r->chunked || !equals_ci(v, vn, "chunked"))
			return fail(r, 501, "only the chunked transfer coding is supported");
		r->chunked = true;
	} else if (equals_ci(line, name_len, "Expect")) {
		if (!equals_ci(v, vn, "100-continue"))
			return fail(r, 417, "only Expect: 100-continue is supported");
		/* HTTP/1.0 clients cannot mean it (RFC 9110 10.1.1): ignored. */
		r->expect_continue = r->minor > 0;
	} else if (equals_ci(line, name_len, "Connection")) {
		connection_options(r, v, vn);
	} else if (equals_ci(line, name_len, "Host")) {
		r->hosts++;
	}
	return HTTP_REQ_MORE;
}

/* The empty line after the headers: checks the framing as a whole. */
static enum http_req_event head_complete(struct http_req *r)
{
	if (r->chunked && r->has_length)
		return fail(r, 400, "both Content-Length and Transfer-Encoding");
	if (r->chunked && !r->minor)
		return fail(r, 400, "Transfer-Encoding in an HTTP/1.0 request");
	if (r->minor && r->hosts != 1)
		return fail(r, 400, "an HTTP/1.1 request needs exactly one Host header");
	r->method = r->head + r->method_off;
	r->path = r->head + r->path_off;
	r->too_big = r->has_length && r->content_length > r->max_body;
	r->state = HTTP_REQ_S_HEAD_DONE;
	return HTTP_REQ_HEAD;
}

/* One complete head line [line_start, head_len), its LF already stripped. */
static enum http_req_event head_line(struct http_req *r)
{
	char *line = r->head + r->line_start;
	size_t n = r->head_len - r->line_start;

	if (n && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	if (memchr(line, '\r', n) || strlen(line) != n)
		return fail(r, 400, "stray CR or NUL in the request head");
	if (r->state == HTTP_REQ_S_LINE) {
		if (!n) {
			/* Empty lines before a request are ignored (RFC 9112 2.2). */
			r->head_len = r->line_start;
			return HTTP_REQ_MORE;
		}
		r->head_len++;
		r->line_start = r->head_len;
		return request_line(r, line, n);
	}
	r->head_len++;
	r->line_start = r->head_len;
	return n ? header_line(r, line, n) : head_complete(r);
}

static bool grow(char **buf, size_t *cap, size_t need, size_t min_cap, size_t max_cap)
{
	size_t c = *cap ? *cap : min_cap;
	char *p;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	c = min_sz(c, max_cap);
	p = realloc(*buf, c);
	if (!p)
		return false;
	*buf = p;
	*cap = c;
	return true;
}

static enum http_req_event feed_head(struct http_req *r, const char *data, size_t len, size_t *i)
{
	while (*i < len) {
		const char *lf = memchr(data + *i, '\n', len - *i);
		size_t n = lf ? (size_t)(lf - (data + *i)) + 1 : len - *i;
		enum http_req_event ev;

		if (n > r->max_head - r->head_seen)
			return fail(r, 431, "the request line and headers are too large");
		/* +1: room for the NUL that ends the last line. */
		if (!grow(&r->head, &r->head_cap, r->head_len + n + 1, HEAD_MIN_CAP, r->max_head + 1))
			return fail(r, 0, "out of memory");
		memcpy(r->head + r->head_len, data + *i, n);
		r->head_len += n;
		r->head_seen += n;
		*i += n;
		if (!lf)
			break;
		r->head_len--;	/* the LF */
		ev = head_line(r);
		if (ev != HTTP_REQ_MORE)
			return ev;
	}
	return HTTP_REQ_MORE;
}

/* Keeps body bytes up to max_body; past it, drops them up to the drain limit. */
static enum http_req_event body_bytes(struct http_req *r, const char *data, size_t n)
{
	r->body_seen += n;
	if (!r->too_big && n > r->max_body - r->body_len) {
		/* What was kept is dropped too: the request is only answered with 413. */
		r->too_big = true;
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_cap = 0;
	}
	if (r->too_big) {
		if (r->body_seen / HTTP_REQ_DRAIN_FACTOR > r->max_body)
			return fail(r, 0, "request body far larger than the limit");
		return HTTP_REQ_MORE;
	}
	if (!grow(&r->body, &r->body_cap, r->body_len + n + 1, BODY_MIN_CAP, r->max_body + 1))
		return fail(r, 0, "out of memory");
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return HTTP_REQ_MORE;
}

/*
 * Collects a line of chunked framing into chunk_line; returns true once it is complete (its CR/LF stripped, the
 * length in chunk_line_len), false when more bytes are needed or on an error (then r->state is S_ERROR).
 */
static bool chunk_line(struct http_req *r, const char *data, size_t len, size_t *i)
{
	while (*i < len) {
		char c = data[(*i)++];

		if (c == '\n') {
			if (r->chunk_line_len && r->chunk_line[r->chunk_line_len - 1] == '\r')
				r->chunk_line_len--;
			r->chunk_line[r->chunk_line_len] = '\0';
			return true;
		}
		if (r->chunk_line_len >= HTTP_REQ_CHUNK_LINE_MAX - 1) {
			fail(r, 400, "chunk-size line too long");
			return false;
		}
		r->chunk_line[r->chunk_line_len++] = c;
	}
	return false;
}

/* "hex-size [ *( OWS ; extension ) ]". */
static enum http_req_event chunk_size(struct http_req *r)
{
	const char *p = r->chunk_line;
	uint64_t size = 0;

	if (hex_digit(*p) < 0)
		return fail(r, 400, "malformed chunk size");
	for (; hex_digit(*p) >= 0; p++)
		accumulate(&size, 16, (unsigned int)hex_digit(*p));
	while (is_ows(*p))
		p++;
	if (*p && *p != ';')
		return fail(r, 400, "malformed chunk size");
	for (; *p; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
			return fail(r, 400, "control character in a chunk extension");
	r->chunk_line_len = 0;
	r->remaining = size;
	r->state = size ? HTTP_REQ_S_CHUNK_DATA : HTTP_REQ_S_TRAILER;
	return HTTP_REQ_MORE;
}

/* Trailer fields are skipped (bounded by max_head) up to the empty line that ends the request. */
static enum http_req_event trailer(struct http_req *r, const char *data, size_t len, size_t *i)
{
	while (*i < len) {
		char c = data[(*i)++];

		if (++r->trailer_seen > r->max_head)
			return fail(r, 431, "the trailer section is too large");
		if (c == '\n') {
			if (!r->trailer_line_len) {
				r->state = HTTP_REQ_S_DONE;
				return HTTP_REQ_DONE;
			}
			r->trailer_line_len = 0;
		} else if (c != '\r' || r->trailer_line_len) {
			/* A CR counts as content unless it is the line's first byte (then it must end the line). */
			r->trailer_line_len++;
		}
	}
	return HTTP_REQ_MORE;
}

static enum http_req_event feed_body(struct http_req *r, const char *data, size_t len, size_t *i)
{
	enum http_req_event ev = HTTP_REQ_MORE;
	size_t n;

	while (ev == HTTP_REQ_MORE) {
		switch (r->state) {
		case HTTP_REQ_S_HEAD_DONE:
			if (r->chunked) {
				r->state = HTTP_REQ_S_CHUNK_SIZE;
			} else if (r->has_length && r->content_length) {
				r->remaining = r->content_length;
				r->state = HTTP_REQ_S_BODY;
			} else {
				r->state = HTTP_REQ_S_DONE;
				return HTTP_REQ_DONE;
			}
			break;
		case HTTP_REQ_S_BODY:
		case HTTP_REQ_S_CHUNK_DATA:
			if (*i == len)
				return HTTP_REQ_MORE;
			n = (size_t)(r->remaining < len - *i ? r->remaining : len - *i);
			ev = body_bytes(r, data + *i, n);
			*i += n;
			r->remaining -= n;
			if (ev == HTTP_REQ_MORE && !r->remaining) {
				if (r->state == HTTP_REQ_S_BODY) {
					r->state = HTTP_REQ_S_DONE;
					return HTTP_REQ_DONE;
				}
				r->state = HTTP_REQ_S_CHUNK_END;
			}
			break;
		case HTTP_REQ_S_CHUNK_SIZE:
			if (!chunk_line(r, data, len, i))
				return r->state == HTTP_REQ_S_ERROR ? HTTP_REQ_ERROR : HTTP_REQ_MORE;
			ev = chunk_size(r);
			break;
		case HTTP_REQ_S_CHUNK_END:
			if (!chunk_line(r, data, len, i))
				return r->state == HTTP_REQ_S_ERROR ? HTTP_REQ_ERROR : HTTP_REQ_MORE;
			if (r->chunk_line_len)
				return fail(r, 400, "chunk data longer than its size");
			r->state = HTTP_REQ_S_CHUNK_SIZE;
			break;
		case HTTP_REQ_S_TRAILER:
			return trailer(r, data, len, i);
		default:
			return fail(r, 0, "parser misuse");
		}
	}
	return ev;
}

enum http_req_event http_req_feed(struct http_req *r, const char *data, size_t len, size_t *used)
{
	enum http_req_event ev;
	size_t i = 0;

	*used = 0;
	switch (r->state) {
	case HTTP_REQ_S_ERROR:
		return HTTP_REQ_ERROR;
	case HTTP_REQ_S_DONE:
		return HTTP_REQ_DONE;
	case HTTP_REQ_S_LINE:
	case HTTP_REQ_S_HEADER:
		ev = feed_head(r, data, len, &i);
		break;
	default:
		ev = feed_body(r, data, len, &i);
		break;
	}
	*used = i;
	return ev;
}

bool http_req_has_body(const struct http_req *r)
{
	return r->chunked || (r->has_length && r->content_length);
}

bool http_req_refuse_now(const struct http_req *r)
{
	if (!r->has_length || r->content_length <= r->max_body)
		return false;
	return r->expect_continue || r->content_length / HTTP_REQ_DRAIN_FACTOR > r->max_body;
}

bool http_req_keep_alive(const struct http_req *r)
{
	return !r->conn_close && (r->minor > 0 || r->conn_keep_alive);
}
