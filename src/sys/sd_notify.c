#include "sys/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t alen;
	int fd, r = 1;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path))
		return -EINVAL;
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, alen) < 0)
		r = -errno;
	close(fd);
	return r;
}

uint64_t systemd_watchdog_parse(const char *usec, const char *pid, pid_t self)
{
	char *end;
	unsigned long long us, p;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		errno = 0;
		p = strtoull(pid, &end, 10);
		if (errno || *end || p != (unsigned long long)self)
			return 0; /* meant for another process (a parent that did not unset it) */
	}
	errno = 0;
	us = strtoull(usec, &end, 10);
	if (errno || *end || us == 0)
		return 0;
	return us / 1000 ? us / 1000 : 1;
}

uint64_t systemd_watchdog_ms(void)
{
	return systemd_watchdog_parse(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
}
