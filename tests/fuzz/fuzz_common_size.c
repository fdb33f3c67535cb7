/* fuzz_common_size: libFuzzer target over SIZE strings; checks that a parsed size formats and never wraps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[32];
	uint64_t b = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (size_parse(s, &b) == 0) {
		size_format(b, out, sizeof(out));
		if (round_up(b, 2 * MIB) < b && b <= UINT64_MAX - 2 * MIB)
			abort();
	}
	free(s);
	return 0;
}
