/*
 * reclaim_keys: fills spot memory with keys whose values can be checked, and checks them while the kernel takes
 * pages of a reclaimable balloon.
 *   reclaim_keys fill PORT PREFIX KEYS SIZE     SET PREFIX:0..KEYS-1 to SIZE-byte values (pipelined)
 *   reclaim_keys check PORT PREFIX KEYS SIZE SECS  GET every key, round after round, for SECS seconds (at least
 *                                                  one round); each reply must be the exact value or nil
 * A value is a header (key index, length, FNV-1a checksum of the rest) followed by bytes drawn from a generator
 * seeded by the key index, so that a reader can tell the exact value from a zeroed, torn or foreign one. No zero
 * bytes are drawn: a page lost under a value never leaves it unchanged.
 * Prints counters; exits 0, or 1 at the first wrong reply (printed).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define HDR 24 /* index, length, checksum: 8 bytes each */

#define RESP_CLIENT_NAME "reclaim_keys"
#include "resp_client.h"

static void read_exact(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)get_byte();
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

/* The value of key index i: header, then nonzero pseudo-random bytes seeded by i. */
static void make_value(unsigned char *v, size_t size, uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15u + 1, len = size, sum;

	for (size_t k = HDR; k < size; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[k] = (unsigned char)(x % 255 + 1);
	}
	sum = fnv(v + HDR, size - HDR);
	memcpy(v, &i, 8);
	memcpy(v + 8, &len, 8);
	memcpy(v + 16, &sum, 8);
}

static void send_cmd(const char *cmd, const char *key, const unsigned char *val, size_t vlen)
{
	char head[256];
	int n;

	if (val)
		n = snprintf(head, sizeof(head), "*3\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(cmd), cmd,
			     strlen(key), key, vlen);
	else
		n = snprintf(head, sizeof(head), "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(cmd), cmd, strlen(key),
			     key);
	send_all(head, (size_t)n);
	if (val) {
		send_all((const char *)val, vlen);
		send_all("\r\n", 2);
	}
}

static void fill(const char *prefix, uint64_t keys, size_t size)
{
	unsigned char *v = malloc(size);
	uint64_t ok = 0, oom = 0;
	char key[128], line[256];

	if (!v)
		die("out of memory");
	for (uint64_t i = 0; i < keys; i += BATCH) {
		uint64_t end = i + BATCH < keys ? i + BATCH : keys;

		for (uint64_t j = i; j < end; j++) {
			snprintf(key, sizeof(key), "%s:%llu", prefix, (unsigned long long)j);
			make_value(v, size, j);
			send_cmd("SET", key, v, size);
		}
		for (uint64_t j = i; j < end; j++) {
			read_line(line, sizeof(line));
			if (!strcmp(line, "+OK"))
				ok++;
			else if (!strncmp(line, "-OOM", 4))
				oom++;
			else
				die(line);
		}
	}
	printf("fill: %llu set, %llu refused (-OOM)\n", (unsigned long long)ok, (unsigned long long)oom);
	free(v);
}

/* One GET reply for key index i: 1 for the exact value, 0 for nil; exits on anything else. */
static int check_reply(uint64_t i, size_t size, unsigned char *got, unsigned char *want)
{
	char line[256];
	long long n;

	read_line(line, sizeof(line));
	if (!strcmp(line, "$-1"))
		return 0;
	if (line[0] != '$' || (n = atoll(line + 1)) < 0 || (size_t)n > size) {
		fprintf(stderr, "reclaim_keys: key %llu: unexpected reply '%s'\n", (unsigned long long)i, line);
		exit(1);
	}
	read_exact((char *)got, (size_t)n);
	read_line(line, sizeof(line));
	make_value(want, size, i);
	if ((size_t)n != size || memcmp(got, want, size)) {
		size_t at = 0, zeros = 0;

		while (at < (size_t)n && at < size && got[at] == want[at])
			at++;
		for (size_t k = 0; k < (size_t)n; k++)
			zeros += got[k] == 0;
		fprintf(stderr, "reclaim_keys: key %llu: WRONG value (%lld bytes, first difference at %zu, %zu zero "
			"bytes, checksum %s)\n", (unsigned long long)i, n, at, zeros,
			(size_t)n >= HDR && fnv(got + HDR, (size_t)n - HDR) == *(uint64_t *)(void *)(got + 16) ?
				"matches" : "wrong");
		exit(1);
	}
	return 1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check(const char *prefix, uint64_t keys, size_t size, double secs)
{
	unsigned char *got = malloc(size), *want = malloc(size);
	uint64_t exact = 0, nil = 0, rounds = 0, last_exact = 0;
	double end = now_s() + secs;
	char key[128];

	if (!got || !want)
		die("out of memory");
	do {
		last_exact = 0;
		for (uint64_t i = 0; i < keys; i += BATCH) {
			uint64_t stop = i + BATCH < keys ? i + BATCH : keys;

			for (uint64_t j = i; j < stop; j++) {
				snprintf(key, sizeof(key), "%s:%llu", prefix, (unsigned long long)j);
				send_cmd("GET", key, NULL, 0);
			}
			for (uint64_t j = i; j < stop; j++) {
				int r = check_reply(j, size, got, want);

				exact += (uint64_t)r;
				last_exact += (uint64_t)r;
				nil += (uint64_t)!r;
			}
		}
		rounds++;
	} while (now_s() < end);
	printf("check: %llu rounds, %llu exact, %llu nil, 0 wrong; last round %llu of %llu keys exact\n",
	       (unsigned long long)rounds, (unsigned long long)exact, (unsigned long long)nil,
	       (unsigned long long)last_exact, (unsigned long long)keys);
	free(got);
	free(want);
}

int main(int argc, char **argv)
{
	bool is_fill = argc == 6 && !strcmp(argv[1], "fill");
	size_t size;

	if (!is_fill && !(argc == 7 && !strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: reclaim_keys fill PORT PREFIX KEYS SIZE | check PORT PREFIX KEYS SIZE SECS\n");
		return 2;
	}
	size = strtoull(argv[5], NULL, 10);
	if (size < HDR || size > (64u << 20))
		die("SIZE must be 24 bytes to 64 MiB");
	connect_to(atoi(argv[2]));
	if (is_fill)
		fill(argv[3], strtoull(argv[4], NULL, 10), size);
	else
		check(argv[3], strtoull(argv[4], NULL, 10), size, atof(argv[6]));
	close(fd);
	return 0;
}
