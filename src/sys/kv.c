/* kv: parser of "name value [kB]" lines, robust to any bytes (it never reads past the NUL). */
#include "sys/kv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/size.h"

int kv_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	*p = s;
	*v = n;
	return 0;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool key_matches(const char *key, size_t len, const char *want)
{
	size_t wlen = strlen(want);

	if (wlen && want[wlen - 1] == '*')
		return len >= wlen - 1 && memcmp(key, want, wlen - 1) == 0;
	return len == wlen && memcmp(key, want, wlen) == 0;
}

/* Parses the value part of a matched line: digits, an optional "kB", then only blanks to the line end. */
static int parse_value(const char *p, uint64_t *v)
{
	while (is_blank(*p))
		p++;
	if (kv_u64(&p, v))
		return -EINVAL;
	while (is_blank(*p))
		p++;
	if (p[0] == 'k' && p[1] == 'B') {
		if (*v > UINT64_MAX / KIB)
			return -EINVAL;
		*v *= KIB;
		p += 2;
	}
	while (is_blank(*p))
		p++;
	return *p == '\n' || *p == '\0' ? 0 : -EINVAL;
}

int kv_parse(const char *buf, const struct kv_field *fields, unsigned nfields, void *out, uint64_t *seen)
{
	const char *line = buf;

	*seen = 0;
	while (*line) {
		const char *end = strchrnul(line, '\n');
		size_t klen = strcspn(line, ": \t\n");

		for (unsigned i = 0; i < nfields && i < 64; i++) {
			uint64_t v, *field;
			if (!key_matches(line, klen, fields[i].key))
				continue;
			if (parse_value(line + klen + (line[klen] == ':'), &v))
				return -EINVAL;
			field = (uint64_t *)((char *)out + fields[i].offset);
			*field = sat_add(*field, v);
			*seen |= UINT64_C(1) << i;
			break;
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}
