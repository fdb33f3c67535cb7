/*
 * worker: the balloon worker process (holds the grabbed memory, oom_score_adj 1000) and the controller's
 * handle on it. The controller never holds balloon memory itself.
 *
 * Start-up, the OpenBSD privsep way: worker_start does not fork the controller (which may hold threads and their
 * locks); it spawns (posix_spawn: the child runs nothing between its clone and the exec but dup2 and closefrom) a
 * fresh image of cfg->exe in the worker role: argv { WORKER_ROLE_ARGV0, WORKER_ROLE_OPT, "3" }, its end of a
 * SOCK_SEQPACKET socketpair as fd WORKER_ROLE_FD (3), stdio, every signal blocked and at its default, the
 * starter's environment. No setting travels on the command line or in the environment: worker_start then sends
 * WMSG_SETUP on the socket (cgroup, mode, oom_score_adj, log level, the tenant's settings and password).
 * The image's main() hands such an argv to worker_role_main() (worker_role.c), which checks it, does the
 * privileged set-up and serves (worker_main, worker_loop.c).
 *
 * Which binary (cfg->exe): usbd passes WORKER_EXE_SELF, "/proc/self/exe", the very image that is running, even
 * if its file was replaced or removed since; controller and worker thus always speak the same WPROTO_VERSION.
 * Test programs are not usbd: those that need a tenant of their own (tests/unit/test_balloon_worker.c,
 * tests/helpers/fault_zero_chunks.c) are worker images themselves (their main() calls worker_role_main() first
 * when worker_role_requested()) and pass WORKER_EXE_SELF too; tests/helpers/balloon_probe starts usbd's own
 * worker role and takes the path of build/usbd as its argument ($USBD in tests/integration).
 */
#ifndef USBD_BALLOON_WORKER_H
#define USBD_BALLOON_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "balloon/proto.h"
#include "balloon/tenant.h"
#include "sys/cgroup.h"

#define WORKER_EXE_SELF "/proc/self/exe"
#define WORKER_ROLE_ARGV0 "usbd-worker"
#define WORKER_ROLE_OPT "--balloon-worker-fd"   /* hidden: not in usbd --help, refused unless all else fits */
#define WORKER_ROLE_FD 3
#define WORKER_ROLE_FD_ARG "3"                /* WORKER_ROLE_FD as argv[2] */

/* What the controller starts a worker with. Everything but exe reaches the new image in WMSG_SETUP. */
struct worker_config {
	const char *exe;              /* the image exec'd in the worker role; WORKER_EXE_SELF in usbd */
	struct cgroup cg;             /* cgroup the worker runs in (a child of the domain); cg.hier NULL: the
	                               * worker stays in the starter's cgroup (tests without root) */
	enum balloon_mode mode;       /* pinned: mlock'ed chunks */
	int oom_score_adj;            /* 1000 normally; lower when deflate_on_oom=false pins the balloon */
	bool with_tenant;             /* the image creates its tenant (in usbd the spot store) from `tenant` */
	struct wmsg_tenant tenant;
};

/* What worker_main runs with, inside the worker. */
struct worker_run {
	enum balloon_mode mode;
	/* Creates the tenant (may be NULL: no tenant). */
	struct worker_tenant *(*tenant_new)(const void *arg);
	const void *tenant_arg;
};

/* The controller's handle. */
struct worker_handle {
	pid_t pid;
	int fd;                       /* SOCK_SEQPACKET, non-blocking, close-on-exec */
	int pidfd;                    /* readable when the worker exits */
	uint64_t next_seq;
};

/* Spawns cfg->exe in the worker role and sends it WMSG_SETUP (see the top of this file); the worker sends
 * WMSG_HELLO when it is set up and ready. Returns 0 or -errno (from posix_spawn: the exec's own error, e.g.
 * -ENOENT; the worker is then gone and nothing is left open). Call it from the thread that will outlive the
 * worker (the main thread): the worker's PR_SET_PDEATHSIG follows the thread that started it. Safe while other
 * threads run. */
int worker_start(const struct worker_config *cfg, struct worker_handle *w);
/* Sends a request (WMSG_GROW, WMSG_SHRINK with bytes; WMSG_STATS_REQ with 0). Returns the seq or -errno:
 * -EINVAL for another type or a grow that is not a multiple of 2 MiB, -EAGAIN when the socket is full. */
int64_t worker_request(struct worker_handle *w, uint16_t type, uint64_t bytes);
/* Sends a WMSG_USER (no reply): 0, -EINVAL (malformed op), -EAGAIN (socket full) or -errno. */
int worker_send_user(struct worker_handle *w, const struct wmsg_user_op *op);
/* Sends a WMSG_REFLEX (no reply): with fd >= 0 arms the reflex on that notification fd (the worker gets its own
 * copy; the caller closes its one), else re-sizes it (bytes > 0) or disarms it (0). Returns 0, -EINVAL (bytes not
 * a multiple of 2 MiB), -EAGAIN (socket full) or -errno. */
int worker_send_reflex(struct worker_handle *w, uint64_t bytes, int fd);
/* Receives one message if any: 0, -EAGAIN when none, -ECONNRESET when the worker is gone, -EPROTO for a
 * malformed datagram (dropped). */
int worker_receive(struct worker_handle *w, struct wmsg *out);
/* Reaps the worker if it exited: 1 and *status set when it did (then w->pid is -1 and worker_stop only
 * closes the fds), 0 when still running, -ECHILD when already reaped. */
int worker_reap(struct worker_handle *w, int *status);
/* Asks the worker to free everything and exit; SIGKILLs it after timeout_ms. Closes fds. */
void worker_stop(struct worker_handle *w, unsigned timeout_ms);

/* True when argv asks for the worker role (argv[1] is WORKER_ROLE_OPT): main() must then return
 * worker_role_main(argc, argv, ...) and do nothing else first. */
bool worker_role_requested(int argc, char **argv);

/*
 * The worker role, run by main() of the image worker_start spawned. Refuses (exit status 2, a message on stderr,
 * nothing done) unless argv is exactly { WORKER_ROLE_ARGV0, WORKER_ROLE_OPT, "3" } and fd 3 is an AF_UNIX
 * SOCK_SEQPACKET socket whose peer is this process's parent: the role is not reached by accident. Then, as the
 * forked worker did: closes every other fd but stdio, sets PR_SET_PDEATHSIG (SIGKILL), waits for WMSG_SETUP,
 * joins its cgroup, sets its oom_score_adj, keeps CAP_IPC_LOCK alone, sets no_new_privs, and runs worker_main
 * with tenant_new (given the struct wmsg_setup) when the setup asks for a tenant; such a setup is refused when
 * tenant_new is NULL. Returns the exit status: 2 refused, 1 failed, else worker_main's.
 */
int worker_role_main(int argc, char **argv, struct worker_tenant *(*tenant_new)(const void *setup));

/* The worker's main loop (worker_role_main's last step; tests may run it in-process): creates the tenant, sends
 * WMSG_HELLO, serves requests until EOF on fd or SIGTERM, then releases everything. Does not close fd.
 * Returns the exit status: 0 after EOF or SIGTERM, 1 on a failure (logged). */
int worker_main(int fd, const struct worker_run *run);

#endif
