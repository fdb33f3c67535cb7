#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "balloon/worker.h"

/* Guards against a hung worker only; no test asserts how fast anything is. */
#define HANG_MS 60000

/* Workers run in the test's own cgroup (cg.hier NULL) and do not lock memory: no root needed. */
static struct worker_config plain_config(void)
{
	return (struct worker_config){ .mode = BALLOON_RECLAIMABLE, .oom_score_adj = 1000 };
}

static void receive(struct worker_handle *w, struct wmsg *out)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int err;

	while ((err = worker_receive(w, out)) == -EAGAIN)
		assert_int_equal(poll(&pfd, 1, HANG_MS), 1);
	assert_int_equal(err, 0);
}

static void start(const struct worker_config *cfg, struct worker_handle *w)
{
	struct wmsg msg;

	assert_int_equal(worker_start(cfg, w), 0);
	assert_true(w->pid > 0);
	receive(w, &msg);
	assert_int_equal(msg.hdr.type, WMSG_HELLO);
}

static void request(struct worker_handle *w, uint16_t type, uint64_t bytes, struct wmsg *reply)
{
	int64_t seq = worker_request(w, type, bytes);

	assert_true(seq > 0);
	receive(w, reply);
	assert_true(reply->hdr.seq == (uint64_t)seq);
}

static void wait_exit(struct worker_handle *w, int *status)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, HANG_MS), 1);
	assert_int_equal(worker_reap(w, status), 1);
	assert_int_equal(w->pid, -1);
}

static void worker_should_grow_report_and_shrink_on_request(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	struct wmsg m;

	start(&cfg, &w);
	request(&w, WMSG_GROW, 3 * CHUNK_SIZE, &m);
	assert_int_equal(m.hdr.type, WMSG_DONE);
	assert_int_equal(m.u.done.err, 0);
	assert_true(m.u.done.changed == 3 * CHUNK_SIZE);
	assert_true(m.u.done.grab == 3 * CHUNK_SIZE);

	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_int_equal(m.hdr.type, WMSG_STATS);
	assert_true(m.u.stats.grab == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.chunks == 3);
	assert_true(m.u.stats.resident == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.clients == 0 && m.u.stats.store_keys == 0);

	request(&w, WMSG_SHRINK, CHUNK_SIZE, &m);
	assert_int_equal(m.hdr.type, WMSG_DONE);
	assert_true(m.u.done.changed == CHUNK_SIZE && m.u.done.grab == 2 * CHUNK_SIZE);
	request(&w, WMSG_SHRINK, UINT64_MAX, &m);
	assert_true(m.u.done.changed == 2 * CHUNK_SIZE && m.u.done.grab == 0);
	worker_stop(&w, HANG_MS);
	assert_int_equal(w.fd, -1);
	assert_int_equal(w.pidfd, -1);
}

static void request_should_refuse_other_types_and_partial_chunks(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;

	start(&cfg, &w);
	assert_int_equal(worker_request(&w, WMSG_GROW, CHUNK_SIZE + 1), -EINVAL);
	assert_int_equal(worker_request(&w, WMSG_DONE, 0), -EINVAL);
	assert_int_equal(worker_request(&w, WMSG_HELLO, 0), -EINVAL);
	assert_int_equal(worker_request(&w, WMSG_TYPE_MAX, 0), -EINVAL);
	/* refusals use no sequence numbers */
	assert_int_equal(worker_request(&w, WMSG_STATS_REQ, 0), 1);
	worker_stop(&w, HANG_MS);
}

static void grow_should_stop_early_when_another_request_is_pending(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	siginfo_t si;
	int64_t grow, stats;
	struct wmsg m;

	start(&cfg, &w);
	/* Queue both requests while the worker is stopped, so the second is pending when the grow begins. */
	assert_int_equal(kill(w.pid, SIGSTOP), 0);
	assert_int_equal(waitid(P_PID, w.pid, &si, WSTOPPED | WNOWAIT), 0);
	grow = worker_request(&w, WMSG_GROW, 64 * CHUNK_BATCH);
	stats = worker_request(&w, WMSG_STATS_REQ, 0);
	assert_true(grow > 0 && stats > grow);
	assert_int_equal(kill(w.pid, SIGCONT), 0);

	receive(&w, &m);
	assert_int_equal(m.hdr.type, WMSG_DONE);
	assert_true(m.hdr.seq == (uint64_t)grow);
	assert_int_equal(m.u.done.err, 0);
	assert_true(m.u.done.changed == CHUNK_BATCH);
	receive(&w, &m);
	assert_int_equal(m.hdr.type, WMSG_STATS);
	assert_true(m.hdr.seq == (uint64_t)stats);
	assert_true(m.u.stats.grab == CHUNK_BATCH);
	worker_stop(&w, HANG_MS);
}

static void worker_should_exit_cleanly_when_the_controller_closes_the_socket(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	struct wmsg m;
	int status;

	start(&cfg, &w);
	request(&w, WMSG_GROW, CHUNK_SIZE, &m);
	assert_int_equal(worker_reap(&w, &status), 0);
	close(w.fd);
	w.fd = -1;
	wait_exit(&w, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(worker_reap(&w, &status), -ECHILD);
	worker_stop(&w, HANG_MS);
}

static void reap_should_see_a_killed_worker_and_receive_should_see_it_gone(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	struct wmsg m;
	int status;

	start(&cfg, &w);
	assert_int_equal(kill(w.pid, SIGKILL), 0);
	wait_exit(&w, &status);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(worker_receive(&w, &m), -ECONNRESET);
	assert_true(worker_request(&w, WMSG_STATS_REQ, 0) < 0);
	worker_stop(&w, HANG_MS);
}

static void stop_should_end_the_worker_with_sigterm(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	pid_t pid;

	start(&cfg, &w);
	pid = w.pid;
	worker_stop(&w, HANG_MS);
	assert_int_equal(w.pid, -1);
	/* worker_stop reaped it: it is no longer our child */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void worker_should_release_and_exit_cleanly_on_sigterm(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	struct wmsg m;
	int status;

	start(&cfg, &w);
	request(&w, WMSG_GROW, 2 * CHUNK_SIZE, &m);
	assert_int_equal(kill(w.pid, SIGTERM), 0);
	wait_exit(&w, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	worker_stop(&w, HANG_MS);
}

static void stop_should_kill_a_worker_that_does_not_exit_in_time(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	siginfo_t si;
	pid_t pid;

	start(&cfg, &w);
	pid = w.pid;
	/* A stopped worker cannot act on SIGTERM: only the SIGKILL after the timeout ends it. */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT), 0);
	worker_stop(&w, 100);
	assert_int_equal(w.pid, -1);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -12345;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &v), 1);
	fclose(f);
	return v;
}

static void worker_should_set_its_oom_score_adj_and_close_inherited_fds(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	char path[64], link[256], target[64];
	struct dirent *de;
	struct stat st;
	int p[2];
	DIR *d;

	/* An fd without close-on-exec, which fork alone would hand down. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fstat(p[0], &st), 0);
	snprintf(target, sizeof(target), "pipe:[%llu]", (unsigned long long)st.st_ino);
	start(&cfg, &w);
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)w.pid);
	assert_int_equal(read_int_file(path), 1000);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)w.pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char fdpath[320];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		if (strcmp(link, target) == 0)
			fail_msg("worker fd %s is the parent's pipe", de->d_name);
	}
	closedir(d);
	worker_stop(&w, HANG_MS);
	close(p[0]);
	close(p[1]);
}

/* A tenant inside the worker: counts the bytes it was given and reports them as store_used. */
struct count_tenant {
	struct worker_tenant t;
	int epfd;
	uint64_t bytes;
	void *bases[64];
	size_t n;
};

static int count_epoll_fd(void *ctx) { return ((struct count_tenant *)ctx)->epfd; }
static void count_run(void *ctx) { }

static void count_added(void *ctx, void *base, size_t size)
{
	struct count_tenant *c = ctx;

	c->bytes += size;
	if (c->n < 64)
		c->bases[c->n++] = base;
}

static size_t count_take(void *ctx, size_t n, void **out)
{
	struct count_tenant *c = ctx;
	size_t k = 0;

	while (k < n && c->n) {
		out[k++] = c->bases[--c->n];
		c->bytes -= CHUNK_SIZE;
	}
	return k;
}

static void count_stats(void *ctx, uint64_t *used, uint64_t *keys, uint64_t *evictions, uint64_t *losses,
			uint64_t *clients)
{
	struct count_tenant *c = ctx;

	*used = c->bytes;
	*keys = c->n;
	*evictions = 3;
	*losses = 4;
	*clients = 5;
}

static void count_destroy(void *ctx)
{
	struct count_tenant *c = ctx;

	close(c->epfd);
	free(c);
}

static struct worker_tenant *count_new(const void *arg)
{
	struct count_tenant *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->t = (struct worker_tenant){ .ctx = c, .epoll_fd = count_epoll_fd, .run = count_run,
				       .chunk_added = count_added, .chunks_take = count_take,
				       .stats = count_stats, .destroy = count_destroy };
	return &c->t;
}

static void worker_should_feed_its_tenant_and_report_its_counters(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	struct wmsg m;

	cfg.tenant_new = count_new;
	start(&cfg, &w);
	request(&w, WMSG_GROW, 4 * CHUNK_SIZE, &m);
	assert_true(m.u.done.grab == 4 * CHUNK_SIZE);
	request(&w, WMSG_SHRINK, CHUNK_SIZE, &m);
	assert_true(m.u.done.changed == CHUNK_SIZE);
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_true(m.u.stats.grab == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.store_used == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.store_keys == 3);
	assert_true(m.u.stats.store_evictions == 3 && m.u.stats.store_deflation_losses == 4);
	assert_true(m.u.stats.clients == 5);
	worker_stop(&w, HANG_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(worker_should_grow_report_and_shrink_on_request),
		cmocka_unit_test(request_should_refuse_other_types_and_partial_chunks),
		cmocka_unit_test(grow_should_stop_early_when_another_request_is_pending),
		cmocka_unit_test(worker_should_exit_cleanly_when_the_controller_closes_the_socket),
		cmocka_unit_test(reap_should_see_a_killed_worker_and_receive_should_see_it_gone),
		cmocka_unit_test(stop_should_end_the_worker_with_sigterm),
		cmocka_unit_test(worker_should_release_and_exit_cleanly_on_sigterm),
		cmocka_unit_test(stop_should_kill_a_worker_that_does_not_exit_in_time),
		cmocka_unit_test(worker_should_set_its_oom_score_adj_and_close_inherited_fds),
		cmocka_unit_test(worker_should_feed_its_tenant_and_report_its_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
