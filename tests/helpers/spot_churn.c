/*
 * spot_churn: a writer and verifier for spot memory under deflation. Over one connection it pipelines random
 * SET, GET and DEL of keys PREFIX:0..KEYS-1 with values that carry their key, version, length and a checksum,
 * and checks every GET against its own record: the exact latest value written, or nil. Run it while chunks are
 * taken and added. Exits 0 and prints counters, or 1 at the first wrong reply.
 *   spot_churn PORT PREFIX OPS [KEYS] [SEED]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 16
#define MAX_VALUE (128 * 1024)

#define RESP_CLIENT_NAME "spot_churn"
#include "resp_client.h"

/* Reads a bulk reply: its length (-1 for nil) and bytes into buf. */
static long read_bulk(char *buf, char *line, size_t cap)
{
	long len;

	read_line(line, cap);
	if (line[0] != '$')
		return -2;
	len = strtol(line + 1, NULL, 10);
	if (len < 0)
		return -1;
	if (len > MAX_VALUE)
		die("bulk longer than any value written");
	for (long i = 0; i < len; i++)
		buf[i] = (char)get_byte();
	if (get_byte() != '\r' || get_byte() != '\n')
		die("bulk not followed by CRLF");
	return len;
}

static uint32_t checksum(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* "key ver len sum|payload": the payload is derived from key and version, the sum covers the payload. */
static size_t make_value(char *buf, int key, unsigned ver, size_t len)
{
	char payload[MAX_VALUE];
	int h;

	for (size_t i = 0; i < len; i++)
		payload[i] = (char)('A' + (key * 131 + ver * 17 + i) % 58);
	h = snprintf(buf, 64, "%d %u %zu %08x|", key, ver, len, checksum(payload, len));
	memcpy(buf + h, payload, len);
	return (size_t)h + len;
}

static size_t append_cmd(char *out, const char *cmd, const char *key, const char *val, size_t vlen)
{
	size_t n;

	if (val)
		n = (size_t)sprintf(out, "*3\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(cmd), cmd,
				    strlen(key), key, vlen);
	else
		n = (size_t)sprintf(out, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(cmd), cmd, strlen(key), key);
	if (val) {
		memcpy(out + n, val, vlen);
		memcpy(out + n + vlen, "\r\n", 2);
		n += vlen + 2;
	}
	return n;
}

int main(int argc, char **argv)
{
	static char out[BATCH * (MAX_VALUE + 256)], val[MAX_VALUE + 64], got[MAX_VALUE + 64];
	char line[256];
	unsigned long ops, sets = 0, gets = 0, hits = 0, misses = 0, ooms = 0, dels = 0;
	unsigned *latest;
	size_t *latest_plen;
	int keys;
	unsigned seed;

	if (argc < 4)
		die("usage: spot_churn PORT PREFIX OPS [KEYS] [SEED]");
	ops = strtoul(argv[3], NULL, 10);
	keys = argc > 4 ? atoi(argv[4]) : 2000;
	seed = argc > 5 ? (unsigned)atoi(argv[5]) : 1;
	latest = calloc((size_t)keys, sizeof(*latest));      /* 0: no value expected */
	latest_plen = calloc((size_t)keys, sizeof(*latest_plen));
	if (!latest || !latest_plen)
		die("out of memory");
	connect_to(atoi(argv[1]));
	for (unsigned long done = 0; done < ops; done += BATCH) {
		struct { int key, op; unsigned ver; size_t plen; } batch[BATCH];
		size_t n = 0;

		for (int b = 0; b < BATCH; b++) {
			char key[64];
			int k = rand_r(&seed) % keys, op = rand_r(&seed) % 10;

			snprintf(key, sizeof(key), "%s:%d", argv[2], k);
			batch[b].key = k;
			batch[b].op = op;
			if (op < 5) {
				/* Mostly small values, some big ones that need chunks of their own class. */
				size_t len = rand_r(&seed) % 8 ? (size_t)(rand_r(&seed) % 400)
							       : (size_t)(rand_r(&seed) % (MAX_VALUE - 64));

				batch[b].ver = (unsigned)(done + (unsigned long)b + 1);
				batch[b].plen = len;
				n += append_cmd(out + n, "SET", key, val, make_value(val, k, batch[b].ver, len));
			} else if (op < 9) {
				n += append_cmd(out + n, "GET", key, NULL, 0);
			} else {
				n += append_cmd(out + n, "DEL", key, NULL, 0);
			}
		}
		send_all(out, n);
		for (int b = 0; b < BATCH; b++) {
			int k = batch[b].key;

			if (batch[b].op < 5) {
				read_line(line, sizeof(line));
				sets++;
				if (strcmp(line, "+OK") == 0) {
					latest[k] = batch[b].ver;
					latest_plen[k] = batch[b].plen;
				} else if (strncmp(line, "-OOM ", 5) == 0) {
					ooms++;
				} else {
					fprintf(stderr, "spot_churn: SET %s:%d answered %s\n", argv[2], k, line);
					return 1;
				}
			} else if (batch[b].op < 9) {
				long len = read_bulk(got, line, sizeof(line));

				gets++;
				if (len == -1) {
					misses++;
					/* Gone (taken or evicted): never coming back without a new SET. */
					latest[k] = 0;
					continue;
				}
				if (len < 0 || !latest[k]) {
					fprintf(stderr, "spot_churn: GET %s:%d answered '%s', no value expected\n",
						argv[2], k, line);
					return 1;
				}
				size_t want = make_value(val, k, latest[k], latest_plen[k]);

				if ((size_t)len != want || memcmp(got, val, want) != 0) {
					fprintf(stderr, "spot_churn: GET %s:%d: %ld bytes, not the latest value "
						"(version %u, %zu bytes): '%.60s'\n", argv[2], k, len, latest[k], want,
						got);
					return 1;
				}
				hits++;
			} else {
				read_line(line, sizeof(line));
				dels++;
				if (line[0] != ':') {
					fprintf(stderr, "spot_churn: DEL answered %s\n", line);
					return 1;
				}
				latest[k] = 0;
			}
		}
	}
	printf("ops=%lu sets=%lu gets=%lu hits=%lu misses=%lu dels=%lu oom=%lu\n", ops, sets, gets, hits, misses, dels,
	       ooms);
	close(fd);
	free(latest);
	free(latest_plen);
	return 0;
}
