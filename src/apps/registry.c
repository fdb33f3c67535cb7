#include "apps/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "policy/pageout.h"
#include "lib/proto.h"
#include "sys/procfs.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define MAX_SWAP_CGROUPS 4096   /* cgroups of the domain kept out of swap */
#define MAX_WALK_DEPTH 32
#define MAX_MAPS_BYTES (16 * MIB)
#define MAX_AREAS 65536
#define EXTRA_CONNECTIONS 8     /* beyond max_apps, for apps that connect and have not registered yet */

#define SETTLE_MS 250       /* registry_tick(): no SIGBALLOON this soon after an honoured page-out */

struct app {
	int fd, pidfd;
	pid_t pid;
	int sig;
	bool registered;
	uint64_t rss;           /* resident memory at the last SIGBALLOON round: its share of the deficit */
	uint64_t pageout_ms;    /* when it was last honoured a page-out (clock_ms), 0: never */
	char from[PATH_MAX];    /* the memory cgroup it came from, to move it back */
	struct app *next;
};

struct swap_saved {
	char *name;             /* cgroup name relative to the hierarchy root */
	char old[32];
};

struct registry {
	struct registry_config cfg;
	struct cgroup domain, app_cg, reg_cg;
	bool reg_created;
	struct swap_saved *saved;
	unsigned nsaved;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, epfd;
	struct app *apps;
	unsigned nconn, nreg;
	uint64_t free_bytes, threshold, last_signal_ms, signals;
	bool below;
	uint32_t listener_tag;  /* epoll data for the listener: its address, never an app's */
};

/* The file holding a cgroup's swap setting: v1 swappiness, v2 swap.max. */
static const char *swap_file(const struct cgroup *cg)
{
	return cg->hier->version == 1 ? "memory.swappiness" : "memory.swap.max";
}

static int save_and_forbid(struct registry *r, const struct cgroup *cg)
{
	struct swap_saved *s;
	int n;

	if (r->nsaved == MAX_SWAP_CGROUPS)
		return -E2BIG;
	s = &r->saved[r->nsaved];
	n = cg_read_file(cg, swap_file(cg), s->old, sizeof(s->old));
	if (n < 0)
		return n;
	s->old[strcspn(s->old, "\n")] = '\0';
	s->name = strdup(cg->name);
	if (!s->name)
		return -ENOMEM;
	n = cg->hier->ops->set_swap_allowed(cg, false);
	if (n < 0) {
		free(s->name);
		return n;
	}
	r->nsaved++;
	return 0;
}

/* Keeps cg and its descendants out of swap, except the registered cgroup; the hierarchy root is left alone
 * (on v1 its swappiness is the global vm.swappiness). */
static int forbid_tree(struct registry *r, const struct cgroup *cg, int depth)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	if (depth > MAX_WALK_DEPTH)
		return -ELOOP;
	if (strcmp(cg->name, r->reg_cg.name) == 0)
		return 0;
	if (cg->name[0] != '\0') {
		err = save_and_forbid(r, cg);
		if (err < 0) {
			log_err("registry: cannot keep %s out of swap: %s", cg->path, strerror(-err));
			return err;
		}
	}
	dir = opendir(cg->path);
	if (!dir)
		return -errno;
	while (err == 0 && (de = readdir(dir))) {
		struct cgroup child;
		char name[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(name, sizeof(name), "%s%s%s", cg->name, cg->name[0] ? "/" : "", de->d_name) >=
		    (int)sizeof(name))
			err = -ENAMETOOLONG;
		else if ((err = cg_resolve(cg->hier, name, &child)) == 0)
			err = forbid_tree(r, &child, depth + 1);
		else if (err == -ENOENT)
			err = 0; /* removed meanwhile */
	}
	closedir(dir);
	return err;
}

static void restore_swap(struct registry *r)
{
	while (r->nsaved > 0) {
		struct swap_saved *s = &r->saved[--r->nsaved];
		struct cgroup cg;
		int err = cg_resolve(r->domain.hier, s->name, &cg);

		if (err == 0)
			err = cg_write_file(&cg, swap_file(&cg), s->old);
		if (err < 0 && err != -ENOENT)
			log_err("registry: cannot restore %s of %s to %s: %s", swap_file(&r->domain), s->name, s->old,
				strerror(-err));
		free(s->name);
	}
}

/* Done at the first registration, so that a usbd without registered apps leaves swap to the harvester. */
static int swap_scheme_apply(struct registry *r)
{
	int err;

	if (r->reg_created)
		return 0;
	err = cg_create_child(&r->app_cg, REGISTRY_CGROUP, &r->reg_cg);
	if (err == -EEXIST) {
		/* Left behind by a daemon that crashed: take it over, and remove it at close. */
		char name[PATH_MAX + sizeof(REGISTRY_CGROUP)];
		snprintf(name, sizeof(name), "%s/%s", r->app_cg.name, REGISTRY_CGROUP);
		err = cg_resolve(r->app_cg.hier, name, &r->reg_cg);
	}
	if (err < 0) {
		log_err("registry: cannot create %s/%s: %s", r->app_cg.path, REGISTRY_CGROUP, strerror(-err));
		return err;
	}
	r->reg_created = true;
	/* v1 charges stay with the old cgroup unless moved; best effort, the knob is deprecated. */
	if (r->reg_cg.hier->version == 1 && cg_write_file(&r->reg_cg, "memory.move_charge_at_immigrate", "3") < 0)
		log_debug("registry: memory.move_charge_at_immigrate not available");
	err = forbid_tree(r, &r->domain, 0);
	if (err == 0)
		err = r->reg_cg.hier->ops->set_swap_allowed(&r->reg_cg, true);
	if (err < 0) {
		log_err("registry: swap scheme not applied: %s", strerror(-err));
		restore_swap(r);
		cg_remove(&r->reg_cg);
		r->reg_created = false;
	}
	return err;
}

/* The memory cgroup of pid, from /proc/PID/cgroup ("N:memory:/path" on v1, "0::/path" on v2). */
static int pid_cgroup(const struct cgroup *any, pid_t pid, char *name, size_t len)
{
	char path[64], buf[8192], *line, *save = NULL;
	const char *want = any->hier->version == 1 ? ":memory:" : "0::";
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/cgroup", procfs_root(), (int)pid);
	n = read_small_file(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, want);
		if (!p || (any->hier->version == 2 && p != line))
			continue;
		p += strlen(want);
		while (*p == '/')
			p++;
		if (snprintf(name, len, "%s", p) >= (int)len)
			return -ENAMETOOLONG;
		return 0;
	}
	return -ENOENT;
}

static void send_reply(struct app *a, uint32_t seq, int status, enum usbd_reason reason, uint64_t bytes,
		       uint64_t free_bytes, uint64_t threshold, const char *msg)
{
	struct umsg_reply m;

	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, UMSG_REPLY, seq);
	m.status = status;
	m.reason = reason;
	m.bytes = bytes;
	m.free_bytes = free_bytes;
	m.threshold_bytes = threshold;
	snprintf(m.message, sizeof(m.message), "%s", msg);
	/* One packet on a SEQPACKET socket: whole or nothing. A full socket means the app is not reading. */
	if (send(a->fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(m))
		log_warn("registry: reply to pid %d lost: %s", (int)a->pid, strerror(errno));
}

static int do_register(struct registry *r, struct app *a, int sig)
{
	struct cgroup cur;
	char from[PATH_MAX];
	int err;

	if (a->registered)
		return 0;
	if (sig < 32 || sig > 64) /* the kernel's real-time range */
		return -EINVAL;
	if (r->nreg >= r->cfg.max_apps)
		return -EUSERS;
	err = pid_cgroup(&r->domain, a->pid, from, sizeof(from));
	if (err == 0)
		err = cg_resolve(r->domain.hier, from, &cur);
	if (err < 0)
		return err;
	if (!cg_within(&cur, &r->domain))
		return -EXDEV;
	err = swap_scheme_apply(r);
	if (err < 0)
		return err;
	/* The pidfd proves the process is still the one that connected before we move it. */
	if (pidfd_send_signal(a->pidfd, 0, NULL, 0) < 0)
		return -errno;
	err = cg_move_pid(&r->reg_cg, a->pid);
	if (err < 0)
		return err;
	snprintf(a->from, sizeof(a->from), "%s", cur.name);
	a->sig = sig;
	a->registered = true;
	r->nreg++;
	log_info("registry: pid %d registered (from %s, signal %d)", (int)a->pid, a->from[0] ? a->from : "/", sig);
	return 0;
}

static void do_unregister(struct registry *r, struct app *a)
{
	struct cgroup back;
	int err;

	if (!a->registered)
		return;
	a->registered = false;
	r->nreg--;
	err = cg_resolve(r->domain.hier, a->from, &back);
	if (err == -ENOENT)
		back = r->app_cg;
	else if (err < 0)
		return;
	err = cg_move_pid(&back, a->pid);
	if (err < 0 && err != -ESRCH)
		log_warn("registry: cannot move pid %d back to %s: %s", (int)a->pid, back.path, strerror(-err));
	log_info("registry: pid %d unregistered", (int)a->pid);
}

/* Reads /proc/PID/maps whole into a malloc'd buffer (capped). */
static int read_maps(pid_t pid, char **out)
{
	char path[64], *buf = NULL;
	size_t cap = 64 * KIB, len = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%d/maps", procfs_root(), (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 == cap) {
			char *nb;
			if (buf)
				cap *= 2;
			if (cap > MAX_MAPS_BYTES) {
				err = -E2BIG;
				break;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (err < 0) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Advises every range; returns the bytes advised, or -errno when the kernel advised nothing. */
static int64_t advise(struct app *a, const struct umsg_range *rg, uint32_t n)
{
	struct iovec iov[UMSG_MAX_RANGES];
	uint64_t done = 0, total = 0;
	uint32_t i, first = 0;

	for (i = 0; i < n; i++) {
		iov[i] = (struct iovec){ (void *)(uintptr_t)rg[i].addr, rg[i].len };
		total += rg[i].len;
	}
	while (first < n) {
		ssize_t got = process_madvise(a->pidfd, iov + first, n - first, MADV_PAGEOUT, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return done ? (int64_t)done : (got < 0 ? -errno : -EIO);
		/* A partial return stops at an iovec boundary or inside one: skip what was done. */
		done += (uint64_t)got;
		while (first < n && (size_t)got >= iov[first].iov_len)
			got -= (ssize_t)iov[first++].iov_len;
		if (first < n) {
			iov[first].iov_base = (char *)iov[first].iov_base + got;
			iov[first].iov_len -= (size_t)got;
		}
	}
	return (int64_t)min_u64(done, total);
}

static void do_pageout(struct registry *r, struct app *a, const struct umsg_pageout *m)
{
	static struct pageout_area areas[MAX_AREAS]; /* 1 MiB: the registry serves one request at a time */
	struct pageout_limits lim;
	uint64_t free_bytes = r->free_bytes, bytes = 0;
	enum usbd_reason reason;
	char *maps = NULL, msg[96];
	int64_t done;
	int n;

	if (!a->registered) {
		send_reply(a, m->hdr.seq, -EPERM, USBD_REASON_NOT_REGISTERED, 0, free_bytes, r->threshold,
			   pageout_reason_text(USBD_REASON_NOT_REGISTERED));
		return;
	}
	if (r->cfg.read_free && r->cfg.read_free(r->cfg.ctx, &free_bytes) < 0)
		free_bytes = r->free_bytes;
	pageout_limits_default(&lim);
	lim.page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	n = read_maps(a->pid, &maps);
	if (n == 0)
		n = pageout_parse_maps(maps, areas, MAX_AREAS);
	free(maps);
	if (n < 0) {
		send_reply(a, m->hdr.seq, n, USBD_REASON_FAILED, 0, free_bytes, r->threshold, "cannot read the maps");
		return;
	}
	reason = pageout_judge(m->ranges, m->nranges, areas, (size_t)n, free_bytes, r->threshold, &lim, &bytes);
	if (reason != USBD_REASON_OK) {
		log_debug("registry: pid %d page-out refused: %s", (int)a->pid, pageout_reason_text(reason));
		send_reply(a, m->hdr.seq, pageout_reason_errno(reason), reason, 0, free_bytes, r->threshold,
			   pageout_reason_text(reason));
		return;
	}
	done = advise(a, m->ranges, m->nranges);
	if (done < 0) {
		snprintf(msg, sizeof(msg), "process_madvise: %s", strerror((int)-done));
		send_reply(a, m->hdr.seq, (int)done, USBD_REASON_FAILED, 0, free_bytes, r->threshold, msg);
		return;
	}
	log_debug("registry: pid %d paged out %llu bytes", (int)a->pid, (unsigned long long)done);
	a->pageout_ms = clock_ms();
	send_reply(a, m->hdr.seq, 0, USBD_REASON_OK, (uint64_t)done, free_bytes, r->threshold,
		   pageout_reason_text(USBD_REASON_OK));
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
			send_reply(a, n >= (ssize_t)sizeof(struct umsg_hdr) ? m.hdr.seq : 0, -EINVAL,
				   USBD_REASON_BAD_REQUEST, 0, r->free_bytes, r->threshold,
				   err == -EPROTONOSUPPORT ? "unsupported protocol version" : "malformed message");
		return false;
	}
	switch (m.hdr.type) {
	case UMSG_REGISTER:
		err = do_register(r, a, m.reg.sig);
		if (err < 0)
			log_warn("registry: pid %d not registered: %s", (int)a->pid,
				 err == -EXDEV ? "not inside the domain" : strerror(-err));
		send_reply(a, m.hdr.seq, err < 0 ? -EPERM : 0, err < 0 ? USBD_REASON_REFUSED : USBD_REASON_OK, 0,
			   r->free_bytes, r->threshold, err == -EXDEV ? "not inside the domain" : strerror(-err));
		break;
	case UMSG_UNREGISTER:
		do_unregister(r, a);
		send_reply(a, m.hdr.seq, 0, USBD_REASON_OK, 0, r->free_bytes, r->threshold, "unregistered");
		break;
	case UMSG_PAGEOUT:
		do_pageout(r, a, &m.pageout);
		break;
	}
	return true;
}

static void accept_one(struct registry *r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct epoll_event ev = { .events = EPOLLIN };
	struct app *a;
	int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), pidfd;

	if (fd < 0)
		return;
	if (r->nconn >= r->cfg.max_apps + EXTRA_CONNECTIONS ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	/* SO_PEERPIDFD names the very process that connected; pidfd_open(pid) is the fallback for old kernels. */
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = pidfd_open(cred.pid, 0);
	a = pidfd >= 0 ? calloc(1, sizeof(*a)) : NULL;
	if (!a) {
		if (pidfd >= 0)
			close(pidfd);
		close(fd);
		return;
	}
	a->fd = fd;
	a->pidfd = pidfd;
	a->pid = cred.pid;
	ev.data.ptr = a;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(pidfd);
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

/* Each registered app's resident memory (0 if unreadable), and their sum: the weights of the deficit's split. */
static uint64_t read_rss(struct registry *r)
{
	struct pid_status ps;
	uint64_t all = 0;
	struct app *a;

	for (a = r->apps; a; a = a->next) {
		a->rss = 0;
		if (a->registered && pid_status_read(a->pid, &ps) == 0)
			a->rss = ps.vm_rss;
		all = sat_add(all, a->rss);
	}
	return all;
}

void registry_tick(struct registry *r, uint64_t now_ms, uint64_t domain_free_bytes, uint64_t threshold_bytes)
{
	struct app *a, *next;
	uint64_t deficit, all;
	siginfo_t si;

	r->free_bytes = domain_free_bytes;
	r->threshold = threshold_bytes;
	if (domain_free_bytes >= threshold_bytes) {
		r->below = false;
		return;
	}
	if (r->below && now_ms - r->last_signal_ms < r->cfg.resignal_ms)
		return;
	r->below = true;
	r->last_signal_ms = now_ms;
	deficit = threshold_bytes - domain_free_bytes;
	all = read_rss(r);
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	for (a = r->apps; a; a = next) {
		next = a->next;
		/* An app honoured a page-out less than SETTLE_MS ago is not asked this round: right after a page-out
		 * the counters can show a deficit that is gone a moment later, and answering it gives twice. */
		if (!a->registered || (a->pageout_ms && now_ms - a->pageout_ms < SETTLE_MS))
			continue;
		si.si_signo = a->sig;
		si.si_value.sival_int = (int)min_u64(pageout_share(deficit, a->rss, all) / MIB, INT32_MAX);
		if (pidfd_send_signal(a->pidfd, a->sig, &si, 0) == 0) {
			r->signals++;
		} else if (errno == ESRCH) {
			app_drop(r, a);
		} else {
			/* EAGAIN: the app's real-time queue is full, it has signals to handle already. */
			log_debug("registry: SIGBALLOON to pid %d: %s", (int)a->pid, strerror(errno));
		}
	}
}

static int listen_on(struct registry *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->sock_path);
	snprintf(dir, sizeof(dir), "%s", r->sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket nobody answers on is a leftover of a crashed daemon; one that answers is a live daemon. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (errno == ECONNREFUSED)
		unlink(sa.sun_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	/* 0666: unprivileged apps register; the peer credentials decide what each may do. */
	if (err == 0 && chmod(sa.sun_path, 0666) < 0)
		err = -errno;
	if (err == 0 && listen(fd, 16) < 0)
		err = -errno;
	if (err < 0) {
		close(fd);
		return err;
	}
	r->lfd = fd;
	return 0;
}

int registry_open(struct registry **out, const struct registry_config *cfg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct registry *r;
	const char *path = cfg->sock_path ? cfg->sock_path : USBD_APPS_SOCK_DEFAULT;
	int err;

	if (!cfg->domain || !cfg->app || !cg_within(cfg->app, cfg->domain))
		return -EINVAL;
	if (strlen(path) >= sizeof(r->sock_path))
		return -ENAMETOOLONG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->saved = calloc(MAX_SWAP_CGROUPS, sizeof(*r->saved));
	if (!r->saved) {
		free(r);
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->cfg.resignal_ms = cfg->resignal_ms ? cfg->resignal_ms : 1000;
	r->cfg.max_apps = cfg->max_apps ? cfg->max_apps : 64;
	r->domain = *cfg->domain;
	r->app_cg = *cfg->app;
	r->threshold = GIB;
	r->free_bytes = UINT64_MAX;
	r->lfd = r->epfd = -1;
	snprintf(r->sock_path, sizeof(r->sock_path), "%s", path);
	err = listen_on(r);
	if (err == 0) {
		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		ev.data.ptr = &r->listener_tag;
		if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev) < 0)
			err = -errno;
	}
	if (err < 0) {
		log_err("registry: cannot listen on %s: %s", path, strerror(-err));
		if (r->lfd >= 0) {
			close(r->lfd);
			unlink(r->sock_path);
		}
		if (r->epfd >= 0)
			close(r->epfd);
		free(r->saved);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

int registry_fd(const struct registry *r) { return r->epfd; }
unsigned registry_count(const struct registry *r) { return r->nreg; }
uint64_t registry_signals_sent(const struct registry *r) { return r->signals; }

void registry_close(struct registry *r)
{
	int err;

	if (!r)
		return;
	while (r->apps)
		app_drop(r, r->apps);
	restore_swap(r);
	if (r->reg_created) {
		err = cg_remove(&r->reg_cg);
		if (err < 0)
			log_err("registry: cannot remove %s: %s", r->reg_cg.path, strerror(-err));
	}
	close(r->epfd);
	close(r->lfd);
	unlink(r->sock_path);
	free(r->saved);
	free(r);
}
