#include "spot/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RBUF_MIN 4096

void rbuf_init(struct rbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void rbuf_free(struct rbuf *b)
{
	budget_release(b->budget, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = b->sent = 0;
}

void rbuf_shrink(struct rbuf *b, bool all)
{
	if (b->cap && !rbuf_pending(b) && (all || b->cap > RBUF_KEEP))
		rbuf_free(b);
}

/* Makes room for n more bytes; false (and overflow set) past the cap or when memory runs out. */
static bool reserve(struct rbuf *b, size_t n)
{
	size_t cap;
	char *nd;

	if (b->overflow)
		return false;
	if (n > b->max || rbuf_pending(b) > b->max - n) {
		b->overflow = true;
		return false;
	}
	if (b->len + n <= b->cap)
		return true;
	if (b->sent) {
		memmove(b->data, b->data + b->sent, b->len - b->sent);
		b->len -= b->sent;
		b->sent = 0;
		if (b->len + n <= b->cap)
			return true;
	}
	cap = b->cap ? b->cap : RBUF_MIN;
	while (cap < b->len + n)
		cap *= 2;
	if (!budget_grow(b->budget, b->cap, cap)) {
		b->overflow = true;
		return false;
	}
	nd = realloc(b->data, cap);
	if (!nd) {
		budget_release(b->budget, cap - b->cap);
		b->overflow = true;
		return false;
	}
	b->data = nd;
	b->cap = cap;
	return true;
}

void rbuf_raw(struct rbuf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void rbuf_advance(struct rbuf *b, size_t n)
{
	b->sent += n;
	if (b->sent == b->len)
		b->sent = b->len = 0;
}

/* Writes "<type><v>\r\n" at dst (room for 24 bytes); returns its length. A hot path (every bulk reply): no printf. */
static size_t format_prefixed(char *dst, char type, long long v)
{
	char digits[20];
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	size_t nd = 0, n = 0;

	do {
		digits[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	dst[n++] = type;
	if (v < 0)
		dst[n++] = '-';
	while (nd)
		dst[n++] = digits[--nd];
	dst[n++] = '\r';
	dst[n++] = '\n';
	return n;
}

static void prefixed(struct rbuf *b, char type, long long v)
{
	char hdr[24];

	rbuf_raw(b, hdr, format_prefixed(hdr, type, v));
}

void rbuf_status(struct rbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (!reserve(b, n + 3))
		return;
	b->data[b->len++] = '+';
	memcpy(b->data + b->len, s, n);
	b->len += n;
	memcpy(b->data + b->len, "\r\n", 2);
	b->len += 2;
}

void rbuf_error(struct rbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line + 1, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 4)
		n = sizeof(line) - 4;
	/* An error is one line: quoted client input must not break the framing. */
	for (int i = 1; i <= n; i++)
		if (line[i] == '\r' || line[i] == '\n')
			line[i] = ' ';
	line[0] = '-';
	memcpy(line + 1 + n, "\r\n", 2);
	rbuf_raw(b, line, (size_t)n + 3);
}

void rbuf_int(struct rbuf *b, long long v) { prefixed(b, ':', v); }

void rbuf_bulk(struct rbuf *b, const void *p, size_t n)
{
	char hdr[24];
	size_t h = format_prefixed(hdr, '$', (long long)n);

	/* One reservation for the whole reply: "$<n>\r\n", the bytes, "\r\n". */
	if (!reserve(b, h + n + 2))
		return;
	memcpy(b->data + b->len, hdr, h);
	memcpy(b->data + b->len + h, p, n);
	memcpy(b->data + b->len + h + n, "\r\n", 2);
	b->len += h + n + 2;
}

void rbuf_bulk_str(struct rbuf *b, const char *s) { rbuf_bulk(b, s, strlen(s)); }

void rbuf_nil(struct rbuf *b) { rbuf_raw(b, "$-1\r\n", 5); }

void rbuf_array(struct rbuf *b, long long n) { prefixed(b, '*', n); }
