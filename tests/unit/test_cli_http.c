#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/http.h"

static int parse(const char *text, bool eof, struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	return http_parse_response(text, strlen(text), eof, resp);
}

static void parse_should_read_the_status_and_a_body_of_content_length(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length:  7 \r\n\r\n"
			       "{\"a\":1}",
			       false, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 7);
	assert_string_equal(r.body, "{\"a\":1}");
	http_response_free(&r);
	assert_null(r.body);
}

static void parse_should_ask_for_more_until_the_head_and_body_are_complete(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n", false, &r), -EAGAIN);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\"", false, &r), -EAGAIN);
}

static void parse_should_take_the_body_up_to_the_close_when_no_length_is_given(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.0 400 Bad Request\r\n\r\n{\"fault_message\": \"x\"}", false, &r), -EAGAIN);
	assert_int_equal(parse("HTTP/1.0 400 Bad Request\r\n\r\n{\"fault_message\": \"x\"}", true, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"fault_message\": \"x\"}");
	http_response_free(&r);
}

static void parse_should_give_an_empty_body_to_204_even_without_length(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", false, &r), 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.body, "");
	http_response_free(&r);
}

static void parse_should_accept_a_status_line_without_reason(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.1 204\r\n\r\n", false, &r), 0);
	assert_int_equal(r.status, 204);
	http_response_free(&r);
}

static void parse_should_refuse_malformed_responses(void **state)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 600 Odd\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], true, &r), -EPROTO);
		assert_null(r.body);
	}
}

static void parse_should_refuse_a_response_cut_short_by_the_close(void **state)
{
	struct http_response r;

	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, &r), -EPROTO);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Len", true, &r), -EPROTO);
	assert_int_equal(parse("", true, &r), -EPROTO);
}

static void parse_should_refuse_lengths_over_the_cap_before_allocating(void **state)
{
	char text[128];
	struct http_response r;

	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_RESPONSE + 1);
	assert_int_equal(parse(text, false, &r), -EMSGSIZE);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n", false, &r),
			 -EMSGSIZE);
}

static void parse_should_refuse_a_head_that_never_ends_within_the_cap(void **state)
{
	size_t n = HTTP_MAX_RESPONSE;
	char *text = malloc(n);
	struct http_response r = { 0 };

	assert_non_null(text);
	memcpy(text, "HTTP/1.1 200 OK\r\n", 17);
	memset(text + 17, 'x', n - 17);
	assert_int_equal(http_parse_response(text, n, false, &r), -EMSGSIZE);
	free(text);
}

/* A one-shot server on a private socket: it reads the request, then answers with `reply` (NULL: stays silent). */
struct server {
	char path[108];
	int listen_fd;
	const char *reply;
	size_t reply_len;
	char request[1024];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	size_t got = 0;
	char scratch;
	int fd = accept(s->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (got < sizeof(s->request) - 1) {
		ssize_t r = read(fd, s->request + got, sizeof(s->request) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		s->request[got] = '\0';
		if (strstr(s->request, "\r\n\r\n") && (!strstr(s->request, "Content-Length") ||
						       strstr(s->request, "\r\n\r\n")[4]))
			break;
	}
	/* Dribble the answer in small pieces: the client must reassemble them. */
	for (size_t off = 0; s->reply && off < s->reply_len; off += 7) {
		size_t n = s->reply_len - off < 7 ? s->reply_len - off : 7;
		if (send(fd, s->reply + off, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
	}
	/* Silent or not, hold the connection until the client drops it. */
	while (read(fd, &scratch, 1) > 0)
		;
	close(fd);
	return NULL;
}

static void server_start(struct server *s, const char *reply, size_t reply_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/tmp/usbd-test-cli-http-%d.sock", (int)getpid());
	unlink(s->path);
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->listen_fd >= 0);
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->listen_fd, 4), 0);
	s->reply = reply;
	s->reply_len = reply_len;
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	unlink(s->path);
}

static void request_should_send_one_closing_request_and_read_the_answer(void **state)
{
	static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n\r\n"
				    "{\"fault_message\": \"no way\"}\n";
	struct server s;
	struct http_response r;

	server_start(&s, reply, strlen(reply));
	assert_int_equal(http_request(s.path, "PATCH", "/usbd/targets", "{\"headroom_mib\":1}", 2000, &r), 0);
	server_stop(&s);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"fault_message\": \"no way\"}\n");
	http_response_free(&r);
	assert_string_equal(s.request, "PATCH /usbd/targets HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
				       "Accept: application/json\r\nContent-Type: application/json\r\n"
				       "Content-Length: 18\r\n\r\n{\"headroom_mib\":1}");
}

static void request_should_send_no_length_without_a_body(void **state)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
	struct server s;
	struct http_response r;

	server_start(&s, reply, strlen(reply));
	assert_int_equal(http_request(s.path, "GET", "/balloon", NULL, 2000, &r), 0);
	server_stop(&s);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{}");
	http_response_free(&r);
	assert_null(strstr(s.request, "Content-Length"));
}

static void request_should_give_up_on_a_silent_server_at_the_deadline(void **state)
{
	struct server s;
	struct http_response r;

	server_start(&s, NULL, 0);
	assert_int_equal(http_request(s.path, "GET", "/balloon", NULL, 200, &r), -ETIMEDOUT);
	server_stop(&s);
}

static void request_should_refuse_an_answer_over_the_cap(void **state)
{
	size_t n = HTTP_MAX_RESPONSE + 100;
	char *big = malloc(n);
	struct server s;
	struct http_response r;

	assert_non_null(big);
	memcpy(big, "HTTP/1.1 200 OK\r\n\r\n", 19);
	memset(big + 19, 'x', n - 19);
	server_start(&s, big, n);
	assert_int_equal(http_request(s.path, "GET", "/balloon", NULL, 5000, &r), -EMSGSIZE);
	server_stop(&s);
	free(big);
}

static void request_should_report_a_missing_socket_and_a_path_too_long(void **state)
{
	char longpath[200];
	struct http_response r;

	assert_int_equal(http_request("/nonexistent/usbd.sock", "GET", "/", NULL, 200, &r), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(http_request(longpath, "GET", "/", NULL, 200, &r), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_should_read_the_status_and_a_body_of_content_length),
		cmocka_unit_test(parse_should_ask_for_more_until_the_head_and_body_are_complete),
		cmocka_unit_test(parse_should_take_the_body_up_to_the_close_when_no_length_is_given),
		cmocka_unit_test(parse_should_give_an_empty_body_to_204_even_without_length),
		cmocka_unit_test(parse_should_accept_a_status_line_without_reason),
		cmocka_unit_test(parse_should_refuse_malformed_responses),
		cmocka_unit_test(parse_should_refuse_a_response_cut_short_by_the_close),
		cmocka_unit_test(parse_should_refuse_lengths_over_the_cap_before_allocating),
		cmocka_unit_test(parse_should_refuse_a_head_that_never_ends_within_the_cap),
		cmocka_unit_test(request_should_send_one_closing_request_and_read_the_answer),
		cmocka_unit_test(request_should_send_no_length_without_a_body),
		cmocka_unit_test(request_should_give_up_on_a_silent_server_at_the_deadline),
		cmocka_unit_test(request_should_refuse_an_answer_over_the_cap),
		cmocka_unit_test(request_should_report_a_missing_socket_and_a_path_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
