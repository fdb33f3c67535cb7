/* The API's incremental HTTP request parser (src/api/http_req.h): framing, limits, errors, pieces of any size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/http_req.h"

#define MAX_HEAD 1024
#define MAX_BODY 100

/*
 * Feeds text[0..len) in pieces of `step` bytes (0: all at once) until the request is complete or refused, checking
 * that the head is reported exactly once and before the end. Returns the last event; *consumed is set to the
 * bytes taken.
 */
static enum http_req_event feed_n(struct http_req *r, const char *text, size_t len, size_t step, size_t *consumed)
{
	size_t off = 0, used;
	int heads = 0;
	enum http_req_event ev;

	for (;;) {
		size_t n = step && step < len - off ? step : len - off;

		ev = http_req_feed(r, text + off, n, &used);
		assert_true(used <= n);
		off += used;
		if (ev == HTTP_REQ_HEAD) {
			heads++;
			continue;
		}
		if (ev != HTTP_REQ_MORE || off == len)
			break;
		assert_int_equal(used, n);	/* MORE: everything consumed */
	}
	if (ev == HTTP_REQ_DONE)
		assert_int_equal(heads, 1);
	assert_true(heads <= 1);
	if (consumed)
		*consumed = off;
	return ev;
}

static enum http_req_event feed(struct http_req *r, const char *text, size_t step)
{
	http_req_init(r, MAX_HEAD, MAX_BODY);
	return feed_n(r, text, strlen(text), step, NULL);
}

/* The status a request is refused with (or -1 when it is not), fed at once and byte by byte alike. */
static int refused(const char *text)
{
	struct http_req r;
	enum http_req_event whole = feed(&r, text, 0), bytewise;
	unsigned int status = r.status;

	http_req_free(&r);
	bytewise = feed(&r, text, 1);
	assert_int_equal(whole, bytewise);
	assert_int_equal(status, r.status);
	if (whole == HTTP_REQ_ERROR)
		assert_non_null(r.error);
	http_req_free(&r);
	return whole == HTTP_REQ_ERROR ? (int)status : -1;
}

static void should_parse_a_get_without_a_body(void **state)
{
	struct http_req r;

	assert_int_equal(feed(&r, "GET /balloon HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/balloon");
	assert_false(r.has_query);
	assert_int_equal(r.minor, 1);
	assert_false(http_req_has_body(&r));
	assert_true(http_req_keep_alive(&r));
	assert_null(r.body);
	assert_int_equal(r.body_len, 0);
	http_req_free(&r);
}

static void should_report_the_head_before_reading_the_body(void **state)
{
	static const char req[] = "PUT /balloon HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
	struct http_req r;
	size_t used;

	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(http_req_feed(&r, req, sizeof(req) - 1, &used), HTTP_REQ_HEAD);
	assert_int_equal(used, sizeof(req) - 1 - 7);
	assert_true(http_req_has_body(&r));
	assert_false(http_req_refuse_now(&r));
	assert_int_equal(http_req_feed(&r, req + used, 3, &used), HTTP_REQ_MORE);
	assert_int_equal(used, 3);
	assert_int_equal(http_req_feed(&r, req + sizeof(req) - 5, 4, &used), HTTP_REQ_DONE);
	assert_int_equal(used, 4);
	assert_string_equal(r.body, "{\"a\":1}");
	assert_int_equal(r.body_len, 7);
	/* Complete: more input is the next request's, left alone. */
	assert_int_equal(http_req_feed(&r, "GET", 3, &used), HTTP_REQ_DONE);
	assert_int_equal(used, 0);
	http_req_free(&r);
}

static void should_give_the_same_result_for_every_way_of_cutting_the_input(void **state)
{
	static const char *reqs[] = {
		"PATCH /usbd/targets HTTP/1.1\r\nHost: x\r\ncontent-length:  13 \r\n\r\n{\"x\": \"yz\"}\r\n",
		"PUT /balloon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5;name=value\r\n{\"x\":\r\n8 \r\n \"yz\"}\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		for (size_t step = 0; step <= strlen(reqs[i]); step++) {
			struct http_req r;
			size_t used;

			http_req_init(&r, MAX_HEAD, MAX_BODY);
			assert_int_equal(feed_n(&r, reqs[i], strlen(reqs[i]), step, &used), HTTP_REQ_DONE);
			assert_int_equal(used, strlen(reqs[i]));
			assert_string_equal(r.body, "{\"x\": \"yz\"}\r\n");
			assert_int_equal(r.body_len, 13);
			assert_false(r.too_big);
			http_req_free(&r);
		}
	}
}

static void should_leave_a_pipelined_request_for_after_the_reset(void **state)
{
	static const char two[] = "\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nDELETE /b HTTP/1.0\r\n\r\n";
	struct http_req r;
	size_t used;

	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, two, sizeof(two) - 1, 0, &used), HTTP_REQ_DONE);
	assert_string_equal(r.path, "/a");
	http_req_reset(&r);
	assert_int_equal(r.max_head, MAX_HEAD);
	assert_int_equal(r.max_body, MAX_BODY);
	assert_int_equal(feed_n(&r, two + used, sizeof(two) - 1 - used, 0, &used), HTTP_REQ_DONE);
	assert_string_equal(r.method, "DELETE");
	assert_string_equal(r.path, "/b");
	assert_int_equal(r.minor, 0);
	http_req_free(&r);
}

static void should_tell_when_the_connection_may_stay_open(void **state)
{
	struct http_req r;

	assert_int_equal(feed(&r, "GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_false(http_req_keep_alive(&r));
	http_req_free(&r);
	assert_int_equal(feed(&r, "GET / HTTP/1.0\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_false(http_req_keep_alive(&r));
	http_req_free(&r);
	assert_int_equal(feed(&r, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_true(http_req_keep_alive(&r));
	http_req_free(&r);
	/* Later 1.x minors are answered as 1.1. */
	assert_int_equal(feed(&r, "GET / HTTP/1.7\nHost: x\n\n", 0), HTTP_REQ_DONE);
	assert_int_equal(r.minor, 1);
	assert_true(http_req_keep_alive(&r));
	http_req_free(&r);
}

static void should_split_the_query_and_decode_the_path(void **state)
{
	struct http_req r;

	assert_int_equal(feed(&r, "GET /balloon?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_true(r.has_query);
	assert_string_equal(r.path, "/balloon");
	http_req_free(&r);
	assert_int_equal(feed(&r, "GET /ballo%6Fn/%2f HTTP/1.1\r\nHost: x\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_false(r.has_query);
	assert_string_equal(r.path, "/balloon//");
	http_req_free(&r);
	assert_int_equal(feed(&r, "GET http://localhost/usbd/status HTTP/1.1\r\nHost: x\r\n\r\n", 0), HTTP_REQ_DONE);
	assert_string_equal(r.path, "/usbd/status");
	http_req_free(&r);
}

static void should_refuse_malformed_requests(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "GET /x HTTP/1.1\r\n\r\n", 400 },					/* no Host */
		{ "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET  /x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /x  HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /x\r\n\r\n", 400 },						/* HTTP/0.9 */
		{ "GET /x HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
		{ "GET /x HTTX/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /x HTTP/1.10\r\nHost: x\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "G@T /x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ " GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /% HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\nName : 1\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", 400 },
		{ "GET /x HTTP/1.1\r\nHost: x\rA: 1\r\n\r\n", 400 },			/* bare CR */
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", -1 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;\x01\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = refused(cases[i].req);

		if (got != cases[i].status)
			fail_msg("case %zu '%s': got %d, expected %d", i, cases[i].req, got, cases[i].status);
	}
}

static void should_refuse_a_nul_in_the_head(void **state)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: x\0y\r\n\r\n";
	struct http_req r;
	size_t used;

	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, req, sizeof(req) - 1, 0, &used), HTTP_REQ_ERROR);
	assert_int_equal(r.status, 400);
	/* Refused for good. */
	assert_int_equal(http_req_feed(&r, "\r\n", 2, &used), HTTP_REQ_ERROR);
	assert_int_equal(used, 0);
	http_req_free(&r);
}

static void should_refuse_a_head_over_the_limit(void **state)
{
	char req[MAX_HEAD + 64];
	struct http_req r;
	size_t n;

	/* Exactly max_head bytes of head are accepted, one more is not. */
	n = (size_t)snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: x\r\nX: ");
	memset(req + n, 'a', MAX_HEAD - n - 4);
	memcpy(req + MAX_HEAD - 4, "\r\n\r\n", 5);
	assert_int_equal(strlen(req), MAX_HEAD);
	assert_int_equal(feed(&r, req, 0), HTTP_REQ_DONE);
	http_req_free(&r);
	assert_int_equal(feed(&r, req, 7), HTTP_REQ_DONE);
	http_req_free(&r);
	memmove(req + 1, req, MAX_HEAD + 1);
	req[0] = '\n';	/* skipped empty lines count too */
	assert_int_equal(refused(req), 431);
	/* A request line that never ends. */
	memset(req, 'a', sizeof(req) - 1);
	req[sizeof(req) - 1] = '\0';
	assert_int_equal(refused(req), 431);
}

static void should_drain_a_body_over_the_limit_then_report_it(void **state)
{
	char req[4096];
	struct http_req r;
	int n = snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 16 * MAX_BODY);

	memset(req + n, '{', 16 * MAX_BODY);
	req[n + 16 * MAX_BODY] = '\0';
	assert_int_equal(feed(&r, req, 0), HTTP_REQ_DONE);
	assert_true(r.too_big);
	assert_false(http_req_refuse_now(&r));
	assert_null(r.body);
	assert_int_equal(r.body_len, 0);
	http_req_free(&r);
	assert_int_equal(feed(&r, req, 33), HTTP_REQ_DONE);
	assert_true(r.too_big);
	assert_null(r.body);
	http_req_free(&r);
	/* Chunked, so only known once the body outgrows the limit: what was kept is dropped too. */
	n = snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "%x\r\n%0*d\r\n%x\r\n%0*d\r\n0\r\n\r\n", MAX_BODY, MAX_BODY, 0, 2, 2, 0);
	assert_int_equal(feed(&r, req, 0), HTTP_REQ_DONE);
	assert_true(r.too_big);
	assert_null(r.body);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(r.body_seen, MAX_BODY + 2);
	http_req_free(&r);
}

static void should_answer_at_once_when_the_body_is_far_over_or_awaited(void **state)
{
	struct http_req r;
	char req[256];

	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 16 * MAX_BODY + 16);
	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, req, strlen(req), 0, NULL), HTTP_REQ_MORE);
	assert_true(r.too_big);
	assert_true(http_req_refuse_now(&r));
	http_req_free(&r);

	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: %d\r\n\r\n",
		 MAX_BODY + 1);
	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, req, strlen(req), 0, NULL), HTTP_REQ_MORE);
	assert_true(r.expect_continue);
	assert_true(http_req_refuse_now(&r));
	http_req_free(&r);

	/* Within the limit, Expect is simply honoured by the caller. */
	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n",
		 MAX_BODY);
	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, req, strlen(req), 0, NULL), HTTP_REQ_MORE);
	assert_false(http_req_refuse_now(&r));
	assert_false(r.too_big);
	http_req_free(&r);

	/* HTTP/1.0 clients never wait for 100 Continue. */
	assert_int_equal(feed(&r, "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 0),
			 HTTP_REQ_DONE);
	assert_false(r.expect_continue);
	http_req_free(&r);

	/* A length beyond 64 bits saturates: still a length, and far too large. */
	http_req_init(&r, MAX_HEAD, MAX_BODY);
	strcpy(req, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n");
	assert_int_equal(feed_n(&r, req, strlen(req), 0, NULL), HTTP_REQ_MORE);
	assert_true(r.has_length);
	assert_int_equal(r.content_length, UINT64_MAX);
	assert_true(http_req_refuse_now(&r));
	http_req_free(&r);
}

static void should_drop_a_chunked_body_beyond_the_drain_limit(void **state)
{
	static const char head[] = "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	char chunk[64];
	struct http_req r;
	enum http_req_event ev = HTTP_REQ_MORE;
	size_t used, sent = 0;
	int n = snprintf(chunk, sizeof(chunk), "32\r\n%050d\r\n", 0);

	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, head, sizeof(head) - 1, 0, NULL), HTTP_REQ_MORE);
	while (ev == HTTP_REQ_MORE && sent < 100 * MAX_BODY) {
		ev = http_req_feed(&r, chunk, (size_t)n, &used);
		sent += 50;
	}
	assert_int_equal(ev, HTTP_REQ_ERROR);
	assert_int_equal(r.status, 0);
	assert_true(r.too_big);
	assert_true(sent > 16 * MAX_BODY && sent <= 16 * MAX_BODY + 100);
	http_req_free(&r);

	/* A chunk size beyond 64 bits: dropped once the drain limit is passed, never wrapped around. */
	http_req_init(&r, MAX_HEAD, MAX_BODY);
	assert_int_equal(feed_n(&r, head, sizeof(head) - 1, 0, NULL), HTTP_REQ_MORE);
	assert_int_equal(http_req_feed(&r, "fffffffffffffffffffffff\r\n", 25, &used), HTTP_REQ_MORE);
	assert_int_equal(r.remaining, UINT64_MAX);
	http_req_free(&r);
}

static void should_bound_the_trailers(void **state)
{
	char req[MAX_HEAD * 2];
	int n = snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");

	for (; n < (int)sizeof(req) - 8; n += 6)
		memcpy(req + n, "A: 1\r\n", 7);
	assert_int_equal(refused(req), 431);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(should_parse_a_get_without_a_body),
		cmocka_unit_test(should_report_the_head_before_reading_the_body),
		cmocka_unit_test(should_give_the_same_result_for_every_way_of_cutting_the_input),
		cmocka_unit_test(should_leave_a_pipelined_request_for_after_the_reset),
		cmocka_unit_test(should_tell_when_the_connection_may_stay_open),
		cmocka_unit_test(should_split_the_query_and_decode_the_path),
		cmocka_unit_test(should_refuse_malformed_requests),
		cmocka_unit_test(should_refuse_a_nul_in_the_head),
		cmocka_unit_test(should_refuse_a_head_over_the_limit),
		cmocka_unit_test(should_drain_a_body_over_the_limit_then_report_it),
		cmocka_unit_test(should_answer_at_once_when_the_body_is_far_over_or_awaited),
		cmocka_unit_test(should_drop_a_chunked_body_beyond_the_drain_limit),
		cmocka_unit_test(should_bound_the_trailers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
