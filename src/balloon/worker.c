/* The controller's side of the worker: start (fork and the child's set-up), requests, reaping, stop. */
#include "balloon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloon/chunks.h"
#include "balloon/proto.h"
#include "common/clock.h"
#include "common/log.h"

static int write_oom_score_adj(int value)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", value);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t w;
	int err;

	if (fd < 0)
		return -errno;
	w = write(fd, buf, n);
	err = w == n ? 0 : w < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

/*
 * Keeps only CAP_IPC_LOCK (mlock of pinned chunks beyond RLIMIT_MEMLOCK), in every set and in the bounding set,
 * so that a bug in the worker (which parses consumers' requests) cannot be turned into root's other powers.
 * Without CAP_SETPCAP (an unprivileged test) the bounding set cannot be changed, but it grants nothing then.
 */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const uint32_t keep = CAP_TO_MASK(CAP_IPC_LOCK);
	const unsigned keep_idx = CAP_TO_INDEX(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	if (data[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP)) {
		for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++) {
			if (cap != CAP_IPC_LOCK && prctl(PR_CAPBSET_DROP, cap))
				return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t mask = i == keep_idx ? keep : 0;

		data[i].permitted &= mask;
		data[i].effective &= mask;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	/* Nothing the worker could exec may regain privileges either. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

/* Closes every inherited fd but stdio and the worker's end of the socketpair. */
static int close_inherited(int keep)
{
	if (keep > 3 && close_range(3, keep - 1, 0))
		return -errno;
	if (close_range(keep < 3 ? 3 : keep + 1, ~0U, 0))
		return -errno;
	return 0;
}

/* Runs in the child right after fork; returns its exit status. */
static int worker_child(int fd, const struct worker_config *cfg, pid_t parent)
{
	sigset_t term;
	int err;

	log_set_ident("usbd-worker");
	err = close_inherited(fd);
	if (err) {
		log_err("close_range: %s", strerror(-err));
		return 1;
	}
	/* The balloon must never outlive the controller: nobody would be left to deflate it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL)) {
		log_err("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return 1;
	}
	if (getppid() != parent) {
		log_err("the controller exited during start-up");
		return 1;
	}
	/* Join the cgroup before allocating anything, so that every page is charged to it. */
	if (cfg->cg.hier) {
		err = cg_move_pid(&cfg->cg, getpid());
		if (err) {
			log_err("joining cgroup %s: %s", cfg->cg.path, strerror(-err));
			return 1;
		}
	}
	/* Being the OOM killer's first pick must hold; protection (a negative value) needs CAP_SYS_RESOURCE
	 * and is best effort. */
	err = write_oom_score_adj(cfg->oom_score_adj);
	if (err) {
		log_err("writing oom_score_adj %d: %s", cfg->oom_score_adj, strerror(-err));
		if (cfg->oom_score_adj >= 0)
			return 1;
	}
	err = drop_capabilities();
	if (err) {
		log_err("dropping capabilities: %s", strerror(-err));
		return 1;
	}
	/* worker_start blocked every signal across the fork; keep only SIGTERM blocked, for the signalfd. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_SETMASK, &term, NULL);
	return worker_main(fd, cfg);
}

int worker_start(const struct worker_config *cfg, struct worker_handle *w)
{
	pid_t parent = getpid(), pid;
	sigset_t all, old;
	int sv[2], pidfd, err = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	/* No signal may reach the child before it has set itself up (SIGTERM would kill it half-made). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(worker_child(sv[1], cfg, parent));
	}
	if (pid < 0)
		err = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (err) {
		close(sv[0]);
		return err;
	}
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
		err = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0)
			close(pidfd);
		close(sv[0]);
		return err;
	}
	*w = (struct worker_handle){ .pid = pid, .fd = sv[0], .pidfd = pidfd, .next_seq = 1 };
	return 0;
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
