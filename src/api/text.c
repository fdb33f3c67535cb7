#include "api/text.h"

#include <string.h>

char *text_printable(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src), keep = n < len ? n : len - 4;

	for (size_t i = 0; i < keep; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	if (keep < n) {
		memcpy(dst + keep, "...", 4);
		return dst;
	}
	dst[keep] = '\0';
	return dst;
}
