/*
 * reply: a client's output buffer and the RESP2 reply builders that append to it. The buffer has a cap:
 * once a reply would pass it, or the clients' budget refuses the growth, the buffer is marked overflowed (sticky)
 * and the server drops the client, so a client that does not read cannot make the worker's heap grow without bound.
 */
#ifndef USBD_SPOT_REPLY_H
#define USBD_SPOT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/budget.h"

struct rbuf {
	char *data;
	size_t len, cap;
	size_t sent;            /* bytes of data already written to the socket */
	size_t max;             /* cap on len - sent */
	bool overflow;
	struct spot_budget *budget; /* charged for data (NULL: unlimited); set after rbuf_init */
};

void rbuf_init(struct rbuf *b, size_t max);
void rbuf_free(struct rbuf *b);
/* When everything was written, gives back a buffer over RBUF_KEEP bytes, or any buffer when `all`. */
#define RBUF_KEEP (256 * 1024)
void rbuf_shrink(struct rbuf *b, bool all);

void rbuf_raw(struct rbuf *b, const void *p, size_t n);
/* "+OK\r\n" */
void rbuf_status(struct rbuf *b, const char *s);
/* "-" fmt "\r\n"; fmt starts with the error code ("ERR ...", "OOM ..."); CR/LF in arguments become spaces. */
void rbuf_error(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rbuf_int(struct rbuf *b, long long v);
void rbuf_bulk(struct rbuf *b, const void *p, size_t n);
void rbuf_bulk_str(struct rbuf *b, const char *s);
void rbuf_nil(struct rbuf *b);
void rbuf_array(struct rbuf *b, long long n);

/* Bytes waiting to be written, and marking n of them written. */
static inline size_t rbuf_pending(const struct rbuf *b) { return b->len - b->sent; }
static inline const char *rbuf_next(const struct rbuf *b) { return b->data + b->sent; }
void rbuf_advance(struct rbuf *b, size_t n);

#endif
