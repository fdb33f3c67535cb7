/*
 * http_req: an incremental HTTP/1.0 and 1.1 request parser, pure (no I/O). Bytes are fed as they arrive, in pieces
 * of any size; the parser reports when the head (request line and headers) is complete and when the whole request
 * (head and body) is. Bodies come with Content-Length or chunked transfer coding. Limits: the head (and a chunked
 * body's trailers) at most max_head bytes, the body at most max_body; a larger body is read and dropped up to
 * HTTP_REQ_DRAIN_FACTOR times max_body (so that the answer, 413, reaches a client still sending), beyond that the
 * connection is to be dropped. Strict: whatever is ambiguous (two different lengths, a length with a transfer
 * coding, folded or malformed header lines) is refused, never guessed.
 */
#ifndef USBD_API_HTTP_REQ_H
#define USBD_API_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_REQ_DRAIN_FACTOR 16
/* The longest chunk-size line (hex size and extensions). */
#define HTTP_REQ_CHUNK_LINE_MAX 256

enum http_req_event {
	HTTP_REQ_MORE,		/* every byte consumed; the request is not complete yet */
	HTTP_REQ_HEAD,		/* the head is complete (reported once per request); feed the rest for the body */
	HTTP_REQ_DONE,		/* the request is complete; bytes after it (a next request) are left unconsumed */
	HTTP_REQ_ERROR,		/* malformed or over a limit: answer status/error (status 0: drop the connection) */
};

enum http_req_state {
	HTTP_REQ_S_LINE,	/* request line (empty lines before it are skipped) */
	HTTP_REQ_S_HEADER,	/* header lines */
	HTTP_REQ_S_HEAD_DONE,	/* head reported, body not started */
	HTTP_REQ_S_BODY,	/* Content-Length body */
	HTTP_REQ_S_CHUNK_SIZE,
	HTTP_REQ_S_CHUNK_DATA,
	HTTP_REQ_S_CHUNK_END,	/* the CRLF after a chunk's data */
	HTTP_REQ_S_TRAILER,
	HTTP_REQ_S_DONE,
	HTTP_REQ_S_ERROR,
};

struct http_req {
	/* Limits, from http_req_init. */
	size_t max_head;
	size_t max_body;

	enum http_req_state state;

	/* The head as received, lines NUL-terminated in place; method and path point into it once it is complete. */
	char *head;
	size_t head_len;
	size_t head_cap;
	size_t head_seen;		/* head bytes so far, including skipped empty lines */
	size_t line_start;		/* offset of the line being received */
	size_t method_off, path_off;

	/* Known after HTTP_REQ_HEAD. */
	const char *method;		/* as sent (case matters) */
	const char *path;		/* percent-decoded, without the query */
	bool has_query;			/* the target had a '?' */
	int minor;			/* 0: HTTP/1.0, 1: HTTP/1.1 (and later 1.x) */
	bool has_length;		/* a Content-Length header was given */
	uint64_t content_length;	/* its value, saturated at UINT64_MAX */
	bool chunked;
	bool expect_continue;		/* "Expect: 100-continue" on HTTP/1.1 */
	bool conn_close;		/* "Connection: close" */
	bool conn_keep_alive;		/* "Connection: keep-alive" */
	unsigned int hosts;		/* Host headers seen */

	/* The body, at most max_body bytes (malloc'd, NUL-terminated when not NULL). */
	char *body;
	size_t body_len;
	size_t body_cap;
	bool too_big;			/* the body outgrew max_body: it is dropped (body NULL), answer 413 */
	uint64_t body_seen;		/* body bytes received, kept or dropped */
	uint64_t remaining;		/* of the Content-Length body or of the current chunk */

	/* Chunk-size lines and trailers. */
	char chunk_line[HTTP_REQ_CHUNK_LINE_MAX];
	size_t chunk_line_len;
	size_t trailer_seen;		/* trailer bytes so far */
	size_t trailer_line_len;	/* bytes of the current trailer line, without its end */

	/* Set with HTTP_REQ_ERROR. */
	unsigned int status;		/* 400, 413, 417, 431, 501, 505, or 0 */
	const char *error;		/* a static, human-readable reason */
};

/* Prepares r (which owns no memory yet) with its limits; max_head and max_body must be non-zero. */
void http_req_init(struct http_req *r, size_t max_head, size_t max_body);
/* Readies r for the next request on the same connection, keeping its limits and its head buffer. */
void http_req_reset(struct http_req *r);
/* Frees what r owns. */
void http_req_free(struct http_req *r);

/*
 * Feeds len bytes (data may be NULL when len is 0) and sets *used to how many were consumed. Call again with the
 * rest after HTTP_REQ_HEAD (even with 0 bytes: a request without a body is then complete). After HTTP_REQ_DONE or
 * HTTP_REQ_ERROR, call http_req_reset before feeding the next request.
 */
enum http_req_event http_req_feed(struct http_req *r, const char *data, size_t len, size_t *used);

/* After HTTP_REQ_HEAD: does the request carry a body (a Content-Length above 0, or chunked)? */
bool http_req_has_body(const struct http_req *r);
/*
 * After HTTP_REQ_HEAD: should the 413 go out now, before the body? True when the announced length is beyond what
 * is drained, or when the client waits for "100 Continue" and so would send nothing more.
 */
bool http_req_refuse_now(const struct http_req *r);
/* After HTTP_REQ_HEAD: may the connection stay open after the answer? */
bool http_req_keep_alive(const struct http_req *r);

#endif
