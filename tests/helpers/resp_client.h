/*
 * resp_client: the blocking RESP client that the spot test helpers share (spot_churn, reclaim_keys): one
 * connection, buffered reads, fatal errors. Define RESP_CLIENT_NAME (the program's name, for messages) first.
 */
#ifndef USBD_TESTS_RESP_CLIENT_H
#define USBD_TESTS_RESP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd;
static char rbuf[1 << 16];
static size_t rlen, rpos;

static void die(const char *what)
{
	fprintf(stderr, RESP_CLIENT_NAME ": %s\n", what);
	exit(1);
}

static void connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("cannot connect");
}

static void send_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("send failed: server gone?");
		p += w;
		n -= (size_t)w;
	}
}

static int get_byte(void)
{
	if (rpos == rlen) {
		ssize_t r;

		do {
			r = recv(fd, rbuf, sizeof(rbuf), 0);
		} while (r < 0 && errno == EINTR);
		if (r <= 0)
			die("connection closed by the server");
		rlen = (size_t)r;
		rpos = 0;
	}
	return (unsigned char)rbuf[rpos++];
}

/* Reads one reply line without its CRLF (truncated to cap - 1 bytes). */
static void read_line(char *line, size_t cap)
{
	size_t n = 0;
	int c;

	while ((c = get_byte()) != '\n')
		if (c != '\r' && n + 1 < cap)
			line[n++] = (char)c;
	line[n] = '\0';
}

#endif
