/* registry: the apps socket server and the apps' lifecycle (see registry.h); the swap scheme is scheme.c, the
 * SIGBALLOON rounds rounds.c, page-outs advise.c, the record of changes for a crash state.c. */
#include "apps/registry.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apps/advise.h"
#include "apps/rounds.h"
#include "apps/scheme.h"
#include "apps/state.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "policy/pageout.h"
#include "lib/proto.h"
#include "sys/listen.h"
#include "sys/procfs.h"
#include "sys/swapdev.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define PENDING_MAX 16          /* connections not registered (yet), all peers together */
#define PENDING_PER_UID 4       /* ... of one uid */
#define PENDING_TIMEOUT_MS 5000 /* a connection that has not registered by then is closed */
#define BACKLOG 16

struct registry {
	struct registry_config cfg;
	struct scheme scheme;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char state_path[PATH_MAX];
	struct stat sock_id;
	int lfd, epfd;
	struct app *apps;
	unsigned nconn, nreg;
	uint64_t free_bytes, threshold;
	struct pageout_unseen unseen;   /* page-outs the readings may not show yet */
	struct rounds rounds;
	uint32_t listener_tag;  /* epoll data for the listener: its address, never an app's */
};

static int record(void *ctx)
{
	struct registry *r = ctx;

	return state_write(r->state_path, &r->scheme, r->apps);
}

/* Whether pid's memory cgroup is inside the domain; sets from to its name. 0, -EXDEV (outside) or -errno. */
static int inside_domain(const struct registry *r, pid_t pid, char *from, size_t len)
{
	struct cgroup cur;
	int err = pid_memcg_read(pid, r->scheme.domain.hier->version, from, len);

	if (err == 0)
		err = cg_resolve(r->scheme.domain.hier, from, &cur);
	if (err < 0)
		return err;
	return cg_within(&cur, &r->scheme.domain) ? 0 : -EXDEV;
}

/* Once per daemon, at the first registration: whether huge pages can go to swap whole (sys/swapdev.h). */
static void thp_swap_check(void)
{
	static bool said;
	char why[PATH_MAX + 64];

	if (said)
		return;
	said = true;
	if (swapdev_thp_whole(why, sizeof(why)) == 0)
		log_warn("registry: swap cannot take huge pages whole (%s): the kernel splits each one it swaps out "
			 "into 4 KiB pages; a non-rotational swap device such as zram takes them whole (docs/LIBUSBD.md)",
			 why);
}

static int do_register(struct registry *r, struct app *a, int sig)
{
	char from[PATH_MAX];
	int err;

	if (a->registered)
		return 0;
	if (sig < 32 || sig > 64) /* the kernel's real-time range */
		return -EINVAL;
	if (r->nreg >= r->cfg.max_apps)
		return -EUSERS;
	err = inside_domain(r, a->pid, from, sizeof(from));
	if (err == 0)
		err = scheme_apply(&r->scheme, record, r);
	/* cgroup v2: the scheme may have just moved the app into APP/usbd-unregistered, where it returns to. */
	if (err == 0)
		err = inside_domain(r, a->pid, from, sizeof(from));
	if (err < 0)
		return err;
	/* The pidfd proves the process is still the one that connected before we move it. */
	if (pidfd_send_signal(a->pidfd, 0, NULL, 0) < 0)
		return -errno;
	snprintf(a->from, sizeof(a->from), "%s", from);
	a->registered = true;
	/* Recorded before the move: a process recorded but never moved is left alone by the repair. */
	err = record(r);
	if (err == 0)
		err = cg_move_pid(&r->scheme.reg_cg, a->pid);
	if (err < 0) {
		a->registered = false;
		return err;
	}
	a->sig = sig;
	r->nreg++;
	log_info("registry: pid %d registered (from %s, signal %d)", (int)a->pid, a->from[0] ? a->from : "/", sig);
	thp_swap_check();
	return 0;
}

static void do_unregister(struct registry *r, struct app *a)
{
	struct cgroup back;
	int err;

	if (!a->registered)
		return;
	a->registered = false;
	a->idle_since_ms = clock_ms();
	r->nreg--;
	err = cg_resolve(r->scheme.domain.hier, a->from, &back);
	if (err == -ENOENT)
		back = r->scheme.app_cg;
	else if (err < 0)
		return;
	err = cg_move_pid(&back, a->pid);
	if (err < 0 && err != -ESRCH)
		log_warn("registry: cannot move pid %d back to %s: %s", (int)a->pid, back.path, strerror(-err));
	log_info("registry: pid %d unregistered", (int)a->pid);
}

static void app_drop(struct registry *r, struct app *a)
{
	struct app **pp;

	do_unregister(r, a);
	for (pp = &r->apps; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, a->fd, NULL);
	close(a->fd);
	close(a->pidfd);
	r->nconn--;
	free(a);
}

static const char *register_error(int err)
{
	return err == -EXDEV ? "not inside the domain" : strerror(-err);
}

/* Judged with the free memory read now, counting what earlier page-outs freed that the reading may not show yet;
 * what this one pages out is counted likewise. */
static void serve_pageout(struct registry *r, struct app *a, const struct umsg_pageout *m)
{
	uint64_t free_bytes = r->free_bytes, now = clock_ms();

	if (!a->registered) {
		app_reply(a, m->hdr.seq, -EPERM, USBD_REASON_NOT_REGISTERED, 0, free_bytes, r->threshold,
			  pageout_reason_text(USBD_REASON_NOT_REGISTERED));
		return;
	}
	if (r->cfg.read_free && r->cfg.read_free(r->cfg.ctx, &free_bytes) < 0)
		free_bytes = r->free_bytes;
	free_bytes = pageout_free(&r->unseen, now, free_bytes);
	pageout_unseen_add(&r->unseen, now, free_bytes, advise_serve(a, m, now, free_bytes, r->threshold));
}

/* Serves one packet. Returns false when the app must be dropped. */
static bool app_serve(struct registry *r, struct app *a)
{
	union umsg_any m;
	ssize_t n = recv(a->fd, &m, sizeof(m), MSG_DONTWAIT);
	int err;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	err = umsg_check(&m, (size_t)n);
	if (err < 0 || m.hdr.type == UMSG_REPLY) {
		log_warn("registry: pid %d sent a bad message (%zd bytes)", (int)a->pid, n);
		if (err != -EBADMSG || n >= (ssize_t)sizeof(struct umsg_hdr))
			app_reply(a, n >= (ssize_t)sizeof(struct umsg_hdr) ? m.hdr.seq : 0, -EINVAL,
				  USBD_REASON_BAD_REQUEST, 0, r->free_bytes, r->threshold,
				  err == -EPROTONOSUPPORT ? "unsupported protocol version" : "malformed message");
		return false;
	}
	switch (m.hdr.type) {
	case UMSG_REGISTER:
		err = do_register(r, a, m.reg.sig);
		if (err < 0)
			log_warn("registry: pid %d not registered: %s", (int)a->pid, register_error(err));
		app_reply(a, m.hdr.seq, err < 0 ? -EPERM : 0, err < 0 ? USBD_REASON_REFUSED : USBD_REASON_OK, 0,
			  r->free_bytes, r->threshold, register_error(err));
		break;
	case UMSG_UNREGISTER:
		do_unregister(r, a);
		app_reply(a, m.hdr.seq, 0, USBD_REASON_OK, 0, r->free_bytes, r->threshold, "unregistered");
		break;
	case UMSG_PAGEOUT:
		serve_pageout(r, a, &m.pageout);
		break;
	}
	return true;
}

/* Whether one more unregistered connection of uid may wait for its registration. */
static bool pending_room(const struct registry *r, uid_t uid)
{
	const struct app *a;
	unsigned of_uid = 0;

	if (r->nconn - r->nreg >= PENDING_MAX)
		return false;
	for (a = r->apps; a; a = a->next)
		of_uid += !a->registered && a->uid == uid;
	return of_uid < PENDING_PER_UID;
}

/*
 * Admits the peer of a new connection into a: it must be a process inside the domain (checked now, so that
 * nobody outside can hold a connection) with room left for its uid. 0 or -errno.
 */
static int admit(struct registry *r, int fd, struct app *a)
{
	char from[PATH_MAX];
	struct ucred cred;
	socklen_t len = sizeof(a->pidfd);
	int err = listen_peer_cred(fd, &cred);

	if (err < 0)
		return err;
	a->pid = cred.pid;
	a->uid = cred.uid;
	if (!pending_room(r, cred.uid))
		return -EUSERS;
	/* SO_PEERPIDFD names the very process that connected; pidfd_open(pid) is the fallback for old kernels. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &a->pidfd, &len) < 0)
		a->pidfd = pidfd_open(cred.pid, 0);
	if (a->pidfd < 0)
		return -errno;
	err = inside_domain(r, cred.pid, from, sizeof(from));
	/* Still the process whose cgroup was read, not one that got its pid since. */
	if (err == 0 && pidfd_send_signal(a->pidfd, 0, NULL, 0) < 0)
		err = -errno;
	return err;
}

static void accept_one(struct registry *r)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
	struct app *a;

	if (fd < 0)
		return;
	a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		return;
	}
	a->fd = fd;
	a->pidfd = -1;
	a->idle_since_ms = clock_ms();
	ev.data.ptr = a;
	err = admit(r, fd, a);
	if (err == 0 && epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		err = -errno;
	if (err < 0) {
		log_debug("registry: connection of pid %d (uid %u) refused: %s", (int)a->pid, (unsigned)a->uid,
			  register_error(err));
		if (a->pidfd >= 0)
			close(a->pidfd);
		close(fd);
		free(a);
		return;
	}
	a->next = r->apps;
	r->apps = a;
	r->nconn++;
}

void registry_run(struct registry *r)
{
	struct epoll_event ev[16];
	int i, n = epoll_wait(r->epfd, ev, 16, 0);

	for (i = 0; i < n; i++) {
		struct app *a = ev[i].data.ptr;

		if (ev[i].data.ptr == &r->listener_tag) {
			accept_one(r);
			continue;
		}
		if ((ev[i].events & EPOLLIN) && app_serve(r, a))
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			app_drop(r, a);
	}
}

/* Drops the apps whose process is gone and the connections that did not register in time. */
static void drop_stale(struct registry *r, uint64_t now_ms)
{
	struct app *a, *next;

	for (a = r->apps; a; a = next) {
		next = a->next;
		if (a->gone || (!a->registered && now_ms - a->idle_since_ms >= PENDING_TIMEOUT_MS))
			app_drop(r, a);
	}
}

void registry_tick(struct registry *r, uint64_t now_ms, uint64_t domain_free_bytes, uint64_t threshold_bytes)
{
	r->free_bytes = pageout_free(&r->unseen, now_ms, domain_free_bytes);
	r->threshold = threshold_bytes;
	rounds_tick(&r->rounds, r->apps, now_ms, r->free_bytes, threshold_bytes);
	drop_stale(r, now_ms);
}

/* Listens, then repairs what a usbd killed on this socket left: only once the socket is ours, since a live usbd
 * on it would have its changes undone under it. */
static int start(struct registry *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->listener_tag };
	struct listen_opts o = {
		/* 0666: unprivileged apps register; the peer's process decides what each may do. */
		.type = SOCK_SEQPACKET, .mode = 0666, .uid = geteuid(), .gid = (gid_t)-1, .backlog = BACKLOG,
	};
	int err;

	r->lfd = listen_unix(r->sock_path, &o, &r->sock_id);
	if (r->lfd < 0)
		return r->lfd;
	err = state_repair(r->scheme.domain.hier, r->state_path);
	if (err < 0 && err != -EINVAL)
		log_err("registry: cannot repair from %s: %s", r->state_path, strerror(-err));
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev) < 0)
		return -errno;
	return 0;
}

static void destroy(struct registry *r)
{
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->lfd >= 0) {
		close(r->lfd);
		listen_remove(r->sock_path, &r->sock_id);
	}
	scheme_free(&r->scheme);
	free(r);
}

int registry_open(struct registry **out, const struct registry_config *cfg)
{
	const char *path = cfg->sock_path ? cfg->sock_path : USBD_APPS_SOCK_DEFAULT;
	struct registry *r;
	int err;

	if (!cfg->domain || !cfg->app || !cg_within(cfg->app, cfg->domain))
		return -EINVAL;
	if (strlen(path) >= sizeof(r->sock_path))
		return -ENAMETOOLONG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lfd = r->epfd = -1;
	r->cfg = *cfg;
	r->cfg.max_apps = cfg->max_apps ? cfg->max_apps : 64;
	r->rounds.resignal_ms = cfg->resignal_ms ? cfg->resignal_ms : 1000;
	r->threshold = GIB;
	r->free_bytes = UINT64_MAX;
	snprintf(r->sock_path, sizeof(r->sock_path), "%s", path);
	err = state_path(path, r->state_path, sizeof(r->state_path));
	if (!err)
		err = scheme_init(&r->scheme, cfg->domain, cfg->app);
	if (!err)
		err = start(r);
	if (err < 0) {
		log_err("registry: cannot listen on %s: %s", path, strerror(-err));
		destroy(r);
		return err;
	}
	*out = r;
	return 0;
}

int registry_fd(const struct registry *r) { return r->epfd; }
unsigned registry_count(const struct registry *r) { return r->nreg; }
uint64_t registry_signals_sent(const struct registry *r) { return r->rounds.signals; }

void registry_close(struct registry *r)
{
	int err;

	if (!r)
		return;
	while (r->apps)
		app_drop(r, r->apps);
	scheme_undo(&r->scheme);
	if ((err = state_remove(r->state_path)) < 0)
		log_err("registry: cannot remove %s: %s", r->state_path, strerror(-err));
	destroy(r);
}
