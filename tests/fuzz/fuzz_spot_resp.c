/* fuzz_spot_resp: libFuzzer target over the RESP2 request parser, fed in pieces whose size the first byte picks
 * (its low four bits) and how (its top bit: resp_feed, or as the server reads, resp_reserve then resp_commit of
 * bytes written into the room); checks that every argument (and every key resp_peek_keys finds for prefetching)
 * lies inside the buffer and that every error is one of Redis's protocol errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spot/commands.h"
#include "spot/resp.h"

static const struct resp_limits lim = {
	.max_inline = RESP_MAX_INLINE,
	.max_bulk = 64 * 1024,
	.max_argc = 4096,
	.max_query = 1 << 20,
	.bulk_err = "ERR Protocol error: invalid bulk length",
	.argc_err = "ERR Protocol error: invalid multibulk length",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_parser p;
	size_t step, off = 1;
	int direct;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 16 + 1;
	direct = data[0] & 0x80;
	resp_init(&p, &lim);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		const char *err = NULL;
		enum resp_status st;

		if (direct) {
			char *at;

			if (resp_reserve(&p, n) < 0 || resp_room(&p, &at) < n)
				break;
			memcpy(at, data + off, n);
			if (resp_commit(&p, n) < 0)
				abort(); /* the room reserved takes what it was reserved for */
		} else if (resp_feed(&p, data + off, n) < 0) {
			break;
		}
		off += n;
		/* The prefetch scan: every key it finds lies inside the buffered bytes. */
		{
			struct resp_span k[8];
			size_t nk = resp_peek_keys(&p, cmd_key_spec, k, 8);

			if (nk > 8)
				abort();
			for (size_t i = 0; i < nk; i++)
				if (k[i].p < p.buf || k[i].n > p.len || k[i].p > p.buf + (p.len - k[i].n))
					abort();
		}
		while ((st = resp_parse(&p, &err)) == RESP_DONE) {
			if (p.argc == 0)
				abort();
			for (size_t i = 0; i < p.argc; i++)
				if (p.argv[i].off > p.len || p.argv[i].len > p.len - p.argv[i].off)
					abort();
			resp_consume(&p);
		}
		if (st == RESP_ERROR) {
			if (strncmp(err, "ERR Protocol error: ", 20) != 0)
				abort();
			break;
		}
	}
	resp_free(&p);
	return 0;
}
