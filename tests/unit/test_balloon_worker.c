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
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "balloon/worker.h"

/* Guards against a hung worker only; no test asserts how fast anything is. */
#define HANG_MS 60000

/*
 * Workers run in the test's own cgroup (cg.hier NULL) and do not lock memory: no root needed. This program is its
 * own worker image: worker_start execs it in the worker role (main() below), with count_new as its tenant.
 */
static struct worker_config plain_config(void)
{
	return (struct worker_config){ .exe = WORKER_EXE_SELF, .mode = BALLOON_RECLAIMABLE, .oom_score_adj = 1000 };
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
	assert_true(m.u.stats.spot.clients == 0 && m.u.stats.spot.keys == 0 && m.u.stats.spot.commands == 0);

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

/* The reflex: an eventfd stands for the usage threshold the controller hands over. */
static void reflex_should_release_its_amount_when_the_fd_fires_once(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	uint64_t one = 1, armed;
	struct wmsg m;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	start(&cfg, &w);
	request(&w, WMSG_GROW, 8 * CHUNK_SIZE, &m);
	armed = w.next_seq;
	assert_int_equal(worker_send_reflex(&w, 3 * CHUNK_SIZE, efd), 0);
	/* The amount is re-sized without a new fd; the STATS reply shows the worker has taken both messages. */
	assert_int_equal(worker_send_reflex(&w, 2 * CHUNK_SIZE, -1), 0);
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_true(m.u.stats.grab == 8 * CHUNK_SIZE);

	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	receive(&w, &m);
	assert_int_equal(m.hdr.type, WMSG_REFLEXED);
	assert_true(m.hdr.seq == armed); /* the seq of the WMSG_REFLEX that armed it */
	assert_int_equal(m.u.done.err, 0);
	assert_true(m.u.done.changed == 2 * CHUNK_SIZE && m.u.done.grab == 6 * CHUNK_SIZE);
	assert_true(m.u.done.started_ns > 0);

	/* One shot: firing again releases nothing until the controller re-arms. */
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_int_equal(m.hdr.type, WMSG_STATS);
	assert_true(m.u.stats.grab == 6 * CHUNK_SIZE);
	close(efd);
	worker_stop(&w, HANG_MS);
}

static void reflex_should_be_disarmed_by_a_zero_amount(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	uint64_t one = 1;
	struct wmsg m;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	start(&cfg, &w);
	request(&w, WMSG_GROW, 4 * CHUNK_SIZE, &m);
	assert_int_equal(worker_send_reflex(&w, 2 * CHUNK_SIZE, efd), 0);
	assert_int_equal(worker_send_reflex(&w, 0, -1), 0);
	/* Fired before the worker has read the disarm: the controller's latest word on the reflex still wins. */
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_int_equal(m.hdr.type, WMSG_STATS);
	assert_true(m.u.stats.grab == 4 * CHUNK_SIZE);
	/* A re-size with nothing armed arms nothing. */
	assert_int_equal(worker_send_reflex(&w, 2 * CHUNK_SIZE, -1), 0);
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_true(m.u.stats.grab == 4 * CHUNK_SIZE);
	assert_int_equal(worker_send_reflex(&w, CHUNK_SIZE + 1, -1), -EINVAL);
	close(efd);
	worker_stop(&w, HANG_MS);
}

static void reflex_message_should_not_stop_a_grow_but_its_firing_should(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w;
	siginfo_t si;
	uint64_t one = 1;
	int64_t grow;
	struct wmsg m;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	start(&cfg, &w);
	/* While the worker is stopped: a long grow, then a reflex on an fd that has already fired. The grow takes the
	 * reflex after its first batch and goes on; after its second it sees the fd readable and stops, and the reflex
	 * releases. */
	assert_int_equal(kill(w.pid, SIGSTOP), 0);
	assert_int_equal(waitid(P_PID, w.pid, &si, WSTOPPED | WNOWAIT), 0);
	grow = worker_request(&w, WMSG_GROW, 64 * CHUNK_BATCH);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(worker_send_reflex(&w, CHUNK_SIZE, efd), 0);
	assert_int_equal(kill(w.pid, SIGCONT), 0);
	receive(&w, &m);
	assert_int_equal(m.hdr.type, WMSG_DONE);
	assert_true(m.hdr.seq == (uint64_t)grow);
	assert_true(m.u.done.changed == 2 * CHUNK_BATCH);
	receive(&w, &m);
	assert_int_equal(m.hdr.type, WMSG_REFLEXED);
	assert_true(m.u.done.changed == CHUNK_SIZE && m.u.done.grab == 2 * CHUNK_BATCH - CHUNK_SIZE);
	close(efd);
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

/* Reads a file whole (NULs included, at most len - 1 bytes); returns its length. */
static size_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	assert_true(fd >= 0);
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	assert_true(got < len - 1);
	buf[got] = '\0';
	close(fd);
	return got;
}

static void readlink_pid(pid_t pid, const char *what, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, out, len - 1);
	assert_true(n > 0);
	out[n] = '\0';
}

/*
 * The worker is a new image of this program, not a copy of the starter: its command line is the worker role's,
 * its executable this one, it holds none of the starter's memory (a mapping made just before the start is absent)
 * and, beyond stdio and its socket (fd 3), only fds it opened itself (its epoll and signalfd).
 */
static void worker_should_be_a_fresh_image_in_the_worker_role(void **state)
{
	static const char want_cmdline[] = WORKER_ROLE_ARGV0 "\0" WORKER_ROLE_OPT "\0" "3";
	struct worker_config cfg = plain_config();
	static char maps[1 << 20];
	char path[64], buf[4096], self[256], exe[256], range[64];
	long page = sysconf(_SC_PAGESIZE);
	void *marker = mmap(NULL, 5 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct worker_handle w;
	struct dirent *de;
	size_t n;
	DIR *d;

	assert_true(marker != MAP_FAILED);
	snprintf(range, sizeof(range), "%lx-%lx ", (unsigned long)marker, (unsigned long)marker + 5 * page);
	start(&cfg, &w);

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)w.pid);
	n = read_small(path, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want_cmdline));
	assert_memory_equal(buf, want_cmdline, sizeof(want_cmdline));
	readlink_pid(getpid(), "exe", self, sizeof(self));
	readlink_pid(w.pid, "exe", exe, sizeof(exe));
	assert_string_equal(exe, self);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)w.pid);
	read_small(path, buf, sizeof(buf));
	assert_string_equal(buf, WORKER_ROLE_ARGV0 "\n");
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)w.pid);
	read_small(path, maps, sizeof(maps));
	if (strstr(maps, range))
		fail_msg("the worker maps the starter's region %s", range);

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)w.pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		char what[32];

		if (de->d_name[0] == '.' || fd < 3)
			continue;
		snprintf(what, sizeof(what), "fd/%d", fd);
		readlink_pid(w.pid, what, buf, sizeof(buf));
		if (fd == 3 ? strncmp(buf, "socket:", 7) : strncmp(buf, "anon_inode:", 11))
			fail_msg("worker fd %d is %s", fd, buf);
	}
	closedir(d);
	worker_stop(&w, HANG_MS);
	munmap(marker, 5 * page);
}

/*
 * Runs this program in the worker role with argv { argv0, WORKER_ROLE_OPT, fdarg } and `fd` as its fd 3 (-1: no
 * fd 3), as its parent. Returns its exit status; what it said on stderr goes to err.
 */
static int run_role(const char *argv0, const char *fdarg, int fd, char *err, size_t errlen)
{
	char *argv[] = { (char *)argv0, WORKER_ROLE_OPT, (char *)fdarg, NULL };
	posix_spawn_file_actions_t fa;
	int out[2], status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO), 0);
	if (fd >= 0)
		assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fd, 3), 0);
	assert_int_equal(posix_spawn_file_actions_addclosefrom_np(&fa, fd >= 0 ? 4 : 3), 0);
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (got < errlen - 1 && (n = read(out[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(out[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * Like run_role, from a child of ours: the role's parent is then not the process that made the socket. Returns the
 * role's exit status if it said `why`, else 100.
 */
static int run_role_as_grandchild(int fd, const char *why)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[1024];
		int rc = run_role(WORKER_ROLE_ARGV0, "3", fd, err, sizeof(err));

		_exit(strstr(err, why) ? rc : 100);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void expect_refused(int status, const char *err, const char *why)
{
	assert_int_equal(status, 2);
	if (!strstr(err, why))
		fail_msg("expected '%s' in: %s", why, err);
}

/* The role is not reached by accident: a hand-typed argv, or an fd 3 that is not the parent's seqpacket socket. */
static void worker_role_should_refuse_anything_worker_start_did_not_set_up(void **state)
{
	char err[1024];
	int seq[2], stream[2], p[2], udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, seq), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(udp >= 0);

	expect_refused(run_role("usbd", "3", seq[1], err, sizeof(err)), err, "is internal");
	expect_refused(run_role(WORKER_ROLE_ARGV0, "4", seq[1], err, sizeof(err)), err, "is internal");
	expect_refused(run_role(WORKER_ROLE_ARGV0, "3", -1, err, sizeof(err)), err, "it is not open");
	expect_refused(run_role(WORKER_ROLE_ARGV0, "3", p[0], err, sizeof(err)), err, "it is not a socket");
	expect_refused(run_role(WORKER_ROLE_ARGV0, "3", udp, err, sizeof(err)), err, "it is not a Unix socket");
	expect_refused(run_role(WORKER_ROLE_ARGV0, "3", stream[1], err, sizeof(err)), err,
		       "it is not a SOCK_SEQPACKET socket");
	assert_int_equal(run_role_as_grandchild(seq[1], "its peer is not the parent"), 2);
	close(seq[0]);
	close(seq[1]);
	close(stream[0]);
	close(stream[1]);
	close(p[0]);
	close(p[1]);
	close(udp);
}

/* The right socket, but no settings: a first message that is not WMSG_SETUP, or none before EOF. */
static void worker_role_should_fail_without_its_settings(void **state)
{
	char err[1024];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(wmsg_send(sv[0], WMSG_HELLO, 0, NULL), 0);
	assert_int_equal(run_role(WORKER_ROLE_ARGV0, "3", sv[1], err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no settings from the controller"));
	close(sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(run_role(WORKER_ROLE_ARGV0, "3", sv[1], err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no settings from the controller"));
	close(sv[1]);
}

static void start_should_refuse_a_missing_image_or_bad_settings_and_leave_nothing(void **state)
{
	struct worker_config cfg = plain_config();
	struct worker_handle w = { .pid = -1, .fd = -1, .pidfd = -1 };

	cfg.exe = "/nonexistent/usbd";
	assert_int_equal(worker_start(&cfg, &w), -ENOENT);
	cfg = plain_config();
	cfg.exe = NULL;
	assert_int_equal(worker_start(&cfg, &w), -EINVAL);
	cfg = plain_config();
	cfg.oom_score_adj = 1001;
	assert_int_equal(worker_start(&cfg, &w), -EINVAL);
	cfg = plain_config();
	cfg.with_tenant = true;
	memset(cfg.tenant.listen, 'x', sizeof(cfg.tenant.listen));
	assert_int_equal(worker_start(&cfg, &w), -EINVAL);
	assert_int_equal(w.pid, -1);
	/* No child was left behind to reap. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/*
 * A tenant inside the worker: counts the bytes it was given and reports them as store_used; its other counters
 * echo the settings it was created from (which crossed the exec in WMSG_SETUP).
 */
struct count_tenant {
	struct worker_tenant t;
	int epfd;
	uint64_t bytes;
	uint64_t max_keys, password_len, max_clients;
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

static void count_stats(void *ctx, struct tenant_stats *out)
{
	struct count_tenant *c = ctx;

	*out = (struct tenant_stats){ .used = c->bytes, .keys = c->n, .evictions = c->max_keys,
				      .lost_keys = c->password_len, .clients = c->max_clients, .commands = 6,
				      .hits = 7, .misses = 8, .lost_bytes = 9 };
}

static void count_destroy(void *ctx)
{
	struct count_tenant *c = ctx;

	close(c->epfd);
	free(c);
}

static struct worker_tenant *count_new(const void *arg)
{
	const struct wmsg_setup *setup = arg;
	struct count_tenant *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max_keys = setup->tenant.max_keys;
	c->password_len = strlen(setup->tenant.password);
	c->max_clients = setup->tenant.max_clients;
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

	cfg.with_tenant = true;
	cfg.tenant = (struct wmsg_tenant){ .password = "pass", .max_clients = 5, .max_keys = 3 };
	start(&cfg, &w);
	request(&w, WMSG_GROW, 4 * CHUNK_SIZE, &m);
	assert_true(m.u.done.grab == 4 * CHUNK_SIZE);
	request(&w, WMSG_SHRINK, CHUNK_SIZE, &m);
	assert_true(m.u.done.changed == CHUNK_SIZE);
	request(&w, WMSG_STATS_REQ, 0, &m);
	assert_true(m.u.stats.grab == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.spot.used == 3 * CHUNK_SIZE);
	assert_true(m.u.stats.spot.keys == 3);
	assert_true(m.u.stats.spot.evictions == 3 && m.u.stats.spot.lost_keys == 4);
	assert_true(m.u.stats.spot.clients == 5);
	/* The counters of the tenant's report reach the controller unchanged. */
	assert_true(m.u.stats.spot.commands == 6 && m.u.stats.spot.hits == 7 && m.u.stats.spot.misses == 8);
	assert_true(m.u.stats.spot.lost_bytes == 9);
	worker_stop(&w, HANG_MS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(worker_should_grow_report_and_shrink_on_request),
		cmocka_unit_test(request_should_refuse_other_types_and_partial_chunks),
		cmocka_unit_test(grow_should_stop_early_when_another_request_is_pending),
		cmocka_unit_test(reflex_should_release_its_amount_when_the_fd_fires_once),
		cmocka_unit_test(reflex_should_be_disarmed_by_a_zero_amount),
		cmocka_unit_test(reflex_message_should_not_stop_a_grow_but_its_firing_should),
		cmocka_unit_test(worker_should_exit_cleanly_when_the_controller_closes_the_socket),
		cmocka_unit_test(reap_should_see_a_killed_worker_and_receive_should_see_it_gone),
		cmocka_unit_test(stop_should_end_the_worker_with_sigterm),
		cmocka_unit_test(worker_should_release_and_exit_cleanly_on_sigterm),
		cmocka_unit_test(stop_should_kill_a_worker_that_does_not_exit_in_time),
		cmocka_unit_test(worker_should_set_its_oom_score_adj_and_close_inherited_fds),
		cmocka_unit_test(worker_should_feed_its_tenant_and_report_its_counters),
		cmocka_unit_test(worker_should_be_a_fresh_image_in_the_worker_role),
		cmocka_unit_test(worker_role_should_refuse_anything_worker_start_did_not_set_up),
		cmocka_unit_test(worker_role_should_fail_without_its_settings),
		cmocka_unit_test(start_should_refuse_a_missing_image_or_bad_settings_and_leave_nothing),
	};

	if (worker_role_requested(argc, argv))
		return worker_role_main(argc, argv, count_new);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
