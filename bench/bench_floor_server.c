/*
 * bench_floor_server: the least a server of the usual kind can spend on a redis-benchmark stream, for
 * bench_spot_cpu.sh's "floor" column. One thread, level-triggered epoll, one recv and at most one send per ready
 * client per loop turn (as Redis and usbd's plain-call fallback do), and no store of values: it counts the complete
 * requests each read brings and answers each at once with the shortest reply that carries what a store must send,
 * PING with +PONG, CONFIG with two empty strings (redis-benchmark asks for two settings), GET of a key SET before
 * with a bulk of the last SET value's length (zeros; it keeps only a hash of each key it was SET), any other GET
 * with a nil ($-1), FLUSHALL by forgetting the keys, anything else with +OK. What it costs per request is the
 * kernel's share (system calls, loopback TCP, wake-ups, the reply's bytes) plus a little parsing: no server of this
 * kind, however quick its user space, can spend less.
 *   bench_floor_server PORT      listens on 127.0.0.1:PORT until killed
 * Requests must be RESP arrays of bulk strings (what redis-benchmark and redis-cli send); anything else closes the
 * connection. A request may span reads: the parser keeps its state per client.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 4096
#define READ_BYTES 65536
#define OUT_MAX (1u << 20)
#define KEY_SLOTS (1u << 18)  /* the keys SET: hashes, open addressing, filled to 3/4 at most */
#define VALUE_MAX 65536       /* GET replies carry at most this many bytes (more: nil) */

/* Where a client's parser is in the current request: the array header, a bulk's header, or a bulk's bytes. */
struct client {
	int state;          /* 0: want '*N', 1: want '$len', 2: skipping a bulk's bytes and its CRLF */
	long args_left;
	long skip;
	char head[32];      /* the line being read ('*N' or '$len') */
	size_t head_len;
	char cmd[8];        /* the command name's first bytes, upper-cased */
	size_t cmd_len;
	bool first_arg;
	long arg;           /* the index of the bulk being read */
	uint64_t key_hash;  /* FNV-1a of the second bulk (the key) */
	long last_len;      /* the length of the last bulk */
	bool want_out;      /* EPOLLOUT asked for */
	char *out;          /* replies not yet sent */
	size_t out_len;
};

static struct client *clients[MAX_FDS];
static uint64_t keys[KEY_SLOTS];
static size_t key_count;
static long value_len;        /* the last SET value's length */
static const char zeros[VALUE_MAX];

/* Finds h's slot: where it is, or the empty one where it would go. */
static uint64_t *key_slot(uint64_t h)
{
	size_t i = (size_t)h & (KEY_SLOTS - 1);

	while (keys[i] && keys[i] != h)
		i = (i + 1) & (KEY_SLOTS - 1);
	return &keys[i];
}

static bool append(struct client *c, const char *s, size_t n)
{
	if (c->out_len + n > OUT_MAX)
		return false;
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return true;
}

static bool answer(struct client *c)
{
	if (c->cmd_len == 4 && !memcmp(c->cmd, "PING", 4))
		return append(c, "+PONG\r\n", 7);
	if (c->cmd_len == 6 && !memcmp(c->cmd, "CONFIG", 6))
		return append(c, "*2\r\n$0\r\n\r\n$0\r\n\r\n", 16); /* a CONFIG GET's: two empty strings */
	if (c->cmd_len == 3 && !memcmp(c->cmd, "GET", 3)) {
		char hdr[32];
		int h = snprintf(hdr, sizeof(hdr), "$%ld\r\n", value_len);

		if (!*key_slot(c->key_hash | 1) || value_len > VALUE_MAX)
			return append(c, "$-1\r\n", 5);
		return append(c, hdr, (size_t)h) && append(c, zeros, (size_t)value_len) && append(c, "\r\n", 2);
	}
	if (c->cmd_len == 3 && !memcmp(c->cmd, "SET", 3) && c->arg == 3) {
		uint64_t *slot = key_slot(c->key_hash | 1);

		if (!*slot && key_count < KEY_SLOTS / 4 * 3) {
			*slot = c->key_hash | 1;
			key_count++;
		}
		value_len = c->last_len;
	}
	if (c->cmd_len == 8 && !memcmp(c->cmd, "FLUSHALL", 8)) {
		memset(keys, 0, sizeof(keys));
		key_count = 0;
	}
	return append(c, "+OK\r\n", 5);
}

/* Feeds n bytes to the client's parser, appending a reply per complete request; false on malformed input. */
static bool feed(struct client *c, const char *p, size_t n)
{
	while (n) {
		if (c->state == 2) {
			size_t take = (size_t)c->skip < n ? (size_t)c->skip : n;

			/* The command name's first bytes: the first bulk's, up to its CRLF (the last 2 of skip). */
			for (size_t i = 0; c->first_arg && i < take && (size_t)c->skip - i > 2; i++)
				if (c->cmd_len < sizeof(c->cmd))
					c->cmd[c->cmd_len++] = (char)(p[i] & ~0x20);
			for (size_t i = 0; c->arg == 1 && i < take && (size_t)c->skip - i > 2; i++)
				c->key_hash = (c->key_hash ^ (unsigned char)p[i]) * 0x100000001b3ull;
			c->skip -= (long)take;
			p += take;
			n -= take;
			if (c->skip == 0) {
				c->first_arg = false;
				c->arg++;
				c->state = 1;
				if (--c->args_left == 0) {
					if (!answer(c))
						return false;
					c->state = 0;
				}
			}
			continue;
		}
		if (c->head_len == sizeof(c->head))
			return false;
		c->head[c->head_len++] = *p++;
		n--;
		if (c->head_len < 2 || c->head[c->head_len - 2] != '\r' || c->head[c->head_len - 1] != '\n')
			continue;
		c->head[c->head_len - 2] = 0;
		if (c->head[0] != (c->state == 0 ? '*' : '$'))
			return false;
		long v = strtol(c->head + 1, NULL, 10);
		c->head_len = 0;
		if (v <= 0 || v > (1L << 30))
			return false;
		if (c->state == 0) {
			c->args_left = v;
			c->first_arg = true;
			c->cmd_len = 0;
			c->arg = 0;
			c->key_hash = 0xcbf29ce484222325ull;
			c->state = 1;
		} else {
			c->skip = v + 2; /* the bytes and their CRLF */
			c->last_len = v;
			c->state = 2;
		}
	}
	return true;
}

static void drop(int epfd, int fd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(clients[fd]->out);
	free(clients[fd]);
	clients[fd] = NULL;
}

static void serve(int epfd, int fd, uint32_t events, char *buf)
{
	struct client *c = clients[fd];

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(fd, buf, READ_BYTES, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (n > 0 && !feed(c, buf, (size_t)n))) {
			drop(epfd, fd);
			return;
		}
	}
	if (c->out_len) {
		ssize_t w = send(fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		struct epoll_event ev = { .data.fd = fd };

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			drop(epfd, fd);
			return;
		}
		if (w > 0) {
			memmove(c->out, c->out + w, c->out_len - (size_t)w);
			c->out_len -= (size_t)w;
		}
		/* Told only when the answer to "anything left to send?" changes: no system call a server can spare. */
		if ((c->out_len != 0) != c->want_out) {
			c->want_out = c->out_len != 0;
			ev.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
			epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, lfd, epfd;
	char *buf = malloc(READ_BYTES);

	if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
		fprintf(stderr, "usage: bench_floor_server PORT\n");
		return 2;
	}
	if (!buf)
		return 1;

	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 511)) {
		perror("bench_floor_server: listen");
		return 1;
	}
	ev.data.fd = lfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != lfd) {
				if (clients[fd])
					serve(epfd, fd, evs[i].events, buf);
				continue;
			}
			int cfd;
			while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };

				if (cfd >= MAX_FDS || !(clients[cfd] = calloc(1, sizeof(struct client))) ||
				    !(clients[cfd]->out = malloc(OUT_MAX))) {
					if (cfd < MAX_FDS && clients[cfd]) {
						free(clients[cfd]);
						clients[cfd] = NULL;
					}
					close(cfd);
					continue;
				}
				setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
			}
		}
	}
}
