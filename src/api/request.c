/*
 * request: a reader of JSON request bodies that refuses them as serde_json 1.0.149 refuses them when Firecracker
 * deserializes a struct (serde_json's de.rs and read.rs: the order of checks, the error texts and their
 * positions). Positions are serde_json's: after "line L column C", C counts the bytes of line L read so far;
 * errors found on the next byte (peek errors) count it too.
 */
#include "api/request.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/text.h"

#define DESERIALIZE_PREFIX "An error occurred when deserializing the json body of a request: "
/* serde_json's recursion limit (only ignored values nest here). */
#define MAX_DEPTH 128
/* Decoded strings longer than this are cut when echoed. */
#define ECHO_MAX 64

enum kind { KIND_U16, KIND_U32, KIND_MIB, KIND_BOOL, KIND_SECRET };

/* One field of a request struct: where it goes in the output struct and which bit marks it present. */
struct field {
	const char *name;
	enum kind kind;
	bool required;
	size_t offset;
	unsigned int bit;
};

struct spec {
	const char *expecting;		/* serde's "struct BalloonDeviceConfig" */
	const struct field *fields;
	size_t n;
	bool deny_unknown;		/* false: unknown fields are read and ignored */
};

/* The body being read; the first error ends the reading. */
struct reader {
	const unsigned char *s;
	size_t len, i;
	char *err;
	size_t err_len;
};

static const char *const kind_expecting[] = {
	[KIND_U16] = "u16", [KIND_U32] = "u32", [KIND_MIB] = "u64 of at most 17592186044415 (MiB)",
	[KIND_BOOL] = "a boolean", [KIND_SECRET] = "a string",
};
static_assert(API_MIB_MAX == UINT64_C(17592186044415), "KIND_MIB's expectation names API_MIB_MAX");
static const uint64_t kind_max[] = { [KIND_U16] = UINT16_MAX, [KIND_U32] = UINT32_MAX, [KIND_MIB] = API_MIB_MAX };

/* Writes the message with the position of byte index at, serde_json's way. Returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct reader *r, size_t at, const char *fmt, ...)
{
	size_t line = 1, start = 0, n;
	va_list ap;

	for (size_t k = 0; k < at; k++)
		if (r->s[k] == '\n') {
			line++;
			start = k + 1;
		}
	n = (size_t)snprintf(r->err, r->err_len, DESERIALIZE_PREFIX);
	if (n < r->err_len) {
		va_start(ap, fmt);
		n += (size_t)vsnprintf(r->err + n, r->err_len - n, fmt, ap);
		va_end(ap);
	}
	if (n < r->err_len)
		snprintf(r->err + n, r->err_len - n, " at line %zu column %zu.", line, at - start);
	return -EINVAL;
}

/* An error about what was read so far (serde_json's error()). */
#define fail_here(r, ...) fail_at(r, (r)->i, __VA_ARGS__)
/* An error about the next byte (peek_error()). */
#define fail_peek(r, ...) fail_at(r, (r)->i < (r)->len ? (r)->i + 1 : (r)->len, __VA_ARGS__)

static int peek(const struct reader *r) { return r->i < r->len ? r->s[r->i] : -1; }

static int skip_ws(struct reader *r)
{
	while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\n' || r->s[r->i] == '\t' || r->s[r->i] == '\r'))
		r->i++;
	return peek(r);
}

/* Rust's {:?} of a string, cut to ECHO_MAX bytes, bytes outside ASCII shown as '?'. */
static void debug_str(char *dst, size_t len, const char *s, size_t n)
{
	size_t o = 0;

	o += (size_t)snprintf(dst, len, "%s", "\"");
	for (size_t k = 0; k < n && k < ECHO_MAX && o < len; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(dst + o, len - o, "\\%c", c);
		else if (c == '\n' || c == '\r' || c == '\t' || c == '\0')
			o += (size_t)snprintf(dst + o, len - o, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : c ? 't' : '0');
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(dst + o, len - o, "\\u{%x}", c);
		else
			o += (size_t)snprintf(dst + o, len - o, "%c", c < 0x80 ? c : '?');
	}
	if (o < len)
		snprintf(dst + o, len - o, "%s\"", n > ECHO_MAX ? "..." : "");
}

/* Appends code point cp as UTF-8 to buf (cap bytes; the rest is dropped: only ECHO_MAX bytes are ever shown). */
static void put_utf8(char *buf, size_t cap, size_t *n, uint32_t cp)
{
	unsigned char b[4];
	size_t k = 0;

	if (cp < 0x80) {
		b[k++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		b[k++] = (unsigned char)(0xc0 | cp >> 6);
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		b[k++] = (unsigned char)(0xe0 | cp >> 12);
		b[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		b[k++] = (unsigned char)(0xf0 | cp >> 18);
		b[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	}
	for (size_t j = 0; j < k; j++, (*n)++)
		if (*n < cap)
			buf[*n] = (char)b[j];
}

/* Four hex digits of a \u escape. */
static int hex4(struct reader *r, uint32_t *out)
{
	*out = 0;
	for (int k = 0; k < 4; k++) {
		int c;

		if (r->i >= r->len)
			return fail_here(r, "EOF while parsing a string");
		c = r->s[r->i++];
		if (c >= '0' && c <= '9')
			*out = *out * 16 + (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*out = *out * 16 + (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return fail_here(r, "invalid escape");
	}
	return 0;
}

/* ignore: the string is skipped (serde_json's ignore_str), whose \u escapes are not decoded nor checked. */
static int parse_escape(struct reader *r, char *buf, size_t cap, size_t *n, bool ignore)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;
	uint32_t cp, lo;
	int c, rc;

	if (r->i >= r->len)
		return fail_here(r, "EOF while parsing a string");
	c = r->s[r->i++];
	if (c && (p = strchr(from, c))) {
		put_utf8(buf, cap, n, (unsigned char)to[p - from]);
		return 0;
	}
	if (c != 'u')
		return fail_here(r, "invalid escape");
	if ((rc = hex4(r, &cp)) || ignore)
		return rc;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail_here(r, "lone leading surrogate in hex escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* serde_json reads the two bytes that should be "\\u" before it complains. */
		for (const char *want = "\\u"; *want; want++) {
			if (r->i >= r->len)
				return fail_here(r, "EOF while parsing a string");
			if (r->s[r->i++] != (unsigned char)*want)
				return fail_here(r, "unexpected end of hex escape");
		}
		if ((rc = hex4(r, &lo)))
			return rc;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail_here(r, "lone leading surrogate in hex escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(buf, cap, n, cp);
	return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t want = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5 || !want || want > n)
		return 0;
	for (size_t k = 1; k < want; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return want;
}

/*
 * Reads a string whose opening quote was consumed; stores up to cap bytes of it and its full length in *n.
 * ignore: skipped as serde_json skips an ignored value's strings (escapes unchecked, errors before the byte).
 */
static int parse_string_as(struct reader *r, char *buf, size_t cap, size_t *n, bool ignore)
{
	*n = 0;
	for (;;) {
		unsigned char c;
		size_t u;
		int rc;

		if (r->i >= r->len)
			return fail_here(r, "EOF while parsing a string");
		c = r->s[r->i];
		if (c == '"') {
			r->i++;
			return 0;
		}
		if (c == '\\') {
			r->i++;
			if ((rc = parse_escape(r, buf, cap, n, ignore)))
				return rc;
			continue;
		}
		if (c < 0x20) {
			r->i += !ignore;
			return fail_here(r, "control character (\\u0000-\\u001F) found while parsing a string");
		}
		u = c < 0x80 || ignore ? 1 : utf8_len(r->s + r->i, r->len - r->i);
		if (!u) {
			r->i++;
			return fail_here(r, "invalid unicode code point");
		}
		for (size_t k = 0; k < u; k++, (*n)++)
			if (*n < cap)
				buf[*n] = (char)r->s[r->i + k];
		r->i += u;
	}
}

static int parse_string(struct reader *r, char *buf, size_t cap, size_t *n)
{
	return parse_string_as(r, buf, cap, n, false);
}

/* A number as serde_json reads it: an unsigned or negative integer, or a float. */
struct number {
	enum { NUM_U64, NUM_I64, NUM_F64 } type;
	uint64_t u;
	int64_t i;
	double f;
};

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* The fraction and exponent of a float; from is where its text starts. */
static int parse_float_tail(struct reader *r, size_t from, struct number *num)
{
	char text[64];
	size_t n;

	if (peek(r) == '.') {
		r->i++;
		if (!is_digit(peek(r)))
			return r->i < r->len ? fail_peek(r, "invalid number") : fail_peek(r, "EOF while parsing a value");
		while (is_digit(peek(r)))
			r->i++;
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		bool positive_exp, zero = strspn((const char *)r->s + from, "-0.") >= r->i - from;
		int64_t exp;

		r->i++;
		positive_exp = peek(r) != '-';
		if (peek(r) == '+' || peek(r) == '-')
			r->i++;
		if (r->i >= r->len)
			return fail_here(r, "EOF while parsing a value");
		if (!is_digit(r->s[r->i]))
			return r->i++, fail_here(r, "invalid number");
		for (exp = 0; is_digit(peek(r)); r->i++) {
			exp = exp * 10 + (r->s[r->i] - '0');
			/* serde_json's exponent is an i32: beyond it, a non-zero number with a positive exponent is out of range */
			if (exp > INT32_MAX && !zero && positive_exp)
				return r->i++, fail_here(r, "number out of range");
			if (exp > INT32_MAX)
				exp = INT32_MAX;
		}
	}
	n = r->i - from;
	if (n >= sizeof(text))
		n = sizeof(text) - 1;	/* digits past 63 cannot change the double that matters in a message */
	memcpy(text, r->s + from, n);
	text[n] = '\0';
	num->type = NUM_F64;
	num->f = strtod(text, NULL);
	return isinf(num->f) ? fail_here(r, "number out of range") : 0;
}

/* serde_json's parse_integer/parse_number: the sign (if any) was consumed; from is where the number starts. */
static int parse_number(struct reader *r, bool positive, size_t from, struct number *num)
{
	uint64_t v = 0;
	int c;

	if (r->i >= r->len)
		return fail_here(r, "EOF while parsing a value");
	c = r->s[r->i++];
	if (c == '0') {
		if (is_digit(peek(r)))
			return fail_peek(r, "invalid number");
	} else if (c >= '1' && c <= '9') {
		v = (uint64_t)(c - '0');
		while (is_digit(c = peek(r))) {
			if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10) {
				while (is_digit(peek(r)))
					r->i++;
				return parse_float_tail(r, from, num);
			}
			v = v * 10 + (uint64_t)(c - '0');
			r->i++;
		}
	} else {
		return fail_here(r, "invalid number");
	}
	if (peek(r) == '.' || peek(r) == 'e' || peek(r) == 'E')
		return parse_float_tail(r, from, num);
	if (positive) {
		num->type = NUM_U64;
		num->u = v;
	} else if ((int64_t)(0 - v) < 0) {
		num->type = NUM_I64;
		num->i = (int64_t)(0 - v);
	} else {
		num->type = NUM_F64;	/* -0 and magnitudes beyond i64 are floats to serde_json */
		num->f = -(double)v;
	}
	return 0;
}

/* A double the way serde_json prints one (shortest round-trip digits, ryu's layout: "1.5", "1.0", "1e20"). */
static void format_float(char *dst, size_t len, double f)
{
	char sci[40], digits[24], zeros[24];
	int prec, exp, nd = 0, point;
	const char *p, *sign = signbit(f) ? "-" : "";

	for (prec = 0; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec, f);
		if (strtod(sci, NULL) == f)
			break;
	}
	for (p = sci; *p && *p != 'e'; p++)
		if (is_digit(*p))
			digits[nd++] = *p;
	digits[nd] = '\0';
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	point = exp + 1;	/* digits before the decimal point */
	memset(zeros, '0', sizeof(zeros));
	if (point >= nd && point <= 16)
		snprintf(dst, len, "%s%s%.*s.0", sign, digits, point - nd, zeros);
	else if (point > 0 && point <= 16)
		snprintf(dst, len, "%s%.*s.%s", sign, point, digits, digits + point);
	else if (point > -5 && point <= 0)
		snprintf(dst, len, "%s0.%.*s%s", sign, -point, zeros, digits);
	else if (nd == 1)
		snprintf(dst, len, "%s%se%d", sign, digits, exp);
	else
		snprintf(dst, len, "%s%c.%se%d", sign, digits[0], digits + 1, exp);
}

/* serde's Unexpected for a number, as serde_json prints it. */
static void describe_number(char *dst, size_t len, const struct number *num)
{
	char f[40];

	if (num->type == NUM_U64)
		snprintf(dst, len, "integer `%llu`", (unsigned long long)num->u);
	else if (num->type == NUM_I64)
		snprintf(dst, len, "integer `%lld`", (long long)num->i);
	else {
		format_float(f, sizeof(f), num->f);
		snprintf(dst, len, "floating point `%s`", f);
	}
}

static int parse_ident(struct reader *r, const char *rest)
{
	for (; *rest; rest++) {
		if (r->i >= r->len)
			return fail_here(r, "EOF while parsing a value");
		if (r->s[r->i++] != (unsigned char)*rest)
			return fail_here(r, "expected ident");
	}
	return 0;
}

/* serde_json's peek_invalid_type: the value ahead is of the wrong type for what is expected. */
static int invalid_type(struct reader *r, const char *expecting)
{
	char what[TEXT_QUOTE_LEN * 2 + 32], buf[ECHO_MAX];
	struct number num;
	size_t n, from = r->i;
	int c = peek(r), rc;

	switch (c) {
	case 'n':
	case 't':
	case 'f':
		r->i++;
		if ((rc = parse_ident(r, c == 'n' ? "ull" : c == 't' ? "rue" : "alse")))
			return rc;
		if (c == 'n')
			snprintf(what, sizeof(what), "null");
		else
			snprintf(what, sizeof(what), "boolean `%s`", c == 't' ? "true" : "false");
		break;
	case '"':
		r->i++;
		if ((rc = parse_string(r, buf, sizeof(buf), &n)))
			return rc;
		snprintf(what, sizeof(what), "string ");
		debug_str(what + 7, sizeof(what) - 7, buf, n);
		break;
	case '[':
	case '{':
		snprintf(what, sizeof(what), "%s", c == '[' ? "sequence" : "map");
		break;
	default:
		if (c != '-' && !is_digit(c))
			return fail_peek(r, "expected value");
		r->i += c == '-';
		if ((rc = parse_number(r, c != '-', from, &num)))
			return rc;
		describe_number(what, sizeof(what), &num);
	}
	return fail_here(r, "invalid type: %s, expected %s", what, expecting);
}

/* Reads one field's value into dst (serde's deserialize_bool / deserialize_u16...). */
static int parse_value(struct reader *r, const struct field *f, char *dst)
{
	struct number num;
	size_t from;
	int c = skip_ws(r), rc;

	if (c < 0)
		return fail_peek(r, "EOF while parsing a value");
	if (f->kind == KIND_BOOL) {
		if (c != 't' && c != 'f')
			return invalid_type(r, kind_expecting[f->kind]);
		r->i++;
		if ((rc = parse_ident(r, c == 't' ? "rue" : "alse")))
			return rc;
		*(bool *)(dst + f->offset) = c == 't';
		return 0;
	}
	if (f->kind == KIND_SECRET) {
		char *out = dst + f->offset;
		size_t n;

		if (c != '"')
			return invalid_type(r, kind_expecting[f->kind]);
		r->i++;
		rc = parse_string(r, out, API_TENANT_PASSWORD_LEN, &n);
		if (!rc && (n == 0 || n >= API_TENANT_PASSWORD_LEN))
			rc = fail_here(r, "invalid length %zu, expected a string of 1 to %d bytes", n,
				       API_TENANT_PASSWORD_LEN - 1);
		if (rc) {
			/* Never the secret in a message, nor left behind. */
			explicit_bzero(out, API_TENANT_PASSWORD_LEN);
			return rc;
		}
		out[n] = '\0';
		return 0;
	}
	if (c != '-' && !is_digit(c))
		return invalid_type(r, kind_expecting[f->kind]);
	from = r->i;
	r->i += c == '-';
	if ((rc = parse_number(r, c != '-', from, &num)))
		return rc;
	if (num.type == NUM_F64) {
		char what[64];

		describe_number(what, sizeof(what), &num);
		return fail_here(r, "invalid type: %s, expected %s", what, kind_expecting[f->kind]);
	}
	if (num.type == NUM_I64)
		return fail_here(r, "invalid value: integer `%lld`, expected %s", (long long)num.i,
				 kind_expecting[f->kind]);
	if (num.u > kind_max[f->kind])
		return fail_here(r, "invalid value: integer `%llu`, expected %s", (unsigned long long)num.u,
				 kind_expecting[f->kind]);
	if (f->kind == KIND_U16)
		*(uint16_t *)(dst + f->offset) = (uint16_t)num.u;
	else if (f->kind == KIND_U32)
		*(uint32_t *)(dst + f->offset) = (uint32_t)num.u;
	else
		*(uint64_t *)(dst + f->offset) = num.u;
	return 0;
}

/* serde_json's ignore_value: an unknown field of a struct that allows them. */
static int skip_value(struct reader *r, int depth)
{
	char buf[1];
	struct number num;
	size_t n, from;
	int c = skip_ws(r), rc;

	if (c < 0)
		return fail_peek(r, "EOF while parsing a value");
	if (c == 'n' || c == 't' || c == 'f') {
		r->i++;
		return parse_ident(r, c == 'n' ? "ull" : c == 't' ? "rue" : "alse");
	}
	if (c == '"') {
		r->i++;
		return parse_string_as(r, buf, 0, &n, true);
	}
	if (c == '-' || is_digit(c)) {
		from = r->i;
		r->i += c == '-';
		return parse_number(r, c != '-', from, &num);
	}
	if (c != '[' && c != '{')
		return fail_peek(r, "expected value");
	if (depth >= MAX_DEPTH)
		return fail_peek(r, "recursion limit exceeded");
	r->i++;
	for (bool first = true;; first = false) {
		int close = c == '[' ? ']' : '}', d = skip_ws(r);

		if (d == close) {
			r->i++;
			return 0;
		}
		if (!first) {
			if (d != ',')
				return d < 0 ? fail_peek(r, c == '[' ? "EOF while parsing a list" :
									"EOF while parsing an object")
					     : fail_peek(r, c == '[' ? "expected `,` or `]`" : "expected `,` or `}`");
			r->i++;
			d = skip_ws(r);	/* serde_json's ignore_value has no trailing-comma check */
		}
		if (c == '{') {
			if (d != '"')
				return d < 0 ? fail_peek(r, "EOF while parsing a value") : fail_peek(r, "key must be a string");
			r->i++;
			if ((rc = parse_string_as(r, buf, 0, &n, true)))
				return rc;
			d = skip_ws(r);
			if (d != ':')
				return d < 0 ? fail_peek(r, "EOF while parsing an object") : fail_peek(r, "expected `:`");
			r->i++;
		}
		if ((rc = skip_value(r, depth + 1)))
			return rc;
	}
}

static const struct field *find_field(const struct spec *sp, const char *name, size_t n)
{
	for (size_t k = 0; k < sp->n; k++)
		if (strlen(sp->fields[k].name) == n && !memcmp(sp->fields[k].name, name, n))
			return &sp->fields[k];
	return NULL;
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static void one_of(char *dst, size_t len, const struct spec *sp)
{
	size_t o = (size_t)snprintf(dst, len, "%s", sp->n > 2 ? "one of " : "");

	for (size_t k = 0; k < sp->n && o < len; k++)
		o += (size_t)snprintf(dst + o, len - o, "%s`%s`", !k ? "" : sp->n == 2 ? " or " : ", ",
				      sp->fields[k].name);
}

/*
 * An error raised by serde on a key: unknown field (expected: the accepted names) or duplicate field (NULL). Its
 * position is taken after serde_json's end_map has skipped blanks and a closing brace.
 */
static int key_error(struct reader *r, const char *key, size_t n, const char *expected)
{
	char shown[ECHO_MAX + 1], name[TEXT_QUOTE_LEN];

	for (size_t k = 0; k < n && k < ECHO_MAX; k++)
		shown[k] = key[k] ? key[k] : '?';	/* a \u0000 in a name must not end it */
	shown[n < ECHO_MAX ? n : ECHO_MAX] = '\0';
	if (skip_ws(r) == '}')
		r->i++;
	text_printable(name, sizeof(name), shown);
	if (n > ECHO_MAX && strlen(name) + 4 <= sizeof(name))
		strcat(name, "...");
	if (expected)
		return fail_here(r, "unknown field `%s`, expected %s", name, expected);
	return fail_here(r, "duplicate field `%s`", name);
}

/* The members of an object whose '{' was consumed, up to and including its '}'. */
static int parse_members(struct reader *r, const struct spec *sp, char *dst, unsigned int *present)
{
	char key[ECHO_MAX + 1], expected[256];
	size_t n;
	int rc;

	for (bool first = true;; first = false) {
		const struct field *f;
		int c = skip_ws(r);

		if (c < 0)
			return fail_peek(r, "EOF while parsing an object");
		if (c == '}') {
			r->i++;
			return 0;
		}
		if (!first) {
			if (c != ',')
				return fail_peek(r, "expected `,` or `}`");
			r->i++;
			c = skip_ws(r);
			if (c < 0)
				return fail_peek(r, "EOF while parsing a value");
		}
		if (c == '}')
			return fail_peek(r, "trailing comma");
		if (c != '"')
			return fail_peek(r, "key must be a string");
		r->i++;
		if ((rc = parse_string(r, key, sizeof(key) - 1, &n)))
			return rc;
		f = n < sizeof(key) ? find_field(sp, key, n) : NULL;
		if (!f && sp->deny_unknown) {
			one_of(expected, sizeof(expected), sp);
			return key_error(r, key, n, expected);
		}
		if (f && (*present & f->bit))
			return key_error(r, key, n, NULL);
		c = skip_ws(r);
		if (c != ':')
			return c < 0 ? fail_peek(r, "EOF while parsing an object") : fail_peek(r, "expected `:`");
		r->i++;
		if ((rc = f ? parse_value(r, f, dst) : skip_value(r, 0)))
			return rc;
		if (f)
			*present |= f->bit;
	}
}

/* serde_json::from_slice of a struct: the object, its required fields, then nothing but blanks. */
static int parse_struct(const char *body, size_t len, const struct spec *sp, void *dst, unsigned int *present,
			char *err, size_t err_len)
{
	struct reader r = { .s = (const unsigned char *)body, .len = len, .err = err, .err_len = err_len };
	int c = skip_ws(&r), rc;

	*present = 0;
	if (c < 0)
		return fail_peek(&r, "EOF while parsing a value");
	if (c == '[')	/* serde would read the struct from a sequence: not supported (request.h) */
		return fail_peek(&r, "invalid type: sequence, expected %s", sp->expecting);
	if (c != '{')
		return invalid_type(&r, sp->expecting);
	r.i++;
	if ((rc = parse_members(&r, sp, dst, present)))
		return rc;
	for (size_t k = 0; k < sp->n; k++)
		if (sp->fields[k].required && !(*present & sp->fields[k].bit))
			return fail_here(&r, "missing field `%s`", sp->fields[k].name);
	if (skip_ws(&r) >= 0)
		return fail_peek(&r, "trailing characters");
	return 0;
}

#define BALLOON_FIELD(member, kind, required, bit) \
	{ #member, kind, required, offsetof(struct api_balloon, member), bit }
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

int request_parse_balloon_put(const char *body, size_t len, struct api_balloon *out, char *err, size_t err_len)
{
	static const struct field fields[] = {
		BALLOON_FIELD(amount_mib, KIND_U32, true, 1u << 0),
		BALLOON_FIELD(deflate_on_oom, KIND_BOOL, true, 1u << 1),
		BALLOON_FIELD(stats_polling_interval_s, KIND_U16, false, 1u << 2),
		BALLOON_FIELD(free_page_hinting, KIND_BOOL, false, 1u << 3),
		BALLOON_FIELD(free_page_reporting, KIND_BOOL, false, 1u << 4),
	};
	static const struct spec sp = { "struct BalloonDeviceConfig", fields, N_OF(fields), true };
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &b, &present, err, err_len);

	if (!rc)
		*out = b;
	return rc;
}

int request_parse_balloon_patch(const char *body, size_t len, uint32_t *amount_mib, char *err, size_t err_len)
{
	static const struct field fields[] = { BALLOON_FIELD(amount_mib, KIND_U32, true, 1u << 0) };
	static const struct spec sp = { "struct BalloonUpdateConfig", fields, 1, true };
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &b, &present, err, err_len);

	if (!rc)
		*amount_mib = b.amount_mib;
	return rc;
}

int request_parse_stats_patch(const char *body, size_t len, uint16_t *interval_s, char *err, size_t err_len)
{
	static const struct field fields[] = { BALLOON_FIELD(stats_polling_interval_s, KIND_U16, true, 1u << 0) };
	static const struct spec sp = { "struct BalloonUpdateStatsConfig", fields, 1, true };
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &b, &present, err, err_len);

	if (!rc)
		*interval_s = b.stats_polling_interval_s;
	return rc;
}

int request_parse_hinting_start(const char *body, size_t len, bool *ack_on_stop, char *err, size_t err_len)
{
	struct cmd { bool ack; };
	static const struct field fields[] = { { "acknowledge_on_stop", KIND_BOOL, false, offsetof(struct cmd, ack), 1 } };
	static const struct spec sp = { "struct StartHintingCmd", fields, 1, false };
	struct cmd c = { .ack = true };
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &c, &present, err, err_len);

	if (!rc)
		*ack_on_stop = c.ack;
	return rc;
}

#define TARGET_FIELD(member, bit) { #member, KIND_MIB, false, offsetof(struct api_targets, member), bit }

int request_parse_targets_patch(const char *body, size_t len, struct api_targets *out, unsigned int *mask,
				char *err, size_t err_len)
{
	static const struct field fields[] = {
		TARGET_FIELD(grab_lower_mib, API_TARGET_GRAB_LOWER),
		TARGET_FIELD(grab_upper_mib, API_TARGET_GRAB_UPPER),
		TARGET_FIELD(swap_target_mib, API_TARGET_SWAP_TARGET),
		TARGET_FIELD(headroom_mib, API_TARGET_HEADROOM),
		TARGET_FIELD(threshold_mib, API_TARGET_THRESHOLD),
	};
	static const struct spec sp = { "struct UsbdTargets", fields, N_OF(fields), true };
	struct api_targets t = *out;
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &t, &present, err, err_len);

	if (rc)
		return rc;
	if (!present) {
		snprintf(err, err_len, "expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, "
				       "headroom_mib, threshold_mib");
		return -EINVAL;
	}
	*out = t;
	*mask = present;
	return 0;
}

int request_parse_tenant_put(const char *body, size_t len, struct api_tenant *out, char *err, size_t err_len)
{
	static const struct field fields[] = {
		{ "password", KIND_SECRET, true, offsetof(struct api_tenant, password), 1u << 0 },
		{ "quota_mib", KIND_MIB, false, offsetof(struct api_tenant, quota_mib), 1u << 1 },
	};
	static const struct spec sp = { "struct UsbdSpotTenant", fields, N_OF(fields), true };
	struct api_tenant t = { 0 };
	unsigned int present;
	int rc = parse_struct(body, len, &sp, &t, &present, err, err_len);

	if (!rc) {
		memcpy(out->password, t.password, sizeof(out->password));
		out->quota_mib = t.quota_mib;
	}
	explicit_bzero(&t, sizeof(t));
	return rc;
}
