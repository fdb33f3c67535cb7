/* http: a small HTTP/1.1 client over a Unix socket. One request per connection, bounded in size and time. */
#ifndef USBD_CLI_HTTP_H
#define USBD_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Responses larger than this (head and body) are refused: the API's largest answer is a few KiB. */
#define HTTP_MAX_RESPONSE (256u * 1024u)

struct http_response {
	int status;		/* e.g. 200, 204, 400 */
	char *body;		/* NUL-terminated copy of the body ("" when none); owned */
	size_t body_len;
};

/*
 * Sends `method target` with an optional JSON body (NULL for none) to the server on `sock_path` and reads the
 * whole response, all within timeout_ms. sock_path is a Unix socket's path, or "vsock:CID:PORT" for an AF_VSOCK
 * server (usbd in a VM guest, from its host; -EINVAL when malformed).
 * Returns 0 and fills *resp (free with http_response_free), or -errno: connect's error (-ENOENT, -ECONNREFUSED,
 * -EACCES, ...), -ENAMETOOLONG (path too long for a socket address), -ETIMEDOUT, -EMSGSIZE (response over
 * HTTP_MAX_RESPONSE), -EPROTO (not a valid HTTP response), -ENOMEM.
 */
int http_request(const char *sock_path, const char *method, const char *target, const char *body, int timeout_ms,
		 struct http_response *resp);

/*
 * Parses the response received so far in buf[0..len); `eof` tells that the server has closed the connection.
 * Returns 0 and fills *resp when complete, -EAGAIN when more bytes are needed, -EPROTO when malformed
 * (including a body cut short by the close, and chunked encoding, which the API never uses), -EMSGSIZE when the
 * announced body exceeds HTTP_MAX_RESPONSE, -ENOMEM.
 */
int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *resp);

void http_response_free(struct http_response *resp);

#endif
