#include "control/ctl.h"

#include "control/state.h"
#include "control/ctl_api.h"
#include "control/ctl_metrics.h"
#include "control/ctl_targets.h"
#include "control/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "harvest/harvest.h"
#include "apps/registry.h"
#include "sys/oom_score.h"
#include "sys/sd_notify.h"
#include "sys/sdunit.h"

#define CONTROLLER_OOM_SCORE_ADJ (-900)

/* The targets from every layer (ctl_targets.h) go through the same rules as the API's (policy/targets.h). */
static int apply_options(struct ctl *c, char *err, size_t errlen)
{
	const struct options *o = &c->opt;
	const char *msg;
	char a[16], b[16];
	int r;

	policy_defaults(&c->params, c->dom.total);
	c->params.deflate_on_oom = o->deflate_on_oom;
	c->stats_interval_s = o->stats_interval_s;
	if ((r = ctl_targets_init(c, err, errlen)))
		return r;
	ctl_set_targets(c, &c->tg);
	c->due.decide = false; /* nothing to decide before the loop runs */
	if ((msg = policy_params_check(&c->params, c->dom.total))) {
		snprintf(err, errlen, "%s", msg);
		return -EINVAL;
	}
	if (c->params.grab_lower > sat_sub(c->dom.total, sat_add(c->params.headroom, c->params.burst_margin)))
		log_warn("--grab-lower %s cannot be reached: the domain (%s) keeps %s of headroom and a %s burst margin "
			 "free beside the balloon", size_format(c->params.grab_lower, a, sizeof(a)),
			 size_format(c->dom.total, b, sizeof(b)), size_format(c->params.headroom, (char[16]){ 0 }, 16),
			 size_format(c->params.burst_margin, (char[16]){ 0 }, 16));
	return 0;
}

/* Reads --spot-tenants-file into the spot settings; it holds passwords, so it is read here, by the controller, and
 * reaches the worker only in its WMSG_SETUP. */
static int read_tenants(struct ctl *c, char *err, size_t errlen)
{
	static char text[64 * 1024];
	char why[192];
	ssize_t n;
	int fd, r;

	if ((fd = open(c->opt.spot_tenants_file, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, errlen, "--spot-tenants-file: %s: %s", c->opt.spot_tenants_file, strerror(errno));
		return r;
	}
	n = read(fd, text, sizeof(text));
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && (size_t)n == sizeof(text)) {
		snprintf(why, sizeof(why), "longer than %zu bytes", sizeof(text) - 1);
		r = -EINVAL;
	} else if (r == 0) {
		r = spot_config_parse_tenants(text, (size_t)n, &c->wk.spot, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "%s", strerror(-r));
	}
	explicit_bzero(text, sizeof(text));
	if (r < 0)
		snprintf(err, errlen, "--spot-tenants-file: %s: %s", c->opt.spot_tenants_file, why);
	return r;
}

/* Checks --spot-listen and reads the password file, so that the worker (which binds the address) cannot fail on
 * them after start-up, over and over across restarts. */
static int spot_options(struct ctl *c, char *err, size_t errlen)
{
	struct spot_listen l;
	char pw[sizeof(c->wk.spot.password) + 1];
	ssize_t n;
	int fd, r;

	spot_config_init(&c->wk.spot);
	if (spot_config_parse_listen(c->opt.spot_listen, &l)) {
		snprintf(err, errlen, "--spot-listen: '%s' is neither ADDR:PORT (numeric address) nor 'off'",
			 c->opt.spot_listen);
		return -EINVAL;
	}
	snprintf(c->wk.spot.listen, sizeof(c->wk.spot.listen), "%s", c->opt.spot_listen);
	if (c->opt.spot_password_file) {
		if ((fd = open(c->opt.spot_password_file, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(err, errlen, "--spot-password-file: %s: %s", c->opt.spot_password_file,
				 strerror(errno));
			return -errno;
		}
		n = read(fd, pw, sizeof(pw));
		close(fd);
		while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
			n--;
		if (n <= 0 || (size_t)n >= sizeof(c->wk.spot.password)) {
			snprintf(err, errlen, "--spot-password-file: the password must be 1 to %zu bytes",
				 sizeof(c->wk.spot.password) - 1);
			return -EINVAL;
		}
		memcpy(c->wk.spot.password, pw, (size_t)n);
		c->wk.spot.password[n] = '\0';
	}
	if (c->opt.spot_tenants_file && (r = read_tenants(c, err, errlen)) < 0)
		return r;
	if (l.off)
		return 0;
	if (!l.loopback && !c->wk.spot.password[0]) {
		snprintf(err, errlen, "--spot-listen %s is not a loopback address: protected mode requires "
			 "--spot-password-file", c->opt.spot_listen);
		return -EINVAL;
	}
	/* Probe the address once: "in use" is an operator's mistake to report now, not a worker crash loop. */
	fd = socket(l.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -errno : 0;
	if (!r && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)))
		r = -errno;
	if (!r && bind(fd, (struct sockaddr *)&l.addr, l.addrlen))
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r)
		snprintf(err, errlen, "--spot-listen %s: %s", c->opt.spot_listen, strerror(-r));
	return r;
}

static int watch(struct ctl *c, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int open_loop_fds(struct ctl *c)
{
	struct itimerspec its = { 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->epfd < 0 || c->sigfd < 0 || c->timerfd < 0)
		return -errno;
	its.it_interval.tv_sec = c->opt.tick_ms / 1000;
	its.it_interval.tv_nsec = (long)(c->opt.tick_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(c->timerfd, 0, &its, NULL))
		return -errno;
	int r = watch(c, c->sigfd, TAG_SIGNAL);
	return r ? r : watch(c, c->timerfd, TAG_TIMER);
}

static int read_free(void *ctx, uint64_t *free_bytes)
{
	struct domain_reading r;
	int err = domain_read(ctx, &r);

	if (!err)
		*free_bytes = domain_free_for_apps(&r);
	return err;
}

static int open_registry(struct ctl *c)
{
	struct registry_config cfg = {
		.sock_path = c->opt.apps_sock, .domain = &c->dom.dom, .app = &c->dom.app,
		.read_free = read_free, .ctx = &c->dom,
	};
	int r;

	if (!strcmp(c->opt.apps_sock, "off"))
		return 0;
	if ((r = registry_open(&c->reg, &cfg)))
		return r; /* registry_open() said why */
	if ((r = watch(c, registry_fd(c->reg), TAG_REGISTRY)))
		log_err("cannot watch the apps socket: %s", strerror(-r));
	else
		log_info("libusbd apps register on %s", c->opt.apps_sock);
	return r;
}

static int open_harvester(struct ctl *c)
{
	struct harvest_config cfg;
	int r;

	harvest_config_defaults(&cfg);
	cfg.app = c->dom.app;
	cfg.journal_path = c->opt.harvest_journal;
	if ((r = harvest_open(&c->harvest, &cfg)))
		log_err("cannot start the harvester (journal %s): %s", c->opt.harvest_journal, strerror(-r));
	return r;
}

/* --app-unit: the unit's cgroup, as systemd has it (docs/USAGE.md "usbd and systemd"). */
static int app_unit_cgroup(const char *unit, char *cg, size_t len, char *err, size_t errlen)
{
	int r;

	if (!sdunit_booted()) {
		snprintf(err, errlen, "--app-unit %s: this host does not run systemd (no /run/systemd/system); name the "
			 "app's cgroup instead", unit);
		return -ENOENT;
	}
	r = sdunit_cgroup(unit, cg, len);
	if (r == -EINVAL)
		snprintf(err, errlen, "--app-unit '%s' is not a unit name (e.g. postgresql.service)", unit);
	else if (r == -ENOENT)
		snprintf(err, errlen, "unit '%s' has no cgroup: is it loaded and running? (`systemctl status %s`)",
			 unit, unit);
	else if (r == -EIO)
		snprintf(err, errlen, "cannot ask systemd for the cgroup of unit '%s' (`systemctl show` failed)", unit);
	else if (r)
		snprintf(err, errlen, "unit '%s': %s", unit, strerror(-r));
	else
		log_info("app unit %s: cgroup %s", unit, cg);
	return r;
}

int ctl_init(struct ctl *c, const struct options *o)
{
	static char unit_cg[PATH_MAX];
	char err[512];
	int r;

	memset(c, 0, sizeof(*c));
	c->epfd = c->sigfd = c->timerfd = c->wk.h.fd = c->wk.h.pidfd = -1;
	c->wk.grow_seq = c->wk.shrink_seq = -1;
	c->state.dirfd = -1;
	c->opt = *o;
	if (o->app_unit && !o->app && (r = app_unit_cgroup(o->app_unit, unit_cg, sizeof(unit_cg), err, sizeof(err)))) {
		log_err("%s", err);
		return r;
	}
	if (o->app_unit && !o->app)
		c->opt.app = unit_cg;
	if ((r = domain_open(&c->dom, c->opt.domain, c->opt.app, NULL, 0, err, sizeof(err))) ||
	    (r = apply_options(c, err, sizeof(err))) || (r = spot_options(c, err, sizeof(err)))) {
		log_err("%s", err);
		return r;
	}
	if ((r = open_loop_fds(c))) {
		log_err("cannot set up the event loop: %s", strerror(-r));
		return r;
	}
	if ((r = oom_score_set(0, CONTROLLER_OOM_SCORE_ADJ)))
		log_warn("cannot lower the controller's oom_score_adj: %s", strerror(-r));
	/* Only after the start-up checks (a second usbd on this socket stops there) does the harvester lock its journal
	 * and repair a step a crash interrupted: another usbd's step in flight is not ours to undo. Its step thread
	 * starts last, once there is a balloon to harvest beside. */
	if ((r = ctl_api_open(c)) || (r = ctl_metrics_open(c)) || (r = open_harvester(c)))
		return r;
	/* From here on usbd changes the system; ctl_shutdown() undoes each step. */
	if ((r = domain_create_worker_cgroup(&c->dom, err, sizeof(err)))) {
		log_err("%s", err);
		return r;
	}
	notify_setup(&c->notify, &c->dom, c->epfd, TAG_NOTIFY);
	if (o->no_events)
		notify_teardown(&c->notify, c->epfd);
	if ((r = open_registry(c)) || (r = ctl_worker_start(c)) || (r = harvest_start(c->harvest)))
		return r;
	c->next_status_ms = clock_ms() + 1000;
	/* The tick must come often enough for the pings: WatchdogSec is seconds, the tick a fraction of one. */
	c->watchdog_ms = systemd_watchdog_ms();
	if (c->watchdog_ms && c->watchdog_ms / 2 < c->opt.tick_ms)
		log_warn("WatchdogSec=%llums is shorter than two ticks (%u ms): systemd may think usbd hung",
			 (unsigned long long)c->watchdog_ms, c->opt.tick_ms);
	return 0;
}

void ctl_shutdown(struct ctl *c)
{
	if (c->wk.up) {
		worker_stop(&c->wk.h, 3000);
		c->wk.up = c->wk.ready = false;
		c->wk.grab = 0;
	}
	if (c->harvest) {
		harvest_close(c->harvest);
		c->harvest = NULL;
	}
	if (c->reg) {
		registry_close(c->reg);
		c->reg = NULL;
	}
	if (c->epfd >= 0)
		notify_teardown(&c->notify, c->epfd);
	domain_remove_worker_cgroup(&c->dom);
	ctl_targets_close(c);
	ctl_metrics_close(c);
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = c->sigfd = c->timerfd = -1;
}
