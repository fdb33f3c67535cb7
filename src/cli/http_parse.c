#include "cli/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NO_LENGTH SIZE_MAX

/* Trims optional whitespace around a header value in [*v, *v + *n). */
static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static bool header_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

/* Returns 0 and the value, or -EPROTO (not a plain decimal), -EMSGSIZE (above the response cap). */
static int parse_length(const char *v, size_t n, size_t *out)
{
	size_t len = 0;

	if (!n)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -EPROTO;
		len = len * 10 + (size_t)(v[i] - '0');
		if (len > HTTP_MAX_RESPONSE)
			return -EMSGSIZE;
	}
	*out = len;
	return 0;
}

/* Reads "HTTP/1.x NNN[ reason]" from the line [p, p + n). Returns the status or -EPROTO. */
static int parse_status_line(const char *p, size_t n)
{
	int status;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) || p[8] != ' ')
		return -EPROTO;
	if (!isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]))
		return -EPROTO;
	if (n > 12 && p[12] != ' ')
		return -EPROTO;
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	/* 1xx would precede the real answer; the client never sends Expect, so one is a protocol error here. */
	if (status < 200 || status > 599)
		return -EPROTO;
	return status;
}

/* Walks the header lines in [p, end), each ending in CRLF; finds Content-Length and refuses transfer codings. */
static int parse_headers(const char *p, const char *end, size_t *length)
{
	*length = NO_LENGTH;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *colon, *v;
		size_t n, vn;
		int rc;

		if (!eol)
			return -EPROTO;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -EPROTO;
		n = (size_t)(colon - p);
		v = colon + 1;
		vn = (size_t)(eol - v);
		trim(&v, &vn);
		if (header_is(p, n, "Content-Length")) {
			size_t len;
			rc = parse_length(v, vn, &len);
			if (rc)
				return rc;
			/* Two different lengths make the message ambiguous (request smuggling's favourite). */
			if (*length != NO_LENGTH && *length != len)
				return -EPROTO;
			*length = len;
		} else if (header_is(p, n, "Transfer-Encoding") && !header_is(v, vn, "identity")) {
			return -EPROTO;
		}
		p = eol + 2;
	}
	return 0;
}

int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *resp)
{
	const char *head_end = memmem(buf, len, "\r\n\r\n", 4);
	const char *line_end, *body;
	size_t length, avail;
	int status, rc;

	if (!head_end)
		return eof ? -EPROTO : len >= HTTP_MAX_RESPONSE ? -EMSGSIZE : -EAGAIN;
	line_end = memmem(buf, (size_t)(head_end + 2 - buf), "\r\n", 2);
	status = parse_status_line(buf, (size_t)(line_end - buf));
	if (status < 0)
		return status;
	rc = parse_headers(line_end + 2, head_end + 2, &length);
	if (rc)
		return rc;
	body = head_end + 4;
	avail = len - (size_t)(body - buf);
	if (status == 204 || status == 304) {
		length = 0;
	} else if (length == NO_LENGTH) {
		/* No length: the body runs to the close. */
		if (!eof)
			return -EAGAIN;
		length = avail;
	} else if (avail < length) {
		return eof ? -EPROTO : -EAGAIN;
	}
	resp->body = malloc(length + 1);
	if (!resp->body)
		return -ENOMEM;
	memcpy(resp->body, body, length);
	resp->body[length] = '\0';
	resp->body_len = length;
	resp->status = status;
	return 0;
}

void http_response_free(struct http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}
