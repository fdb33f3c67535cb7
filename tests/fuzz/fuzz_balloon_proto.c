/* fuzz_balloon_proto: libFuzzer target over the controller <-> worker datagrams; a decoded message must
 * re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balloon/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wmsg m;
	unsigned char again[sizeof(struct wmsg)];
	int n;

	if (wmsg_decode(data, size, &m) != 0)
		return 0;
	n = wmsg_encode(again, sizeof(again), m.hdr.type, m.hdr.seq, &m.u);
	if (n != (int)size || memcmp(again, data, size))
		abort();
	return 0;
}
