/*
 * route: one HTTP request (method, path, body) -> status, content type and body, by calling the backend. No
 * sockets: the server feeds it complete requests, and tests can call it directly.
 */
#ifndef USBD_API_ROUTE_H
#define USBD_API_ROUTE_H

#include <stddef.h>

#include "api/api.h"

struct route_reply {
	unsigned int status;		/* 200, 204 or 400 */
	const char *content_type;	/* NULL when there is no body */
	char *body;			/* malloc'd, NUL-terminated; NULL for 204 */
	size_t len;
};

#define ROUTE_JSON "application/json"
#define ROUTE_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* Fills *r (the caller frees r->body). Returns 0, or -ENOMEM when no reply could be built (close the connection). */
int route_request(const struct api_backend *be, const char *method, const char *path, const char *body, size_t len,
		  struct route_reply *r);

/* A 400/403/413 reply with {"fault_message": msg}. Returns 0 or -ENOMEM. */
int route_fault(struct route_reply *r, unsigned int status, const char *msg);

#endif
