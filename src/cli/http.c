#include "cli/http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "common/clock.h"

/* Waits until fd is ready for `events` or the deadline passes. Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = clock_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline_ms - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, uint64_t deadline_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A non-blocking Unix connect fails with EAGAIN while the listen backlog is full: retry until the deadline. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		if (rc == -EINTR)
			continue;
		if (rc != -EAGAIN || clock_ms() >= deadline_ms) {
			close(fd);
			return rc == -EAGAIN ? -ETIMEDOUT : rc;
		}
		poll(NULL, 0, 10);
	}
	return fd;
}

/* "vsock:CID:PORT" (args.h): a blocking connect bounded by SO_VM_SOCKETS_CONNECT_TIMEOUT, then non-blocking. */
static int connect_vsock(const char *addr, uint64_t deadline_ms)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
	uint64_t now = clock_ms();
	struct timeval tv = { 0 };
	int fd;

	if (sscanf(addr, "vsock:%u:%u", &sa.svm_cid, &sa.svm_port) != 2)
		return -EINVAL;
	tv.tv_sec = (time_t)((deadline_ms > now ? deadline_ms - now : 1) / 1000);
	tv.tv_usec = (suseconds_t)((deadline_ms > now ? deadline_ms - now : 1) % 1000 * 1000);
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || fcntl(fd, F_SETFL, O_NONBLOCK)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline_ms)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			int rc = -errno;
			if (rc == -EINTR)
				continue;
			if (rc != -EAGAIN)
				return rc;
			rc = wait_fd(fd, POLLOUT, deadline_ms);
			if (rc)
				return rc;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until the response is complete or the server closes, never holding more than HTTP_MAX_RESPONSE. */
static int receive(int fd, uint64_t deadline_ms, struct http_response *resp)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int rc = -EAGAIN;

	if (!buf)
		return -ENOMEM;
	while (rc == -EAGAIN) {
		ssize_t r;

		if (len == cap) {
			char *bigger;
			if (cap >= HTTP_MAX_RESPONSE) {
				rc = -EMSGSIZE;
				break;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0) {
			rc = -errno;
			if (rc == -EINTR || rc == -EAGAIN) {
				int w = wait_fd(fd, POLLIN, deadline_ms);
				rc = w ? w : -EAGAIN;
			}
			continue;
		}
		len += (size_t)r;
		rc = http_parse_response(buf, len, r == 0, resp);
	}
	free(buf);
	return rc;
}

int http_request(const char *sock_path, const char *method, const char *target, const char *body, int timeout_ms,
		 struct http_response *resp)
{
	uint64_t deadline = clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	size_t body_len = body ? strlen(body) : 0;
	char head[512], length[80] = "";
	int fd, n, rc;

	if (body)
		snprintf(length, sizeof(length), "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	/* Host is mandatory in HTTP/1.1; one request per connection keeps the server's state trivial. */
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n%s\r\n",
		     method, target, length);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	fd = strncmp(sock_path, "vsock:", 6) ? connect_unix(sock_path, deadline) : connect_vsock(sock_path, deadline);
	if (fd < 0)
		return fd;
	rc = send_all(fd, head, (size_t)n, deadline);
	if (!rc && body)
		rc = send_all(fd, body, body_len, deadline);
	if (!rc)
		rc = receive(fd, deadline, resp);
	close(fd);
	return rc;
}
