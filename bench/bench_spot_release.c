/*
 * bench_spot_release: how fast a full store gives memory back to the machine. Sends one request that shrinks the
 * store and polls the memory it holds (every 50 us, a file kept open and re-read) until it has dropped by DROP
 * bytes or TIMEOUT_MS has passed:
 *   bench_spot_release usbd  API_SOCK BALLOON_CG_DIR AMOUNT_MIB DROP_BYTES TIMEOUT_MS
 *       PATCH /balloon {"amount_mib": AMOUNT_MIB}; watches the worker cgroup's memory.usage_in_bytes.
 *   bench_spot_release redis PORT PID MAXMEMORY_BYTES DROP_BYTES TIMEOUT_MS
 *       CONFIG SET maxmemory MAXMEMORY_BYTES; watches the RSS of PID (/proc/PID/statm), and, on a second
 *       connection, Redis's own used_memory (INFO memory, every millisecond): that it has evicted down to
 *       maxmemory is not that the machine got the memory back.
 * Prints one line of "name value" pairs, milliseconds from the moment the request was written ("-" = not within
 * the timeout): ack_ms (reply received), drop_ms (memory down by DROP), used_ms (redis: used_memory at or below
 * MAXMEMORY_BYTES), then the drop in MiB seen by 10 ms, 100 ms and 1 s, and at the end (end_ms). Exit 1 on an
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"

#define POLL_NS 50000
#define NO_TIME UINT64_MAX

static const char usage[] = "usage: bench_spot_release usbd API_SOCK BALLOON_CG_DIR AMOUNT_MIB DROP_BYTES TIMEOUT_MS\n"
			    "       bench_spot_release redis PORT PID MAXMEMORY_BYTES DROP_BYTES TIMEOUT_MS\n";
static const uint64_t checkpoints_ms[] = { 10, 100, 1000 };
#define N_CHECKPOINTS (sizeof(checkpoints_ms) / sizeof(checkpoints_ms[0]))

struct watch {
	int fd; /* memory.usage_in_bytes or /proc/PID/statm, re-read with pread */
	bool statm; /* the second field, in pages */
	uint64_t page;
};

static uint64_t watch_bytes(const struct watch *w)
{
	char buf[256];
	ssize_t n = pread(w->fd, buf, sizeof(buf) - 1, 0);
	unsigned long long size, resident;

	if (n <= 0)
		fatal("reading the watched file: %s", n < 0 ? strerror(errno) : "empty");
	buf[n] = '\0';
	if (!w->statm)
		return strtoull(buf, NULL, 10);
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		fatal("unexpected statm line: %s", buf);
	return (uint64_t)resident * w->page;
}

static void watch_open(struct watch *w, const char *path, bool statm)
{
	w->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		fatal("open %s: %s", path, strerror(errno));
	w->statm = statm;
	w->page = (uint64_t)sysconf(_SC_PAGESIZE);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("write: %s", n < 0 ? strerror(errno) : "nothing written");
		buf += n;
		len -= (size_t)n;
	}
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		fatal("%s: not a whole number: '%s'", what, s);
	return v;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		fatal("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("connect %s: %s", path, strerror(errno));
	return fd;
}

static int connect_tcp(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t n = parse_u64(port, "PORT");
	int fd;

	if (n > UINT16_MAX)
		fatal("PORT out of range: %s", port);
	sa.sin_port = htons((uint16_t)n);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("connect 127.0.0.1:%s: %s", port, strerror(errno));
	return fd;
}

/* Non-blocking check for the request's reply; true once it has arrived (whole or not: its start decides). */
static bool reply_arrived(int fd, const char *expect)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0)
		fatal("the server closed the connection without a reply");
	buf[n] = '\0';
	if (strncmp(buf, expect, strlen(expect)))
		fatal("unexpected reply (wanted %s): %.200s", expect, buf);
	return true;
}

/* Redis's used_memory, by a blocking INFO memory on its own connection. */
static uint64_t redis_used_memory(int fd)
{
	static const char req[] = "INFO memory\r\n";
	char buf[16384], *p;
	size_t got = 0;
	long body = -1;

	write_all(fd, req, sizeof(req) - 1);
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			fatal("INFO memory: %s", n < 0 ? strerror(errno) : "connection closed");
		got += (size_t)n;
		buf[got] = '\0';
		if (body < 0 && (p = strstr(buf, "\r\n")))
			body = strtol(buf + 1, NULL, 10) + (p + 2 - buf) + 2;
		if (body >= 0 && (long)got >= body)
			break;
		if (got == sizeof(buf) - 1)
			fatal("INFO memory reply too long");
	}
	p = strstr(buf, "\nused_memory:");
	if (!p)
		fatal("no used_memory in INFO memory");
	return strtoull(p + 13, NULL, 10);
}

static void print_ms(const char *name, uint64_t ns)
{
	if (ns == NO_TIME)
		printf("%s - ", name);
	else
		printf("%s %.3f ", name, (double)ns / 1e6);
}

int main(int argc, char **argv)
{
	char req[512];
	const char *expect;
	struct watch w;
	int fd, info_fd = -1;
	uint64_t drop, timeout_ns, amount, before, t0, now, ack = NO_TIME, hit = NO_TIME;
	uint64_t used_hit = NO_TIME, next_info = 0, last_drop = 0, seen[N_CHECKPOINTS] = { 0 };
	size_t len;

	log_set_ident("bench_spot_release");
	log_set_timestamps(false);
	if (argc != 7 || (strcmp(argv[1], "usbd") && strcmp(argv[1], "redis"))) {
		fputs(usage, stderr);
		return 2;
	}
	amount = parse_u64(argv[4], argv[1][0] == 'u' ? "AMOUNT_MIB" : "MAXMEMORY_BYTES");
	drop = parse_u64(argv[5], "DROP_BYTES");
	timeout_ns = parse_u64(argv[6], "TIMEOUT_MS");
	if (timeout_ns > UINT64_MAX / 1000000u)
		fatal("TIMEOUT_MS too large: %s", argv[6]);
	timeout_ns *= 1000000u;
	if (!strcmp(argv[1], "usbd")) {
		char body[64], path[512];
		int blen = snprintf(body, sizeof(body), "{\"amount_mib\": %llu}", (unsigned long long)amount);

		snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", argv[3]);
		watch_open(&w, path, false);
		fd = connect_unix(argv[2]);
		len = (size_t)snprintf(req, sizeof(req), "PATCH /balloon HTTP/1.1\r\nHost: localhost\r\n"
				       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", blen, body);
		expect = "HTTP/1.1 204";
	} else {
		char path[64], num[32];
		int nlen = snprintf(num, sizeof(num), "%llu", (unsigned long long)amount);

		snprintf(path, sizeof(path), "/proc/%s/statm", argv[3]);
		watch_open(&w, path, true);
		fd = connect_tcp(argv[2]);
		info_fd = connect_tcp(argv[2]);
		len = (size_t)snprintf(req, sizeof(req), "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n"
				       "$9\r\nmaxmemory\r\n$%d\r\n%s\r\n", nlen, num);
		expect = "+OK";
	}
	before = watch_bytes(&w);

	t0 = clock_ns();
	write_all(fd, req, len);
	for (;;) {
		uint64_t el = (now = clock_ns()) - t0;

		if (el >= timeout_ns)
			break;
		if (ack == NO_TIME && reply_arrived(fd, expect))
			ack = el;
		last_drop = sat_sub(before, watch_bytes(&w));
		if (hit == NO_TIME && last_drop >= drop)
			hit = el;
		for (size_t i = 0; i < N_CHECKPOINTS; i++)
			if (el <= checkpoints_ms[i] * 1000000u)
				seen[i] = last_drop;
		if (info_fd >= 0 && used_hit == NO_TIME && el >= next_info) {
			next_info = el + 1000000u;
			if (redis_used_memory(info_fd) <= amount)
				used_hit = clock_ns() - t0;
		}
		if (ack != NO_TIME && hit != NO_TIME && (info_fd < 0 || used_hit != NO_TIME))
			break;
		nanosleep(&(struct timespec){ .tv_nsec = POLL_NS }, NULL);
	}
	/* Checkpoints after an early stop hold the final drop: memory given back stays given back. */
	for (size_t i = 0; i < N_CHECKPOINTS; i++)
		if (now - t0 < checkpoints_ms[i] * 1000000u)
			seen[i] = last_drop;

	print_ms("ack_ms", ack);
	print_ms("drop_ms", hit);
	if (info_fd >= 0)
		print_ms("used_ms", used_hit);
	for (size_t i = 0; i < N_CHECKPOINTS; i++)
		printf("drop_%llums_mib %.1f ", (unsigned long long)checkpoints_ms[i], (double)seen[i] / MIB);
	printf("drop_end_mib %.1f end_ms %.3f\n", (double)last_drop / MIB, (double)(now - t0) / 1e6);
	return 0;
}
