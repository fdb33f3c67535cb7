/*
 * The worker role: what an image spawned by worker_start does before it serves. It checks that it was meant to
 * be a worker, takes its settings from the socket, and does the privileged set-up the forked worker used to do.
 */
#include "balloon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "balloon/proto.h"
#include "common/log.h"
#include "sys/oom_score.h"

enum { ROLE_FAILED = 1, ROLE_REFUSED = 2 };

bool worker_role_requested(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], WORKER_ROLE_OPT) == 0;
}

/* Exactly the argv worker_start passes: anything else was typed by someone, not spawned by a controller. */
static bool argv_is_ours(int argc, char **argv)
{
	return argc == 3 && strcmp(argv[0], WORKER_ROLE_ARGV0) == 0 && strcmp(argv[1], WORKER_ROLE_OPT) == 0 &&
	       strcmp(argv[2], WORKER_ROLE_FD_ARG) == 0;
}

/*
 * The fd must be the socket worker_start handed over: AF_UNIX, SOCK_SEQPACKET, made by our parent (SO_PEERCRED of
 * a socketpair names the process that created it). Returns NULL and sets *parent, or why it is not.
 */
static const char *check_socket(int fd, pid_t *parent)
{
	struct ucred cred;
	socklen_t len = sizeof(int);
	struct stat st;
	int v;

	if (fstat(fd, &st))
		return "it is not open";
	if (!S_ISSOCK(st.st_mode))
		return "it is not a socket";
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) || v != AF_UNIX)
		return "it is not a Unix socket";
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_SEQPACKET)
		return "it is not a SOCK_SEQPACKET socket";
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != getppid())
		return "its peer is not the parent process";
	*parent = cred.pid;
	return NULL;
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

/* Closes every fd but stdio and the socket, whatever the exec let through (one without close-on-exec). */
static int close_inherited(int keep)
{
	if (keep > 3 && close_range(3, keep - 1, 0))
		return -errno;
	if (close_range(keep < 3 ? 3 : keep + 1, ~0U, 0))
		return -errno;
	return 0;
}

/* Waits for the first message, which must be WMSG_SETUP. Returns 0 or -errno (-ECONNRESET: the controller left). */
static int receive_setup(int fd, struct wmsg *m)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int err;

	while ((err = wmsg_recv(fd, m)) == -EAGAIN)
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
	if (!err && m->hdr.type != WMSG_SETUP)
		err = -EPROTO;
	return err;
}

/* Joins the cgroup before allocating anything, so that every page from here on is charged to it. Only the
 * path is needed (cg_move_pid writes DIR/cgroup.procs); the controller resolved and checked it. */
static int join_cgroup(const char *dir)
{
	struct cgroup cg = { .hier = NULL };

	memcpy(cg.path, dir, sizeof(cg.path));
	return cg_move_pid(&cg, getpid());
}

/* The privileged steps, in the order the forked worker took them. Returns 0 or ROLE_FAILED (logged). */
static int set_up(const struct wmsg_setup *s)
{
	int err;

	if (s->cgroup[0] && (err = join_cgroup(s->cgroup))) {
		log_err("joining cgroup %s: %s", s->cgroup, strerror(-err));
		return ROLE_FAILED;
	}
	/* Being the OOM killer's first pick must hold; protection (a negative value) needs CAP_SYS_RESOURCE
	 * and is best effort. */
	err = oom_score_set(0, s->oom_score_adj);
	if (err) {
		log_err("writing oom_score_adj %d: %s", (int)s->oom_score_adj, strerror(-err));
		if (s->oom_score_adj >= 0)
			return ROLE_FAILED;
	}
	err = drop_capabilities();
	if (err) {
		log_err("dropping capabilities: %s", strerror(-err));
		return ROLE_FAILED;
	}
	return 0;
}

/* From exec to the settings: nothing here trusts more than the argv and the socket it checked. */
static int take_over(int argc, char **argv, struct wmsg *m)
{
	const char *why;
	pid_t parent;
	int err;

	if (!argv_is_ours(argc, argv)) {
		log_err("%s is internal: usbd starts its balloon worker with it, never by hand", WORKER_ROLE_OPT);
		return ROLE_REFUSED;
	}
	if ((why = check_socket(WORKER_ROLE_FD, &parent))) {
		log_err("refusing the worker role: fd %d is not the controller's socket (%s)", WORKER_ROLE_FD, why);
		return ROLE_REFUSED;
	}
	if ((err = close_inherited(WORKER_ROLE_FD))) {
		log_err("close_range: %s", strerror(-err));
		return ROLE_FAILED;
	}
	/* The balloon must never outlive the controller: nobody would be left to deflate it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL)) {
		log_err("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return ROLE_FAILED;
	}
	if (getppid() != parent) {
		log_err("the controller exited during start-up");
		return ROLE_FAILED;
	}
	/* A worker never wants to die of a write: its sockets send with MSG_NOSIGNAL, and a closed stderr must not
	 * kill it either (the controller ignores SIGPIPE; the spawn reset every disposition). */
	signal(SIGPIPE, SIG_IGN);
	if ((err = receive_setup(WORKER_ROLE_FD, m))) {
		log_err("no settings from the controller: %s", strerror(-err));
		return ROLE_FAILED;
	}
	log_set_level(m->u.setup.log_level);
	return 0;
}

int worker_role_main(int argc, char **argv, struct worker_tenant *(*tenant_new)(const void *setup))
{
	struct worker_run run = { 0 };
	struct wmsg m;
	sigset_t term;
	int rc;

	log_set_ident("usbd-worker");
	if ((rc = take_over(argc, argv, &m)))
		return rc;
	/* Spawned as /proc/self/exe, the process would be called "exe" in ps and top. */
	prctl(PR_SET_NAME, WORKER_ROLE_ARGV0);
	if ((m.u.setup.flags & WSETUP_TENANT) && !tenant_new) {
		log_err("the settings ask for a tenant this program does not have");
		return ROLE_FAILED;
	}
	if ((rc = set_up(&m.u.setup)))
		return rc;
	/* The spawn blocked every signal; keep only SIGTERM blocked, for worker_main's signalfd. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_SETMASK, &term, NULL);
	run.mode = (enum balloon_mode)m.u.setup.mode;
	if (m.u.setup.flags & WSETUP_TENANT) {
		run.tenant_new = tenant_new;
		run.tenant_arg = &m.u.setup;
	}
	rc = worker_main(WORKER_ROLE_FD, &run);
	explicit_bzero(&m, sizeof(m));
	return rc;
}
