/* The controller's side of the worker: start (spawn the worker image, send its settings), requests, reaping, stop. */
#include "balloon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "common/clock.h"
#include "common/log.h"

/* The settings the new image acts on: everything it would have inherited from a fork. */
static int setup_from(const struct worker_config *cfg, struct wmsg_setup *s)
{
	_Static_assert(sizeof(s->cgroup) == sizeof(cfg->cg.path), "a cgroup's path fits the setup");

	memset(s, 0, sizeof(*s));
	s->mode = cfg->mode;
	s->oom_score_adj = cfg->oom_score_adj;
	s->log_level = log_get_level();
	if (cfg->cg.hier)
		memcpy(s->cgroup, cfg->cg.path, sizeof(s->cgroup));
	if (cfg->with_tenant) {
		s->flags = WSETUP_TENANT;
		s->tenant = cfg->tenant;
	}
	return wmsg_setup_valid(s) ? 0 : -EINVAL;
}

/*
 * posix_spawn rather than fork: glibc clones without copying the address space and the child runs only the file
 * actions and the exec, so no lock another thread of ours holds can be inherited taken. Every signal stays
 * blocked (and at its default) in the new image until it has set itself up.
 */
static int spawn(const char *exe, int fd, pid_t *pid)
{
	static char *const argv[] = { WORKER_ROLE_ARGV0, WORKER_ROLE_OPT, WORKER_ROLE_FD_ARG, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all;
	int err;

	sigfillset(&all);
	if ((err = posix_spawn_file_actions_init(&fa)))
		return -err;
	if ((err = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		return -err;
	}
	/* A dup2 onto the same number clears close-on-exec as well (glibc does, as POSIX.1-2024 requires). */
	if (!(err = posix_spawn_file_actions_adddup2(&fa, fd, WORKER_ROLE_FD)) &&
	    !(err = posix_spawn_file_actions_addclosefrom_np(&fa, WORKER_ROLE_FD + 1)) &&
	    !(err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) &&
	    !(err = posix_spawnattr_setsigmask(&attr, &all)) && !(err = posix_spawnattr_setsigdefault(&attr, &all)))
		err = posix_spawn(pid, exe, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -err;
}

int worker_start(const struct worker_config *cfg, struct worker_handle *w)
{
	struct wmsg_setup setup;
	int sv[2], pidfd = -1, err;
	pid_t pid;

	err = cfg->exe ? setup_from(cfg, &setup) : -EINVAL;
	if (err)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		goto out;
	}
	err = spawn(cfg->exe, sv[1], &pid);
	close(sv[1]);
	if (err) {
		close(sv[0]);
		goto out;
	}
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK))
		err = -errno;
	/* The datagram waits in the socket until the worker reads it; an empty socket has room for it. */
	if (!err)
		err = wmsg_send(sv[0], WMSG_SETUP, 0, &setup);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0)
			close(pidfd);
		close(sv[0]);
		goto out;
	}
	*w = (struct worker_handle){ .pid = pid, .fd = sv[0], .pidfd = pidfd, .next_seq = 1 };
out:
	explicit_bzero(&setup, sizeof(setup));
	return err;
}

int64_t worker_request(struct worker_handle *w, uint16_t type, uint64_t bytes)
{
	struct wmsg_size size = { .bytes = bytes };
	uint64_t seq = w->next_seq;
	int err;

	if (type == WMSG_GROW && bytes % CHUNK_SIZE)
		return -EINVAL;
	if (type != WMSG_GROW && type != WMSG_SHRINK && type != WMSG_STATS_REQ)
		return -EINVAL;
	err = wmsg_send(w->fd, type, seq, type == WMSG_STATS_REQ ? NULL : &size);
	if (err)
		return err;
	w->next_seq++;
	return (int64_t)seq;
}

int worker_send_user(struct worker_handle *w, const struct wmsg_user_op *op)
{
	int err = wmsg_send(w->fd, WMSG_USER, w->next_seq, op);

	if (err == 0)
		w->next_seq++;
	return err;
}

int worker_send_reflex(struct worker_handle *w, uint64_t bytes, int fd)
{
	struct wmsg_reflex r = { .bytes = bytes };
	int err = wmsg_send_fd(w->fd, WMSG_REFLEX, w->next_seq, &r, fd);

	if (err == 0)
		w->next_seq++;
	return err;
}

int worker_receive(struct worker_handle *w, struct wmsg *out)
{
	return wmsg_recv(w->fd, out);
}

int worker_reap(struct worker_handle *w, int *status)
{
	pid_t r;

	if (w->pid <= 0)
		return -ECHILD;
	do {
		r = waitpid(w->pid, status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	w->pid = -1;
	return 1;
}

/* Waits for the pidfd to become readable (the worker exited) for up to timeout_ms. */
static bool wait_exit(int pidfd, unsigned timeout_ms)
{
	uint64_t deadline = clock_ms() + timeout_ms;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	for (;;) {
		uint64_t now = clock_ms();
		int n = poll(&pfd, 1, now >= deadline ? 0 : (int)min_u64(deadline - now, INT32_MAX));

		if (n > 0)
			return true;
		if (n == 0 && now >= deadline)
			return false;
		if (n < 0 && errno != EINTR) {
			log_warn("poll on the worker's pidfd: %s", strerror(errno));
			return false;
		}
	}
}

void worker_stop(struct worker_handle *w, unsigned timeout_ms)
{
	int status;
	pid_t r;

	if (w->pid > 0) {
		if (pidfd_send_signal(w->pidfd, SIGTERM, NULL, 0))
			log_warn("SIGTERM to worker %d: %s", (int)w->pid, strerror(errno));
		if (!wait_exit(w->pidfd, timeout_ms)) {
			log_warn("worker %d still running after %u ms; killing it", (int)w->pid, timeout_ms);
			if (pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0))
				log_err("SIGKILL to worker %d: %s", (int)w->pid, strerror(errno));
		}
		do {
			r = waitpid(w->pid, &status, 0);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			log_err("reaping worker %d: %s", (int)w->pid, strerror(errno));
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			log_warn("worker %d ended with status %#x", (int)w->pid, status);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->pidfd >= 0)
		close(w->pidfd);
	*w = (struct worker_handle){ .pid = -1, .fd = -1, .pidfd = -1 };
}
