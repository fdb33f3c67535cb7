#include "spot/resp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"
#include "common/inline.h"

#define ARGV_PRESIZE 1024
/* Internal result: an empty request ("*0", a blank inline line) was skipped; parse on. */
#define RESP_SKIP 2
#define BUF_MIN (16 * 1024)

void resp_init(struct resp_parser *p, const struct resp_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = lim;
	p->mbulk = -1;
	p->bulk = -1;
}

void resp_free(struct resp_parser *p)
{
	budget_release(p->budget, p->cap + p->argv_cap * sizeof(*p->argv));
	free(p->buf);
	free(p->argv);
	p->buf = NULL;
	p->argv = NULL;
	p->len = p->cap = p->pos = p->scan = p->argc = p->argv_cap = 0;
}

bool resp_parse_ll(const char *s, size_t n, long long *v)
{
	unsigned long long acc = 0, lim = LLONG_MAX;
	bool neg = false;
	size_t i = 0;

	if (n == 0 || n > 20)
		return false;
	if (s[0] == '-') {
		neg = true;
		lim = (unsigned long long)LLONG_MAX + 1;
		if (++i == n)
			return false;
	}
	if (s[i] == '0' && n - i > 1)
		return false;
	if (s[i] == '0' && neg)
		return false;
	/* Up to 18 digits cannot overflow (10^18 - 1 < LLONG_MAX): only longer numbers pay the check's division. */
	bool check = n - i > 18;

	for (; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || (check && acc > (lim - d) / 10))
			return false;
		acc = acc * 10 + d;
	}
	*v = neg ? (long long)(0 - acc) : (long long)acc;
	return true;
}

/*
 * The common header, "<digits>\r" with no sign, no leading zero and at most 18 digits, read in one pass over at most
 * `room` bytes at s: a pointer to its '\r' and *v set, or NULL when the line is not of that form or not all there,
 * and the caller takes the general path (memchr for the '\r', then resp_parse_ll), which gives the same answer for
 * every line this one accepts.
 */
static INLINE const char *quick_number(const char *s, size_t room, long long *v)
{
	size_t lim = room < 19 ? room : 19, i = 0;
	unsigned long long acc = 0;
	unsigned d0, d1;

	if (room == 0)
		return NULL;
	d0 = (unsigned)(s[0] - '0');
	/* One or two digits, most headers of a pipeline of small requests, without the loop. */
	if (room >= 2 && d0 <= 9 && s[1] == '\r') {
		*v = d0;
		return s + 1;
	}
	if (room >= 3 && d0 - 1 < 9 && (d1 = (unsigned)(s[1] - '0')) <= 9 && s[2] == '\r') {
		*v = d0 * 10 + d1;
		return s + 2;
	}
	for (; i < lim; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9)
			break;
		acc = acc * 10 + d;
	}
	if (i == 0 || i == lim || s[i] != '\r' || (s[0] == '0' && i > 1))
		return NULL;
	*v = (long long)acc;
	return s + i;
}

/* Moves the unparsed bytes to the front so that the buffer never grows for bytes already consumed. */
static void compact(struct resp_parser *p)
{
	size_t shift = p->pos;

	if (shift == 0)
		return;
	memmove(p->buf, p->buf + shift, p->len - shift);
	p->len -= shift;
	p->scan -= shift;
	p->pos = 0;
	for (size_t i = 0; i < p->argc; i++)
		p->argv[i].off -= shift;
}

/* The unparsed bytes may not pass max_query. */
static bool query_fits(const struct resp_parser *p, size_t n)
{
	return n <= p->lim->max_query && resp_pending(p) <= p->lim->max_query - n;
}

int resp_commit(struct resp_parser *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > p->cap - p->len || !query_fits(p, n))
		return -ENOBUFS;
	p->len += n;
	return 0;
}

int resp_reserve(struct resp_parser *p, size_t n)
{
	if (!query_fits(p, n))
		return -ENOBUFS;
	if (p->len + n > p->cap)
		compact(p);
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : BUF_MIN;
		char *nb;

		while (cap < p->len + n)
			cap *= 2;
		if (!budget_grow(p->budget, p->cap, cap))
			return -ENOMEM;
		nb = realloc(p->buf, cap);
		if (!nb) {
			budget_release(p->budget, cap - p->cap);
			return -ENOMEM;
		}
		p->buf = nb;
		p->cap = cap;
	}
	return 0;
}

int resp_feed(struct resp_parser *p, const void *data, size_t n)
{
	int err;

	if (n == 0)
		return 0;
	err = resp_reserve(p, n);
	if (err)
		return err;
	memcpy(p->buf + p->len, data, n);
	p->len += n;
	return 0;
}

void resp_consume(struct resp_parser *p)
{
	p->pos = p->scan;
	p->mbulk = -1;
	p->bulk = -1;
	p->argc = 0;
	if (p->pos == p->len)
		p->pos = p->scan = p->len = 0;
}

void resp_shrink(struct resp_parser *p, bool all)
{
	if (p->len || p->mbulk >= 0)
		return;
	if (p->cap && (all || p->cap > RESP_KEEP)) {
		budget_release(p->budget, p->cap);
		free(p->buf);
		p->buf = NULL;
		p->cap = 0;
	}
	if (p->argv_cap && (all || p->argv_cap * sizeof(*p->argv) > RESP_KEEP)) {
		budget_release(p->budget, p->argv_cap * sizeof(*p->argv));
		free(p->argv);
		p->argv = NULL;
		p->argv_cap = 0;
	}
}

/* Resizes argv to cap entries (more than argc), charging the budget. */
static int resize_argv(struct resp_parser *p, size_t cap)
{
	size_t have = p->argv_cap * sizeof(*p->argv), want = cap * sizeof(*p->argv);
	struct resp_arg *na;

	if (!budget_grow(p->budget, have, want))
		return -ENOMEM;
	na = realloc(p->argv, want);
	if (!na) {
		budget_release(p->budget, want - have);
		return -ENOMEM;
	}
	p->argv = na;
	p->argv_cap = cap;
	return 0;
}

static int push_arg(struct resp_parser *p, size_t off, size_t len, size_t hint)
{
	if (p->argc == p->argv_cap) {
		size_t cap = p->argv_cap ? p->argv_cap * 2 : hint;

		if (cap < p->argc + 1)
			cap = p->argc + 1;
		if (resize_argv(p, cap) < 0)
			return -ENOMEM;
	}
	p->argv[p->argc].off = off;
	p->argv[p->argc].len = len;
	p->argc++;
	return 0;
}

/* isspace() in the C locale: what sdssplitargs skips between arguments. */
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* The byte at i of a line that ends at lend, where the end reads as NUL, as in the C string Redis splits. */
static char at(const char *buf, size_t i, size_t lend) { return i < lend ? buf[i] : '\0'; }

/* Decodes one quoted stretch starting after its opening quote at *i, writing the bytes at *w (never past *i: a
 * decoded byte is never longer than its source). Moves *i past the closing quote. False when the quotes do not
 * balance or the closing quote is glued to more text, as sdssplitargs refuses them. */
static bool unquote(char *buf, size_t *i, size_t lend, size_t *w, char q)
{
	for (;;) {
		char c = at(buf, *i, lend);

		if (c == '\0')
			return false;
		if (c == q) {
			char next = at(buf, *i + 1, lend);

			(*i)++;
			return next == '\0' || is_space(next);
		}
		if (q == '"' && c == '\\' && at(buf, *i + 1, lend) == 'x' && hex_digit(at(buf, *i + 2, lend)) >= 0 &&
		    hex_digit(at(buf, *i + 3, lend)) >= 0) {
			c = (char)(hex_digit(buf[*i + 2]) * 16 + hex_digit(buf[*i + 3]));
			*i += 3;
		} else if (q == '"' && c == '\\' && at(buf, *i + 1, lend)) {
			c = buf[++*i];
			c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c == 'b' ? '\b' : c == 'a' ? '\a' : c;
		} else if (q == '\'' && c == '\\' && at(buf, *i + 1, lend) == '\'') {
			c = buf[++*i];
		}
		buf[(*w)++] = c;
		(*i)++;
	}
}

/*
 * Splits an inline request line as Redis's sdssplitargs does: arguments apart by spaces, "double quotes" with
 * \n \r \t \b \a \xHH and \<any> escapes, 'single quotes' with \' only, a NUL byte ends the line. Each argument is
 * decoded in place in the buffer. Returns RESP_DONE, RESP_SKIP (a blank line) or RESP_ERROR.
 */
static int split_inline(struct resp_parser *p, size_t lend, const char **err)
{
	char *buf = p->buf;
	size_t i = p->pos;

	p->argc = 0;
	for (;;) {
		size_t tok, w;
		bool done = false;

		while (i < lend && is_space(buf[i]))
			i++;
		if (at(buf, i, lend) == '\0')
			return p->argc ? RESP_DONE : RESP_SKIP;
		tok = w = i;
		while (!done) {
			char c = at(buf, i, lend);

			if (c == '"' || c == '\'') {
				i++;
				if (!unquote(buf, &i, lend, &w, c)) {
					*err = "ERR Protocol error: unbalanced quotes in request";
					return RESP_ERROR;
				}
				done = at(buf, i, lend) == '\0' || is_space(buf[i]);
			} else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
				done = true;
			} else {
				buf[w++] = c;
				i++;
			}
		}
		if (push_arg(p, tok, w - tok, 16) < 0) {
			*err = RESP_ERR_OOM;
			return RESP_ERROR;
		}
	}
}

static int parse_inline(struct resp_parser *p, const char **err)
{
	const char *start = p->buf + p->pos;
	const char *nl = memchr(start, '\n', p->len - p->pos);
	size_t end;

	if (!nl) {
		if (p->len - p->pos > p->lim->max_inline) {
			*err = "ERR Protocol error: too big inline request";
			return RESP_ERROR;
		}
		return RESP_MORE;
	}
	end = (size_t)(nl - p->buf);
	p->scan = end + 1;
	/* A CR before the LF is part of the line end, as Redis strips it. */
	return split_inline(p, end > p->pos && p->buf[end - 1] == '\r' ? end - 1 : end, err);
}

/* Reads a "*N" or "$L" header line at p->scan: 1 and *v set, 0 when incomplete, -1 on a bad or long line. */
static INLINE int read_header(struct resp_parser *p, long long *v, const char **err, const char *too_big)
{
	const char *start = p->buf + p->scan;
	const char *cr = quick_number(start + 1, p->len - p->scan - 1, v);

	if (cr && (size_t)(cr - p->buf) + 1 < p->len) {
		p->scan = (size_t)(cr - p->buf) + 2;
		return 1;
	}
	cr = memchr(start, '\r', p->len - p->scan);
	if (!cr || (size_t)(cr - p->buf) + 1 >= p->len) {
		if (p->len - p->scan > p->lim->max_inline) {
			*err = too_big;
			return -1;
		}
		return 0;
	}
	if (!resp_parse_ll(start + 1, (size_t)(cr - start) - 1, v))
		*v = LLONG_MIN;
	p->scan = (size_t)(cr - p->buf) + 2;
	return 1;
}

static int parse_multibulk(struct resp_parser *p, const char **err)
{
	long long v;
	int r;

	if (p->mbulk < 0) {
		r = read_header(p, &v, err, "ERR Protocol error: too big mbulk count string");
		if (r <= 0)
			return r < 0 ? RESP_ERROR : RESP_MORE;
		if (v == LLONG_MIN || v > INT_MAX) {
			*err = "ERR Protocol error: invalid multibulk length";
			return RESP_ERROR;
		}
		if (v > 0 && (uint64_t)v > p->lim->max_argc) {
			*err = p->lim->argc_err;
			return RESP_ERROR;
		}
		if (v <= 0) {
			/* "*0" and "*-1" are empty requests: skipped, like Redis does. */
			return RESP_SKIP;
		}
		p->mbulk = v;
		p->argc = 0;
		if (p->argv_cap < ARGV_PRESIZE && p->argv_cap < (size_t)v &&
		    resize_argv(p, v < ARGV_PRESIZE ? (size_t)v : ARGV_PRESIZE) < 0) {
			*err = RESP_ERR_OOM;
			return RESP_ERROR;
		}
	}
	while (p->mbulk > 0) {
		if (p->bulk < 0) {
			if (p->scan >= p->len)
				return RESP_MORE;
			if (p->buf[p->scan] != '$') {
				snprintf(p->err, sizeof(p->err), "ERR Protocol error: expected '$', got '%c'",
					 p->buf[p->scan]);
				*err = p->err;
				return RESP_ERROR;
			}
			r = read_header(p, &v, err, "ERR Protocol error: too big bulk count string");
			if (r <= 0)
				return r < 0 ? RESP_ERROR : RESP_MORE;
			if (v == LLONG_MIN || v < 0) {
				*err = "ERR Protocol error: invalid bulk length";
				return RESP_ERROR;
			}
			if ((uint64_t)v > p->lim->max_bulk) {
				*err = p->lim->bulk_err;
				return RESP_ERROR;
			}
			p->bulk = v;
		}
		if (p->len - p->scan < (size_t)p->bulk + 2)
			return RESP_MORE;
		if (push_arg(p, p->scan, (size_t)p->bulk, ARGV_PRESIZE) < 0) {
			*err = RESP_ERR_OOM;
			return RESP_ERROR;
		}
		p->scan += (size_t)p->bulk + 2;
		p->bulk = -1;
		p->mbulk--;
	}
	return RESP_DONE;
}

enum resp_status resp_parse(struct resp_parser *p, const char **err)
{
	for (;;) {
		int st;

		if (p->mbulk < 0) {
			p->scan = p->pos;
			if (p->pos == p->len)
				return RESP_MORE;
		}
		if (p->mbulk >= 0 || p->buf[p->pos] == '*')
			st = parse_multibulk(p, err);
		else
			st = parse_inline(p, err);
		if (st != RESP_SKIP)
			return (enum resp_status)st;
		resp_consume(p);
	}
}

/* Reads "<c><number>\r\n" at *i (before end): true, *v and *i moved past it, or false. */
static INLINE bool peek_header(const char *buf, size_t *i, size_t end, char c, long long *v)
{
	const char *start = buf + *i;
	size_t room = end - *i < 24 ? end - *i : 24;
	const char *cr;

	if (room < 4 || *start != c)
		return false;
	cr = quick_number(start + 1, room - 2, v);
	if (cr && cr[1] == '\n') {
		*i = (size_t)(cr - buf) + 2;
		return true;
	}
	cr = memchr(start, '\r', room - 1);
	if (!cr || cr[1] != '\n' || !resp_parse_ll(start + 1, (size_t)(cr - start) - 1, v))
		return false;
	*i = (size_t)(cr - buf) + 2;
	return true;
}

/* At most this many argument headers are read per resp_peek_keys call, so that a long request arriving in pieces
 * is not scanned again and again from its start. */
#define PEEK_MAX_ARGS 1024

/* Whether argument a of a request of argc arguments is a key under ks. */
static bool is_key_arg(const struct resp_keyspec *ks, long long a, long long argc)
{
	long long last = ks->last < 0 ? argc + ks->last : ks->last;

	return ks->first > 0 && a >= ks->first && a <= last && (a - ks->first) % ks->step == 0;
}

size_t resp_peek_keys(const struct resp_parser *p, resp_keyspec_fn spec, struct resp_span *keys, size_t max)
{
	size_t i = p->pos, end = p->len, got = 0, budget = PEEK_MAX_ARGS;

	while (got < max && i < end) {
		struct resp_keyspec ks = { 0, 0, 1 };
		long long argc, len;

		if (!peek_header(p->buf, &i, end, '*', &argc) || argc < 1 || (uint64_t)argc > p->lim->max_argc)
			return got;
		for (long long a = 0; a < argc; a++) {
			if (budget-- == 0 || got == max)
				return got;
			if (!peek_header(p->buf, &i, end, '$', &len) || len < 0 || (uint64_t)len > p->lim->max_bulk ||
			    end - i < (size_t)len + 2)
				return got;
			if (a == 0 && (!spec(p->buf + i, (size_t)len, &ks) || ks.step < 1))
				ks.first = 0;
			else if (a > 0 && is_key_arg(&ks, a, argc))
				keys[got++] = (struct resp_span){ p->buf + i, (size_t)len };
			i += (size_t)len + 2;
		}
	}
	return got;
}
