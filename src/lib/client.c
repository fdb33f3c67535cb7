/* client: the handle — the connection to the daemon's registry, requests and replies, the callback. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/proto.h"
#include "lib/sigballoon.h"
#include "lib/tracker.h"
#include "lib/usbd.h"

#define REPLY_TIMEOUT_S 10
#define SELECT_MAX_RANGES 256
#define ANSWER_WAIT_MS 10000    /* the longest usbd_balloon() waits for the tracker to rank its regions */
/* Anonymous memory resident at registration below this is not worth re-charging (the C library's own, a few
 * hundred KiB, stays in the old cgroup). */
#define STRANDED_MIN (4u << 20)

struct usbd {
	int fd, efd, stopfd;
	uint32_t seq;
	bool registered;
	pthread_mutex_t lock;   /* one request at a time on the socket */
	usbd_callback cb;
	void *arg;
	pthread_t thread;
	bool thread_started;
	bool closed_on_thread;	/* usbd_close ran on the library's thread (from the callback): it frees h */
};

static _Atomic int handles;

int usbd_open(const char *sock_path, struct usbd **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	const char *path = sock_path ? sock_path : USBD_APPS_SOCK_DEFAULT;
	struct usbd *h;
	int err, none = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	/* SIGBALLOON and its handler are process-wide: one handle per process. */
	if (!atomic_compare_exchange_strong(&handles, &none, 1))
		return -EBUSY;
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto fail;
	}
	h->fd = h->efd = h->stopfd = -1;
	pthread_mutex_init(&h->lock, NULL);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	h->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto fail;
	}
	h->stopfd = eventfd(0, EFD_CLOEXEC);
	if (h->stopfd < 0) {
		err = -errno;
		goto fail;
	}
	/* Before registering: the default action of a real-time signal is to terminate. */
	h->efd = sigballoon_install();
	if (h->efd < 0) {
		err = h->efd;
		goto fail;
	}
	*out = h;
	return 0;
fail:
	if (h) {
		if (h->fd >= 0)
			close(h->fd);
		if (h->stopfd >= 0)
			close(h->stopfd);
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
	atomic_store(&handles, 0);
	return err;
}

/* Sends one request and waits for its reply (stale replies of timed-out requests are skipped). */
static int request(struct usbd *h, union umsg_any *m, struct umsg_reply *reply)
{
	uint32_t seq;
	int err = 0;

	pthread_mutex_lock(&h->lock);
	seq = ++h->seq;
	m->hdr.seq = seq;
	if (send(h->fd, m, m->hdr.len, MSG_NOSIGNAL) != (ssize_t)m->hdr.len) {
		/* The same codes as recv below: the daemon is gone, or did not take the request in time. */
		err = errno == EPIPE || errno == ENOTCONN ? -ECONNRESET : errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto out;
	}
	for (;;) {
		union umsg_any r;
		ssize_t n = recv(h->fd, &r, sizeof(r), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? -ECONNRESET : (errno == EAGAIN ? -ETIMEDOUT : -errno);
			break;
		}
		if (umsg_check(&r, (size_t)n) < 0 || r.hdr.type != UMSG_REPLY) {
			err = -EPROTO;
			break;
		}
		if (r.hdr.seq == seq) {
			*reply = r.reply;
			break;
		}
	}
out:
	pthread_mutex_unlock(&h->lock);
	return err;
}

/* The calling process's resident anonymous memory (RssAnon), in bytes; 0 if unreadable. */
static uint64_t rss_anon(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

int usbd_register(struct usbd *h)
{
	union umsg_any m;
	struct umsg_reply r;
	uint64_t before = rss_anon();
	int err;

	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, UMSG_REGISTER, 0);
	m.reg.sig = usbd_sigballoon();
	err = request(h, &m, &r);
	if (err == 0)
		err = r.status;
	if (err == 0) {
		h->registered = true;
		/* What was resident stays charged to the cgroup the daemon moved us from, where nothing swaps:
		 * regions tracked from now on are re-charged first (docs/LIBUSBD.md). */
		tracker_set_stranded(before >= STRANDED_MIN ? before : 0);
	}
	return err;
}

int usbd_unregister(struct usbd *h)
{
	union umsg_any m;
	struct umsg_reply r;
	int err;

	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, UMSG_UNREGISTER, 0);
	err = request(h, &m, &r);
	if (err == 0)
		err = r.status;
	if (err == 0)
		h->registered = false;
	return err;
}

static void result_add(struct usbd_pageout_result *res, const struct umsg_reply *r)
{
	res->status = r->status;
	res->reason = (enum usbd_reason)r->reason;
	res->bytes += r->bytes;
	res->free_bytes = r->free_bytes;
	res->threshold_bytes = r->threshold_bytes;
	snprintf(res->message, sizeof(res->message), "%s", r->message);
}

int usbd_pageout(struct usbd *h, const struct usbd_range *rg, size_t n, struct usbd_pageout_result *res)
{
	struct usbd_pageout_result local;
	size_t done = 0;
	int err = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (n == 0)
		return -EINVAL;
	while (done < n && err == 0) {
		union umsg_any m;
		struct umsg_reply r;
		size_t k, batch = n - done < UMSG_MAX_RANGES ? n - done : UMSG_MAX_RANGES;

		memset(&m, 0, sizeof(m));
		umsg_init(&m.hdr, UMSG_PAGEOUT, 0);
		m.pageout.nranges = (uint32_t)batch;
		for (k = 0; k < batch; k++)
			m.pageout.ranges[k] = (struct umsg_range){ (uintptr_t)rg[done + k].addr, rg[done + k].len };
		err = request(h, &m, &r);
		if (err < 0)
			break;
		result_add(res, &r);
		err = r.status;
		done += batch;
	}
	res->status = err;
	return err;
}

void usbd_set_callback(struct usbd *h, usbd_callback cb, void *arg)
{
	pthread_mutex_lock(&h->lock);
	h->cb = cb;
	h->arg = arg;
	pthread_mutex_unlock(&h->lock);
}

int usbd_event_fd(const struct usbd *h) { return h->efd; }

int usbd_dispatch(struct usbd *h)
{
	uint64_t pending;
	usbd_callback cb;
	void *arg;

	if (read(h->efd, &pending, sizeof(pending)) != (ssize_t)sizeof(pending))
		return 0;
	pthread_mutex_lock(&h->lock);
	cb = h->cb;
	arg = h->arg;
	pthread_mutex_unlock(&h->lock);
	if (cb)
		cb(h, sigballoon_deficit(), arg);
	return 1;
}

static void *dispatcher(void *arg)
{
	struct usbd *h = arg;
	struct pollfd p[2] = { { .fd = h->efd, .events = POLLIN }, { .fd = h->stopfd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents) {
			usbd_dispatch(h);
			/* The callback closed the handle: its fds are closed (their numbers may be the application's
			 * already) and nobody can join this thread, so it frees h and ends, touching nothing else. */
			if (h->closed_on_thread) {
				free(h);
				return NULL;
			}
		}
	}
	return NULL;
}

int usbd_start_thread(struct usbd *h)
{
	int err;

	if (h->thread_started)
		return -EALREADY;
	err = -pthread_create(&h->thread, NULL, dispatcher, h);
	h->thread_started = err == 0;
	return err;
}

void usbd_close(struct usbd *h)
{
	uint64_t one = 1;
	bool on_thread;

	if (!h)
		return;
	/* From the callback on the library's thread, which cannot join itself: it ends once the callback returns. */
	on_thread = h->thread_started && pthread_equal(pthread_self(), h->thread);
	if (on_thread) {
		pthread_detach(h->thread);
	} else if (h->thread_started) {
		/* An eventfd write only fails on a full counter, and the thread stops at the first wake-up. */
		(void)!write(h->stopfd, &one, sizeof(one));
		pthread_join(h->thread, NULL);
	}
	/* A failure changes nothing: the daemon unregisters an app whose socket closes. */
	if (h->registered)
		(void)usbd_unregister(h);
	close(h->fd);
	close(h->stopfd);
	sigballoon_uninstall();
	pthread_mutex_destroy(&h->lock);
	atomic_store(&handles, 0);
	if (on_thread)
		h->closed_on_thread = true;	/* the dispatcher frees h */
	else
		free(h);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until the tracker has ranked every region (tracker.h), at most ANSWER_WAIT_MS, or until usbd_close().
 * SIGBALLOONs keep arriving meanwhile, and may interrupt the wait: it goes on. */
static void wait_ranked(struct usbd *h, struct usbd_tracker *t)
{
	struct pollfd p = { .fd = h->stopfd, .events = POLLIN };
	uint64_t end = now_ms() + ANSWER_WAIT_MS, now;
	uint32_t w;

	while ((now = now_ms()) < end && (w = tracker_unranked_ms(t)) > 0) {
		int n = poll(&p, 1, (int)(w < end - now ? w : end - now));

		if (n > 0 || (n < 0 && errno != EINTR))
			return; /* stopping (or poll failed): answer with what is known */
	}
}

int usbd_balloon(struct usbd *h, struct usbd_tracker *t, uint64_t bytes, struct usbd_pageout_result *res)
{
	struct usbd_range r[SELECT_MAX_RANGES];
	size_t n;
	int err;

	wait_ranked(h, t);
	n = usbd_tracker_pick(t, bytes, USBD_PICK_HOT, r, SELECT_MAX_RANGES);
	if (n == 0) {
		if (res)
			memset(res, 0, sizeof(*res));
		return -ENOENT;
	}
	err = usbd_pageout(h, r, n, res);
	if (err == 0)
		usbd_tracker_mark_out(t, r, n);
	return err;
}
