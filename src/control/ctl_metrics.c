#include "control/ctl_metrics.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/metrics_server.h"
#include "common/log.h"
#include "control/state.h"
#include "control/ctl_api.h"
#include "spot/config.h"

static int bind_listen(const struct spot_listen *l)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) || listen(fd, 64))
		r = -errno;
	if (r)
		close(fd);
	return r ? r : fd;
}

int ctl_metrics_open(struct ctl *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_METRICS };
	struct api_backend be;
	struct spot_listen l;
	int fd, r;

	/* The same address syntax as --spot-listen: numeric, so nothing is resolved at start. */
	if (spot_config_parse_listen(c->opt.metrics_listen, &l)) {
		log_err("--metrics-listen: '%s' is neither ADDR:PORT (numeric address) nor 'off'", c->opt.metrics_listen);
		return -EINVAL;
	}
	if (l.off)
		return 0;
	if ((fd = bind_listen(&l)) < 0) {
		log_err("--metrics-listen %s: %s", c->opt.metrics_listen, strerror(-fd));
		return fd;
	}
	ctl_api_backend(c, &be);
	if ((r = metrics_server_open(&c->metrics, fd, &be))) {
		close(fd);
		log_err("--metrics-listen %s: %s", c->opt.metrics_listen, strerror(-r));
		return r;
	}
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, metrics_server_fd(c->metrics), &ev)) {
		r = -errno;
		log_err("cannot watch the metrics socket: %s", strerror(-r));
		return r;
	}
	if (!l.loopback)
		log_warn("--metrics-listen %s is not a loopback address: anyone who reaches it can read the metrics "
			 "(they are read-only)", c->opt.metrics_listen);
	log_info("Prometheus metrics on http://%s/metrics", c->opt.metrics_listen);
	return 0;
}

void ctl_metrics_run(struct ctl *c)
{
	if (c->metrics)
		metrics_server_run(c->metrics);
}

void ctl_metrics_close(struct ctl *c)
{
	metrics_server_close(c->metrics);
	c->metrics = NULL;
}
