/* fuzz_spot_exec: libFuzzer target over whole requests: parsed, then run by the command layer against a store of
 * two small static chunks; a request "TAKE" takes one chunk back, scribbles over it and adds it again. Checks that
 * after every successful plain "SET key value" the store returns exactly that value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spot/commands.h"
#include "spot/resp.h"

#define CHUNK (64 * 1024)

static const struct resp_limits lim = {
	.max_inline = RESP_MAX_INLINE,
	.max_bulk = CHUNK,
	.max_argc = 1024,
	.max_query = 1 << 20,
	.bulk_err = "ERR Protocol error: invalid bulk length",
	.argc_err = "ERR Protocol error: invalid multibulk length",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char chunks[2][CHUNK] __attribute__((aligned(4096)));
	struct store *s = store_new(256, CHUNK, 1);
	struct cmd_env env = { .store = s, .password = "", .max_clients = 1 };
	struct cmd_client cl = { .id = 1, .authed = true };
	struct cmd_arg argv[1024];
	struct resp_parser p;
	struct rbuf out;
	const char *err;
	uint64_t now = 1;
	void *bases[2];

	if (!s)
		return 0;
	for (int i = 0; i < 2; i++)
		store_chunk_add(s, chunks[i], CHUNK);
	resp_init(&p, &lim);
	rbuf_init(&out, 1 << 22);
	if (resp_feed(&p, data, size) == 0) {
		while (resp_parse(&p, &err) == RESP_DONE && !cl.quit) {
			for (size_t i = 0; i < p.argc; i++)
				argv[i] = (struct cmd_arg){ resp_arg_ptr(&p, i), p.argv[i].len };
			if (argv[0].n == 4 && memcmp(argv[0].p, "TAKE", 4) == 0) {
				void *base;

				if (store_chunks_take(s, 1, &base) == 1) {
					memset(base, 0xa5, CHUNK);
					store_chunk_add(s, base, CHUNK);
				}
			} else {
				cmd_exec(&env, &cl, &out, p.argc, argv, now);
				if (p.argc == 3 && argv[0].n == 3 && memcmp(argv[0].p, "SET", 3) == 0 && out.len == 5 &&
				    memcmp(out.data, "+OK\r\n", 5) == 0) {
					struct store_val v;

					if (store_get(s, argv[1].p, argv[1].n, now, &v) < 0 || v.n != argv[2].n ||
					    memcmp(v.p, argv[2].p, v.n) != 0)
						abort();
				}
				now++;
			}
			resp_consume(&p);
			out.sent = out.len = 0;
			out.overflow = false;
		}
	}
	cmd_client_free(&env, &cl);
	rbuf_free(&out);
	resp_free(&p);
	store_chunks_take(s, 2, bases);
	store_free(s);
	return 0;
}
