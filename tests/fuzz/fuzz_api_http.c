/*
 * fuzz_api_http: libFuzzer target over the API's incremental HTTP request parser (src/api/http_req.h). The first
 * byte picks a piece size (1..32; 0: all at once), the rest is a connection's input, parsed request after request
 * as the server does (reset after each, pipelined bytes carried over). Checks the feed contract (never more than
 * given, everything on MORE, the head reported once and before the end, limits kept, an error with a known status
 * and a reason) and that cutting the input differently never changes what is parsed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http_req.h"

#define MAX_HEAD 256
#define MAX_BODY 64
#define MAX_REQUESTS 64

struct digest {
	char *text;
	size_t len, cap;
};

static void add(struct digest *d, const void *data, size_t n)
{
	if (d->len + n > d->cap) {
		d->cap = (d->len + n) * 2;
		d->text = realloc(d->text, d->cap);
		if (!d->text)
			abort();
	}
	memcpy(d->text + d->len, data, n);
	d->len += n;
}

static void add_str(struct digest *d, const char *s) { add(d, s, strlen(s) + 1); }

static void check_error(const struct http_req *r)
{
	static const unsigned int known[] = { 0, 400, 413, 417, 431, 501, 505 };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (r->status == known[i])
			break;
	if (i == sizeof(known) / sizeof(known[0]) || !r->error || !r->error[0])
		abort();
}

static void check_head(const struct http_req *r)
{
	if (!r->method || !r->path || r->path[0] != '/' || !r->method[0] || r->minor < 0 || r->minor > 1)
		abort();
	if (r->chunked && r->has_length)
		abort();
	if (http_req_refuse_now(r) && !r->too_big)
		abort();
}

static void record_request(struct digest *d, const struct http_req *r)
{
	char line[128];

	if (r->body_len > MAX_BODY || (r->body && r->body[r->body_len]) || (!r->too_big && r->body_seen != r->body_len) ||
	    (r->too_big && (r->body || r->body_len)))
		abort();
	add_str(d, "D");
	add_str(d, r->method);
	add_str(d, r->path);
	snprintf(line, sizeof(line), "%d %d %d %d %d %zu", r->has_query, r->minor, r->too_big,
		 http_req_keep_alive(r), r->expect_continue, r->body_len);
	add_str(d, line);
	if (!r->too_big && r->body_len)
		add(d, r->body, r->body_len);
}

/* Parses data as one connection's input, fed step bytes at a time (0: all at once), into a digest. */
static void run(const char *data, size_t size, size_t step, struct digest *d)
{
	struct http_req r;
	size_t off = 0, avail = 0;	/* bytes [off, avail) have "arrived" and are not consumed yet */
	int heads = 0, requests = 0;

	http_req_init(&r, MAX_HEAD, MAX_BODY);
	for (;;) {
		size_t used, n;
		enum http_req_event ev;

		if (off == avail && avail < size)
			avail = step ? (avail + step < size ? avail + step : size) : size;
		n = avail - off;
		ev = http_req_feed(&r, data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (ev == HTTP_REQ_MORE) {
			if (used != n)
				abort();
			if (off == size) {
				add_str(d, "M");
				break;
			}
		} else if (ev == HTTP_REQ_HEAD) {
			if (heads++)
				abort();
			check_head(&r);
		} else if (ev == HTTP_REQ_DONE) {
			if (heads != 1)
				abort();
			record_request(d, &r);
			http_req_reset(&r);
			heads = 0;
			if (++requests == MAX_REQUESTS)
				break;
		} else {
			check_error(&r);
			add_str(d, "E");
			add_str(d, r.error);
			break;
		}
	}
	http_req_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole = { 0 }, cut = { 0 };

	if (!size)
		return 0;
	run((const char *)data + 1, size - 1, 0, &whole);
	run((const char *)data + 1, size - 1, data[0] % 33, &cut);
	if (whole.len != cut.len || memcmp(whole.text, cut.text, whole.len))
		abort();
	free(whole.text);
	free(cut.text);
	return 0;
}
