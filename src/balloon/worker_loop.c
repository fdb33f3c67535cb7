/*
 * The worker's side: its epoll loop over the control socket, SIGTERM, the tenant's sockets and the reflex: a
 * notification fd the controller armed (the domain's usage crossing into the headroom), on which the worker
 * releases a precomputed amount at once, without waiting for the controller, and then tells it.
 */
#include "balloon/worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "common/clock.h"
#include "common/log.h"

struct worker {
	int fd, sfd, epfd;
	int reflex_fd;                 /* -1: no reflex armed */
	uint64_t reflex_bytes;
	uint64_t reflex_gen;           /* counts arms: an fd's number may come back with the next one */
	uint64_t reflex_seq;           /* the arming WMSG_REFLEX's seq, echoed by WMSG_REFLEXED */
	struct worker_tenant *tenant;
	struct chunk_pool pool;
};

enum { LOOP_ON = 0, LOOP_EXIT, LOOP_FAIL };

static int control(struct worker *wk);

/* Whether the message waiting on the control socket is a WMSG_REFLEX (peeked at, not taken). */
static bool reflex_pending(const struct worker *wk)
{
	struct wmsg_hdr hdr;

	return recv(wk->fd, &hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT) == (ssize_t)sizeof(hdr) &&
	       hdr.version == WPROTO_VERSION && hdr.type == WMSG_REFLEX;
}

/*
 * Asked between grow batches: serves the tenant if its sockets are ready, and stops the grow when the
 * controller has something new to say, the reflex fired, or SIGTERM arrived. A new reflex amount is taken at once
 * without stopping: the controller re-sizes the reflex as the grab grows.
 */
static bool grow_should_stop(void *arg)
{
	struct worker *wk = arg;
	/* A negative fd (no reflex armed) is ignored by poll. */
	struct pollfd pfd[4] = { { .fd = wk->fd, .events = POLLIN }, { .fd = wk->sfd, .events = POLLIN },
				 { .fd = wk->reflex_fd, .events = POLLIN } };
	int n = 3;

	if (wk->tenant)
		pfd[n++] = (struct pollfd){ .fd = wk->tenant->epoll_fd(wk->tenant->ctx), .events = POLLIN };
	if (poll(pfd, n, 0) < 0) {
		log_warn("poll between grow batches: %s", strerror(errno));
		return true;
	}
	if (n == 4 && (pfd[3].revents & POLLIN))
		wk->tenant->run(wk->tenant->ctx);
	if (pfd[1].revents || pfd[2].revents)
		return true;
	while (pfd[0].revents && reflex_pending(wk)) {
		if (control(wk) != LOOP_ON)
			return true;
		pfd[0].revents = 0;
		if (poll(pfd, 1, 0) < 0)
			return true;
	}
	return pfd[0].revents != 0;
}

static int reply(struct worker *wk, uint16_t type, uint64_t seq, const void *payload)
{
	int err = wmsg_send(wk->fd, type, seq, payload);

	if (!err)
		return LOOP_ON;
	if (err == -EPIPE || err == -ECONNRESET) {
		log_info("controller went away; releasing everything");
		return LOOP_EXIT;
	}
	log_err("reply to the controller: %s", strerror(-err));
	return LOOP_FAIL;
}

/* Reclaimable mode first makes what the kernel dropped resident again, then maps new chunks for the rest. */
static int grow(struct worker *wk, uint64_t bytes, uint64_t *changed)
{
	uint64_t refilled = 0, grown = 0;
	int err = 0;

	if (wk->pool.mode == BALLOON_RECLAIMABLE)
		err = chunks_refill(&wk->pool, bytes, &refilled);
	if (!err && refilled < bytes)
		err = chunks_grow(&wk->pool, bytes - refilled, grow_should_stop, wk, &grown);
	*changed = refilled + grown;
	return err;
}

/* What the balloon holds: in reclaimable mode only what is still resident counts. */
static uint64_t held(const struct worker *wk)
{
	return wk->pool.mode == BALLOON_RECLAIMABLE ? chunks_resident(&wk->pool) : chunks_bytes(&wk->pool);
}

/*
 * Replies to a grow, a shrink or the reflex that began at t0 holding `before`. In reclaimable mode the reply
 * speaks of resident bytes, grab and changed alike, so that the controller can tell what the kernel took before
 * the operation from what the operation changed.
 */
static int report(struct worker *wk, uint16_t type, uint64_t seq, bool growing, uint64_t t0, uint64_t before,
		  uint64_t changed, int err)
{
	struct wmsg_done done = { .err = err, .started_ns = t0 };

	done.grab = held(wk);
	done.changed = wk->pool.mode != BALLOON_RECLAIMABLE ? changed :
		       growing ? sat_sub(done.grab, before) : sat_sub(before, done.grab);
	done.elapsed_ns = clock_ns() - t0;
	log_debug("%s: %llu bytes changed, grab %llu, err %d, %.3f ms",
		  type == WMSG_REFLEXED ? "reflex" : growing ? "grow" : "shrink", (unsigned long long)changed,
		  (unsigned long long)done.grab, err, (double)done.elapsed_ns / 1e6);
	return reply(wk, type, seq, &done);
}

static int resize(struct worker *wk, const struct wmsg *msg)
{
	uint64_t t0 = clock_ns(), changed = 0, before = held(wk);
	bool growing = msg->hdr.type == WMSG_GROW;
	int err;

	if (growing)
		err = grow(wk, msg->u.size.bytes, &changed);
	else
		err = chunks_shrink(&wk->pool, msg->u.size.bytes, &changed);
	return report(wk, WMSG_DONE, msg->hdr.seq, growing, t0, before, changed, err);
}

static void reflex_disarm(struct worker *wk)
{
	if (wk->reflex_fd < 0)
		return;
	epoll_ctl(wk->epfd, EPOLL_CTL_DEL, wk->reflex_fd, NULL);
	close(wk->reflex_fd);
	wk->reflex_fd = -1;
	wk->reflex_bytes = 0;
}

/* WMSG_REFLEX `seq`: arm with `fd` (>= 0), re-size, or disarm (see struct wmsg_reflex). */
static void reflex_set(struct worker *wk, uint64_t seq, uint64_t bytes, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd < 0) {
		if (!bytes)
			reflex_disarm(wk);
		else if (wk->reflex_fd >= 0)
			wk->reflex_bytes = bytes;
		return;
	}
	reflex_disarm(wk);
	if (!bytes) {
		close(fd);
		return;
	}
	if (epoll_ctl(wk->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_err("cannot watch the reflex's fd: %s", strerror(errno));
		close(fd);
		return;
	}
	wk->reflex_fd = fd;
	wk->reflex_bytes = bytes;
	wk->reflex_gen++;
	wk->reflex_seq = seq;
	log_debug("reflex armed: %llu bytes", (unsigned long long)bytes);
}

/*
 * The notification fired: release at once, one shot, and tell the controller, which reconciles and re-arms. A
 * WMSG_REFLEX waiting at the head of the control socket is the controller's latest word on the reflex (a new amount,
 * a disarm): it is taken first, a peek and a recv.
 */
static int reflex_fire(struct worker *wk)
{
	uint64_t t0 = clock_ns(), gen = wk->reflex_gen, seq, bytes, changed = 0, count, before;
	int err;

	while (reflex_pending(wk))
		if ((err = control(wk)) != LOOP_ON)
			return err;
	if (wk->reflex_fd < 0 || wk->reflex_gen != gen)
		return LOOP_ON; /* disarmed, or armed anew on an fd that has not fired */
	bytes = wk->reflex_bytes;
	seq = wk->reflex_seq;
	before = held(wk);

	/* Acknowledges the eventfd; nothing else is read: the controller judged the amount beforehand. */
	if (read(wk->reflex_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("reading the reflex's fd: %s", strerror(errno));
	reflex_disarm(wk);
	err = chunks_shrink(&wk->pool, bytes, &changed);
	return report(wk, WMSG_REFLEXED, seq, false, t0, before, changed, err);
}

static int stats(struct worker *wk, const struct wmsg *msg)
{
	struct wmsg_stats s = {
		.grab = chunks_bytes(&wk->pool),
		.chunks = wk->pool.n,
		.resident = chunks_resident(&wk->pool),
	};

	if (wk->tenant)
		wk->tenant->stats(wk->tenant->ctx, &s.spot);
	if (wk->tenant && wk->tenant->user_stats)
		s.nusers = (uint32_t)wk->tenant->user_stats(wk->tenant->ctx, s.users, TENANT_USERS_MAX);
	/* Encoding would refuse them (and the reply with them): the totals still go. Cannot happen with src/spot. */
	if (!wmsg_stats_valid(&s)) {
		log_warn("spot: per-user figures left out of the stats: a name is empty, too long or repeated");
		s.nusers = 0;
		memset(s.users, 0, sizeof(s.users));
	}
	return reply(wk, WMSG_STATS, msg->hdr.seq, &s);
}

/* Serves one control message, if any is pending. */
static int control(struct worker *wk)
{
	struct wmsg msg;
	int passed = -1, err = wmsg_recv_fd(wk->fd, &msg, &passed);

	switch (err) {
	case 0:
		break;
	case -EAGAIN:
		return LOOP_ON;
	case -EPROTO:
		log_err("malformed control message dropped");
		return LOOP_ON;
	case -ECONNRESET:
		log_info("control socket closed; releasing everything");
		return LOOP_EXIT;
	default:
		log_err("control socket: %s", strerror(-err));
		return LOOP_FAIL;
	}
	if (msg.hdr.type == WMSG_REFLEX) {
		reflex_set(wk, msg.hdr.seq, msg.u.reflex.bytes, passed);
		return LOOP_ON;
	}
	if (passed >= 0)
		close(passed); /* only WMSG_REFLEX carries a descriptor */
	switch (msg.hdr.type) {
	case WMSG_GROW:
	case WMSG_SHRINK:
		return resize(wk, &msg);
	case WMSG_STATS_REQ:
		return stats(wk, &msg);
	case WMSG_USER:
		if (wk->tenant && wk->tenant->user_op)
			wk->tenant->user_op(wk->tenant->ctx, &msg.u.user_op);
		explicit_bzero(&msg, sizeof(msg));
		return LOOP_ON;
	default:
		log_err("unexpected message type %u from the controller dropped", msg.hdr.type);
		return LOOP_ON;
	}
}

static int watch(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	log_err("epoll_ctl add fd %d: %s", fd, strerror(errno));
	return -1;
}

static int setup(struct worker *wk, const struct worker_run *run)
{
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* SIGTERM is read from a signalfd, in the loop, never from a handler. */
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	wk->sfd = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
	if (wk->sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -1;
	}
	wk->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (wk->epfd < 0) {
		log_err("epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (watch(wk->epfd, wk->fd) || watch(wk->epfd, wk->sfd))
		return -1;
	if (run->tenant_new) {
		wk->tenant = run->tenant_new(run->tenant_arg);
		if (!wk->tenant) {
			log_err("the tenant could not be created");
			return -1;
		}
		if (watch(wk->epfd, wk->tenant->epoll_fd(wk->tenant->ctx)))
			return -1;
	}
	chunks_init(&wk->pool, run->mode, wk->tenant);
	return 0;
}

static int loop(struct worker *wk)
{
	for (;;) {
		struct epoll_event ev[4];
		int n = epoll_wait(wk->epfd, ev, 4, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(errno));
			return LOOP_FAIL;
		}
		/* The reflex first: the producer's app is waiting for that memory. */
		for (int i = 0; i < n; i++) {
			int rc;

			if (wk->reflex_fd < 0 || ev[i].data.fd != wk->reflex_fd)
				continue;
			if ((rc = reflex_fire(wk)) != LOOP_ON)
				return rc;
			ev[i].data.fd = -1;
		}
		for (int i = 0; i < n; i++) {
			int rc = LOOP_ON;

			if (ev[i].data.fd < 0)
				continue;
			if (ev[i].data.fd == wk->sfd) {
				log_info("SIGTERM; releasing everything");
				return LOOP_EXIT;
			}
			if (ev[i].data.fd == wk->fd)
				rc = control(wk);
			else if (wk->tenant)
				wk->tenant->run(wk->tenant->ctx);
			if (rc != LOOP_ON)
				return rc;
		}
	}
}

int worker_main(int fd, const struct worker_run *run)
{
	struct worker wk = { .fd = fd, .sfd = -1, .epfd = -1, .reflex_fd = -1 };
	int rc = LOOP_FAIL;

	chunks_init(&wk.pool, run->mode, NULL);
	if (setup(&wk, run) == 0)
		rc = reply(&wk, WMSG_HELLO, 0, NULL);
	if (rc == LOOP_ON)
		rc = loop(&wk);
	/* The tenant goes first: it may still refer to chunk memory while it tears down. */
	if (wk.tenant)
		wk.tenant->destroy(wk.tenant->ctx);
	chunks_free(&wk.pool);
	reflex_disarm(&wk);
	if (wk.epfd >= 0)
		close(wk.epfd);
	if (wk.sfd >= 0)
		close(wk.sfd);
	return rc == LOOP_FAIL;
}
