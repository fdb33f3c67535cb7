/*
 * resp: an incremental RESP2 request parser (multibulk "*N\r\n$L\r\n..." and inline "CMD a b\r\n").
 * Bytes are fed as they arrive; resp_parse() resumes where it stopped, so a request split over many reads is
 * scanned once. Every limit is checked before the buffer or argv grows, the shape of Redis's networking.c.
 * Arguments are (offset, length) pairs into the parser's buffer: valid until the next resp_feed/resp_consume.
 */
#ifndef USBD_SPOT_RESP_H
#define USBD_SPOT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/budget.h"

struct resp_limits {
	size_t max_inline;      /* longest inline request line, and longest "*N" / "$L" header line */
	uint64_t max_bulk;      /* largest bulk argument */
	uint64_t max_argc;      /* most arguments in one multibulk request */
	size_t max_query;       /* most unparsed bytes buffered for one client */
	const char *bulk_err;   /* error text for a bulk over max_bulk (differs before AUTH) */
	const char *argc_err;   /* error text for an argc over max_argc */
};

/* Redis's limits after AUTH (bulk capped by the caller at the largest storable value) and before it. */
#define RESP_MAX_INLINE (64 * 1024)
#define RESP_MAX_ARGC (1024 * 1024)
#define RESP_MAX_QUERY (64 * 1024 * 1024)
#define RESP_NOAUTH_MAX_BULK 16384
#define RESP_NOAUTH_MAX_ARGC 10

/* The error when a buffer cannot grow (no memory, or the clients' budget is spent); the connection is closed. */
#define RESP_ERR_OOM "OOM client memory budget exhausted; closing the connection"

struct resp_arg {
	size_t off, len;
};

struct resp_parser {
	const struct resp_limits *lim;
	char *buf;
	size_t len, cap;
	size_t pos;             /* start of the current request */
	size_t scan;            /* where parsing resumes */
	int64_t mbulk;          /* arguments still expected; -1 while no multibulk header was read */
	int64_t bulk;           /* length of the bulk being read; -1 while its "$L" header is pending */
	struct resp_arg *argv;
	size_t argc, argv_cap;
	char err[64];           /* room for an error text that quotes input */
	struct spot_budget *budget; /* charged for buf and argv (NULL: unlimited); set after resp_init */
};

enum resp_status { RESP_ERROR = -1, RESP_MORE = 0, RESP_DONE = 1 };

void resp_init(struct resp_parser *p, const struct resp_limits *lim);
void resp_free(struct resp_parser *p);
/* Switches limits (after AUTH); takes effect for the next header parsed. */
static inline void resp_set_limits(struct resp_parser *p, const struct resp_limits *lim) { p->lim = lim; }

/* Appends received bytes. Returns 0, -ENOBUFS when the unparsed bytes would exceed max_query (the caller
 * closes the client), or -ENOMEM (no memory, or the budget refused the growth). */
int resp_feed(struct resp_parser *p, const void *data, size_t n);

/* Bytes buffered but not yet parsed into a finished request. */
static inline size_t resp_pending(const struct resp_parser *p) { return p->len - p->pos; }

/* Room for a read straight into the buffer: *at is where the next bytes go; returns how many fit without the
 * buffer growing or moving and without the unparsed bytes passing max_query (0 before the first resp_feed, and
 * at the cap). resp_commit(p, n) then takes n bytes written there as resp_feed would have taken them (the same
 * -ENOBUFS; never -ENOMEM). */
static inline size_t resp_room(const struct resp_parser *p, char **at)
{
	size_t room = p->cap - p->len, pending = resp_pending(p);
	size_t left = pending < p->lim->max_query ? p->lim->max_query - pending : 0;

	*at = p->buf ? p->buf + p->len : NULL;
	return room < left ? room : left;
}
int resp_commit(struct resp_parser *p, size_t n);
/* Makes resp_room at least n, as resp_feed of n bytes would (the unparsed bytes moved to the front, the buffer grown
 * and charged to the budget): 0, or resp_feed's -ENOBUFS / -ENOMEM with nothing grown. A read can then go straight
 * into the buffer instead of being copied in. */
int resp_reserve(struct resp_parser *p, size_t n);

/*
 * Parses the next request. RESP_DONE: p->argc arguments are ready (argc >= 1); call resp_consume() once they
 * are used. RESP_MORE: wait for more bytes. RESP_ERROR: *err is Redis's error text without "-" or CRLF
 * (e.g. "ERR Protocol error: invalid bulk length"); the connection must be answered and closed.
 */
enum resp_status resp_parse(struct resp_parser *p, const char **err);

/* Drops the request just returned by RESP_DONE. */
void resp_consume(struct resp_parser *p);

/* When nothing is buffered, gives back the buffers a large request left (over RESP_KEEP bytes each), or all of
 * them when `all`; the next bytes allocate afresh. Does nothing while a request is pending. */
#define RESP_KEEP (256 * 1024)
void resp_shrink(struct resp_parser *p, bool all);

/* A stretch of the parser's buffer. */
struct resp_span {
	const char *p;
	size_t n;
};

/* Where a command's keys are: arguments first to last (negative: counted from the end, -1 the last) by step. */
struct resp_keyspec {
	int first, last, step;
};
/* Says whether the command named (name, n) has keys, and where. */
typedef bool (*resp_keyspec_fn)(const char *name, size_t n, struct resp_keyspec *ks);

/*
 * Finds the keys of the complete multibulk requests buffered from the current request on, without parsing them
 * (nothing changes): a hint for prefetching; spec says where each command's keys are. Stores at most max keys
 * (pointing into the buffer, valid until the next resp_feed or resp_consume) and returns how many. Stops at the
 * first request it cannot read whole and cheaply (inline, incomplete, malformed): resp_parse judges those.
 */
size_t resp_peek_keys(const struct resp_parser *p, resp_keyspec_fn spec, struct resp_span *keys, size_t max);

/* Redis's string2ll: an optional '-', then digits without leading zeros, nothing else; true if it fits. */
bool resp_parse_ll(const char *s, size_t n, long long *v);

static inline const char *resp_arg_ptr(const struct resp_parser *p, size_t i) { return p->buf + p->argv[i].off; }

#endif
