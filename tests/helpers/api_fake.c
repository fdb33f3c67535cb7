/*
 * api_fake: the API server on a given socket with a fake in-memory backend and its own epoll loop, for
 * tests/integration/api_server.sh. Usage: api_fake SOCK DOMAIN_MIB [--uid UID] [--gid GID] [--timeout S]
 * [--max-conn N]. Exits cleanly (removing the socket) on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/api.h"
#include "common/log.h"
#include "common/size.h"

struct fake {
	uint64_t domain_mib;
	struct api_balloon balloon;
	struct api_targets targets;
	uint64_t stats_refreshes;	/* PATCH /balloon/statistics refreshes at once: visible in the counters */
};

static int check_fits(const struct fake *f, const char *name, uint64_t mib, char *err, size_t len)
{
	if (mib <= f->domain_mib)
		return 0;
	snprintf(err, len, "%s: %llu MiB is larger than the domain (%llu MiB)", name, (unsigned long long)mib,
		 (unsigned long long)f->domain_mib);
	return -EINVAL;
}

static int get_balloon(void *ctx, struct api_balloon *out, char *err, size_t len)
{
	*out = ((struct fake *)ctx)->balloon;
	return 0;
}

/* Too large: -E2BIG, which the server answers with Firecracker's text (api.h). */
static int set_amount(struct fake *f, uint32_t amount_mib, char *err, size_t len)
{
	if (amount_mib > f->domain_mib)
		return -E2BIG;
	f->balloon.amount_mib = amount_mib;
	f->targets.grab_lower_mib = f->targets.grab_upper_mib = amount_mib;
	return 0;
}

static int put_balloon(void *ctx, const struct api_balloon *cfg, char *err, size_t len)
{
	struct fake *f = ctx;
	int rc = set_amount(f, cfg->amount_mib, err, len);

	if (rc)
		return rc;
	f->balloon = *cfg;
	return 0;
}

static int patch_balloon(void *ctx, uint32_t amount_mib, char *err, size_t len)
{
	return set_amount(ctx, amount_mib, err, len);
}

static int get_stats(void *ctx, struct api_balloon_stats *out, char *err, size_t len)
{
	const struct fake *f = ctx;

	*out = (struct api_balloon_stats){
		.target_mib = f->balloon.amount_mib,
		.target_pages = (uint64_t)f->balloon.amount_mib * (MIB / 4096),
		.actual_mib = f->balloon.amount_mib,
		.actual_pages = (uint64_t)f->balloon.amount_mib * (MIB / 4096),
		.total_memory_bytes = f->domain_mib * MIB,
		.free_memory_bytes = (f->domain_mib - f->balloon.amount_mib) * MIB,
		.available_memory_bytes = (f->domain_mib - f->balloon.amount_mib) * MIB,
		.minor_faults = f->stats_refreshes,
	};
	return 0;
}

static int set_stats_interval(void *ctx, uint16_t interval_s, char *err, size_t len)
{
	struct fake *f = ctx;

	f->balloon.stats_polling_interval_s = interval_s;
	f->stats_refreshes++;
	return 0;
}

static int get_targets(void *ctx, struct api_targets *out, char *err, size_t len)
{
	*out = ((struct fake *)ctx)->targets;
	return 0;
}

static int patch_targets(void *ctx, const struct api_targets *t, unsigned int mask, char *err, size_t len)
{
	struct fake *f = ctx;
	struct api_targets m = f->targets;
	int rc;

	if (mask & API_TARGET_GRAB_LOWER)
		m.grab_lower_mib = t->grab_lower_mib;
	if (mask & API_TARGET_GRAB_UPPER)
		m.grab_upper_mib = t->grab_upper_mib;
	if (mask & API_TARGET_SWAP_TARGET)
		m.swap_target_mib = t->swap_target_mib;
	if (mask & API_TARGET_HEADROOM)
		m.headroom_mib = t->headroom_mib;
	if (mask & API_TARGET_THRESHOLD)
		m.threshold_mib = t->threshold_mib;
	rc = check_fits(f, "grab_upper_mib", m.grab_upper_mib, err, len);
	if (rc)
		return rc;
	if (m.grab_lower_mib > m.grab_upper_mib) {
		snprintf(err, len, "grab_lower_mib (%llu) is larger than grab_upper_mib (%llu)",
			 (unsigned long long)m.grab_lower_mib, (unsigned long long)m.grab_upper_mib);
		return -EINVAL;
	}
	f->targets = m;
	return 0;
}

static int get_status(void *ctx, struct api_status *out, char *err, size_t len)
{
	const struct fake *f = ctx;

	*out = (struct api_status){
		.grab_bytes = f->targets.grab_lower_mib * MIB,
		.total_bytes = f->domain_mib * MIB,
		.free_bytes = (f->domain_mib - f->targets.grab_lower_mib) * MIB,
		.grab_lower_bytes = f->targets.grab_lower_mib * MIB,
		.grab_upper_bytes = f->targets.grab_upper_mib * MIB,
		.swap_target_bytes = f->targets.swap_target_mib * MIB,
		.headroom_bytes = f->targets.headroom_mib * MIB,
		.threshold_bytes = f->targets.threshold_mib * MIB,
		.deflate_on_oom = f->balloon.deflate_on_oom,
		.worker_pid = getpid(),
		.has_last_deflation = true,
		.last_deflation_reason = API_DEFLATION_APP_GROWTH,
		.last_deflation_bytes = 2 * MIB,
		.last_deflation_age_ms = 1500,
		.deflations = { [API_DEFLATION_APP_GROWTH] = 1 },
	};
	/* A name that needs escaping in the metrics labels. */
	snprintf(out->app_cgroup, sizeof(out->app_cgroup), "fake\"app\\1");
	return 0;
}

static unsigned long arg_number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		fatal("not a number up to %lu: '%s'", max, s);
	return v;
}

static void parse_args(int argc, char **argv, struct api_config *cfg, struct fake *f)
{
	if (argc < 3 || (argc - 3) % 2)
		fatal("usage: api_fake SOCK DOMAIN_MIB [--uid UID] [--gid GID] [--timeout S] [--max-conn N]");
	cfg->sock_path = argv[1];
	f->domain_mib = arg_number(argv[2], UINT32_MAX);
	for (int i = 3; i < argc; i += 2) {
		if (!strcmp(argv[i], "--uid")) {
			cfg->uid = (uid_t)arg_number(argv[i + 1], UINT32_MAX - 1);
		} else if (!strcmp(argv[i], "--gid")) {
			cfg->gid = (gid_t)arg_number(argv[i + 1], UINT32_MAX - 1);
			cfg->has_gid = true;
		} else if (!strcmp(argv[i], "--timeout")) {
			cfg->timeout_s = (unsigned int)arg_number(argv[i + 1], 3600);
		} else if (!strcmp(argv[i], "--max-conn")) {
			cfg->max_connections = (unsigned int)arg_number(argv[i + 1], 100000);
		} else {
			fatal("unknown option '%s'", argv[i]);
		}
	}
}

/* Returns a signalfd for SIGTERM and SIGINT, which are blocked so that only the fd sees them. */
static int stop_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatal("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd: %s", strerror(errno));
	return fd;
}

static void watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		fatal("epoll_ctl: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct fake f = { 0 };
	struct api_config cfg = { 0 };
	struct api_backend be = {
		.ctx = &f, .get_balloon = get_balloon, .put_balloon = put_balloon, .patch_balloon = patch_balloon,
		.get_stats = get_stats, .set_stats_interval = set_stats_interval, .get_targets = get_targets,
		.patch_targets = patch_targets, .get_status = get_status,
	};
	struct api_server *srv;
	int ep, sfd, rc;

	log_set_ident("api_fake");
	parse_args(argc, argv, &cfg, &f);
	signal(SIGPIPE, SIG_IGN);
	sfd = stop_signals();
	rc = api_server_open(&srv, &cfg, &be);
	if (rc)
		fatal("api_server_open %s: %s", cfg.sock_path, strerror(-rc));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		fatal("epoll_create1: %s", strerror(errno));
	watch(ep, api_server_fd(srv));
	watch(ep, sfd);
	log_info("serving on %s", cfg.sock_path);
	for (;;) {
		struct epoll_event ev[8];
		int n = epoll_wait(ep, ev, 8, api_server_timeout_ms(srv));

		if (n < 0 && errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			if (ev[i].data.fd == sfd)
				goto out;
		/* Also on timeouts: the server closes idle connections from here. */
		api_server_run(srv);
	}
out:
	api_server_close(srv);
	close(ep);
	close(sfd);
	return 0;
}
