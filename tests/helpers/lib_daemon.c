/*
 * lib_daemon: a stand-in for usbd's registry wiring in the libusbd integration tests. It runs the registry
 * (src/control/registry.c) on the domain's readings, with usbd's own option names, so that a test switches to
 * the real usbd by changing one line.
 *   lib_daemon [--domain CGROUP] [--apps-sock PATH] [--threshold SIZE] [--resignal-ms N] [--tick-ms N] APP_CGROUP
 * Prints "ready" on stdout once it listens; runs until SIGTERM/SIGINT; restores everything on the way out.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "control/domain.h"
#include "control/registry.h"

static int read_free(void *ctx, uint64_t *free_bytes)
{
	struct domain_reading r;
	int err = domain_read(ctx, &r);

	if (err == 0)
		*free_bytes = r.free;
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' }, { "apps-sock", required_argument, NULL, 's' },
		{ "threshold", required_argument, NULL, 't' }, { "resignal-ms", required_argument, NULL, 'r' },
		{ "tick-ms", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 },
	};
	const char *domain_name = NULL, *sock = NULL;
	uint64_t threshold = GIB, tick_ms = 100;
	struct registry_config cfg = { 0 };
	struct itimerspec its = { 0 };
	struct domain d;
	struct registry *reg;
	sigset_t mask;
	char err[256];
	int c, epfd, tfd, sfd, stop = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': domain_name = optarg; break;
		case 's': sock = optarg; break;
		case 't':
			if (size_parse(optarg, &threshold) < 0)
				fatal("bad --threshold %s", optarg);
			break;
		case 'r': cfg.resignal_ms = strtoull(optarg, NULL, 10); break;
		case 'k': tick_ms = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || tick_ms == 0)
		fatal("usage: lib_daemon [--domain CGROUP] [--apps-sock PATH] [--threshold SIZE] APP_CGROUP");
	log_set_ident("lib_daemon");
	log_set_level(LOG_LVL_DEBUG);
	if (domain_open(&d, domain_name, argv[optind], NULL, 0, err, sizeof(err)) < 0)
		fatal("%s", err);
	cfg.sock_path = sock;
	cfg.domain = &d.dom;
	cfg.app = &d.app;
	cfg.read_free = read_free;
	cfg.ctx = &d;
	if (registry_open(&reg, &cfg) < 0)
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(tick_ms % 1000) * 1000000L;
	its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(tick_ms / 1000);
	if (sfd < 0 || tfd < 0 || epfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
		fatal("setup: %s", strerror(errno));
	int fds[] = { registry_fd(reg), tfd, sfd };
	for (c = 0; c < 3; c++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[c] };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[c], &ev) < 0)
			fatal("epoll: %s", strerror(errno));
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct epoll_event ev[4];
		int i, n = epoll_wait(epfd, ev, 4, -1);

		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == sfd) {
				stop = 1;
			} else if (ev[i].data.fd == tfd) {
				struct domain_reading r;
				uint64_t ticks;
				if (read(tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) && domain_read(&d, &r) == 0)
					registry_tick(reg, clock_ms(), r.free, threshold);
			} else {
				registry_run(reg);
			}
		}
	}
	log_info("stopping: %u registered, %llu SIGBALLOONs sent", registry_count(reg),
		 (unsigned long long)registry_signals_sent(reg));
	registry_close(reg);
	return 0;
}
