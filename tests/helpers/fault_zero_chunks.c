/*
 * fault_zero_chunks: checks that a consumer never sees memory someone else wrote, for
 * tests/integration/fault_zero_chunks.sh. Runs real, pinned balloon workers in the v1 memory cgroup CGROUP
 * (made by the script) with a tenant that, on every chunk_added, checks the whole chunk reads as zeros and then
 * fills it with a secret pattern, as a tenant's data would. Sequence:
 *   worker A: grow SIZE, shrink SIZE/2, grow SIZE/2 again (released chunks re-added inside one worker);
 *   SIGKILL worker A (it dies holding data); worker B in the same cgroup: grow SIZE.
 * Each chunk_added prints "clean PID" or "dirty PID OFFSET" on stdout; the helper prints "worker PID" per start
 * and "done" at the end, or "error ..." and exits 1. Usage: fault_zero_chunks CGROUP SIZE
 * The workers are this program in the worker role (main() hands it to worker_role_main with the secret tenant).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "balloon/worker.h"
#include "common/size.h"
#include "sys/cgroup.h"

#define HANG_MS 120000

struct secret_tenant {
	struct worker_tenant ops;
	int epfd;
	void **held;
	size_t n, cap;
};

/* The first non-zero byte's offset in [base, base + size), or size when it is all zeros. */
static size_t first_nonzero(const unsigned char *base, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (base[i])
			return i;
	return size;
}

static int tenant_epoll_fd(void *ctx)
{
	return ((struct secret_tenant *)ctx)->epfd;
}

static void tenant_run(void *ctx)
{
	(void)ctx;
}

/* Keeps base among the chunks held; -1 when there is no memory for the list. */
static int hold(struct secret_tenant *t, void *base)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		void **held = realloc(t->held, cap * sizeof(*held));

		if (!held)
			return -1;
		t->held = held;
		t->cap = cap;
	}
	t->held[t->n++] = base;
	return 0;
}

static void tenant_chunk_added(void *ctx, void *base, size_t size)
{
	struct secret_tenant *t = ctx;
	size_t off = first_nonzero(base, size);
	int n;

	if (off == size)
		n = dprintf(STDOUT_FILENO, "clean %d\n", (int)getpid());
	else
		n = dprintf(STDOUT_FILENO, "dirty %d %zu\n", (int)getpid(), off);
	/* The verdict is the point of this tenant: losing it must fail the test, not pass it silently. */
	if (n < 0 || hold(t, base))
		_exit(3);
	memset(base, 0xa5, size);
}

static size_t tenant_chunks_take(void *ctx, size_t n, void **out)
{
	struct secret_tenant *t = ctx;
	size_t k = n < t->n ? n : t->n;

	for (size_t i = 0; i < k; i++)
		out[i] = t->held[--t->n];
	return k;
}

static void tenant_stats_of(void *ctx, struct tenant_stats *out)
{
	struct secret_tenant *t = ctx;

	*out = (struct tenant_stats){ .used = (uint64_t)t->n * CHUNK_SIZE };
}

static void tenant_destroy(void *ctx)
{
	struct secret_tenant *t = ctx;

	close(t->epfd);
	free(t->held);
	free(t);
}

static struct worker_tenant *tenant_new(const void *setup)
{
	struct secret_tenant *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		free(t);
		return NULL;
	}
	t->ops = (struct worker_tenant){ .ctx = t, .epoll_fd = tenant_epoll_fd, .run = tenant_run,
					 .chunk_added = tenant_chunk_added, .chunks_take = tenant_chunks_take,
					 .stats = tenant_stats_of, .destroy = tenant_destroy };
	return &t->ops;
}

/* Waits for one message from the worker; a hang guard, not a timing check. */
static int receive(struct worker_handle *w, struct wmsg *m)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int err;

	while ((err = worker_receive(w, m)) == -EAGAIN)
		if (poll(&pfd, 1, HANG_MS) != 1)
			return -ETIMEDOUT;
	return err;
}

static void die(const char *what, int err)
{
	printf("error %s: %s\n", what, strerror(-err));
	exit(1);
}

static void start(const struct worker_config *cfg, struct worker_handle *w)
{
	struct wmsg m;
	int err = worker_start(cfg, w);

	if (err)
		die("worker_start", err);
	err = receive(w, &m);
	if (err || m.hdr.type != WMSG_HELLO)
		die("waiting for the worker's hello", err ? err : -EPROTO);
	printf("worker %d\n", (int)w->pid);
}

/* Sends a grow or shrink and checks that all of it was done. */
static void resize(struct worker_handle *w, uint16_t type, uint64_t bytes)
{
	int64_t seq = worker_request(w, type, bytes);
	struct wmsg m;
	int err;

	if (seq < 0)
		die("worker_request", (int)seq);
	err = receive(w, &m);
	if (err)
		die("waiting for the worker's reply", err);
	if (m.hdr.type != WMSG_DONE || (int64_t)m.hdr.seq != seq)
		die("unexpected reply", -EPROTO);
	if (m.u.done.err || m.u.done.changed != bytes) {
		printf("error %s of %llu bytes: err %d, changed %llu\n", type == WMSG_GROW ? "grow" : "shrink",
		       (unsigned long long)bytes, m.u.done.err, (unsigned long long)m.u.done.changed);
		exit(1);
	}
}

static void kill_and_reap(struct worker_handle *w)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };
	int status;

	if (pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0))
		die("SIGKILL to the worker", -errno);
	if (poll(&pfd, 1, HANG_MS) != 1 || worker_reap(w, &status) != 1)
		die("reaping the killed worker", -ETIMEDOUT);
	worker_stop(w, 0);
}

int main(int argc, char **argv)
{
	static struct cg_hier hier;
	struct worker_config cfg = { .exe = WORKER_EXE_SELF, .mode = BALLOON_PINNED, .oom_score_adj = 1000,
				     .with_tenant = true };
	struct worker_handle w;
	uint64_t size;
	int err;

	if (worker_role_requested(argc, argv))
		return worker_role_main(argc, argv, tenant_new);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3 || size_parse(argv[2], &size) || size == 0 || size % (2 * CHUNK_SIZE)) {
		fprintf(stderr, "usage: fault_zero_chunks CGROUP SIZE (SIZE a multiple of 4 MiB)\n");
		return 2;
	}
	err = cg_hier_open(&hier, NULL, 1);
	if (!err)
		err = cg_resolve(&hier, argv[1], &cfg.cg);
	if (err)
		die("resolving the cgroup", err);

	start(&cfg, &w);
	resize(&w, WMSG_GROW, size);
	resize(&w, WMSG_SHRINK, size / 2);
	resize(&w, WMSG_GROW, size / 2);
	kill_and_reap(&w);

	start(&cfg, &w);
	resize(&w, WMSG_GROW, size);
	worker_stop(&w, 5000);
	printf("done\n");
	return 0;
}
