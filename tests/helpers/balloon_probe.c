/*
 * balloon_probe: drives a real balloon worker for tests/integration/balloon_worker.sh. Reads one command
 * per line on stdin and answers one line on stdout, so that the script checks the effects itself (cgroup
 * files, /proc/PID/status, kill -9):
 *   create LEAF      create memory cgroup LEAF under the root  -> "ok PATH"
 *   start            worker_start in it, pinned, oom 1000      -> "started PID"
 *   grow SIZE        grow request, SIZE as size_parse reads it -> "done ERR CHANGED GRAB"
 *   shrink SIZE|all  shrink request                            -> "done ERR CHANGED GRAB"
 *   stats            stats request                             -> "stats GRAB CHUNKS RESIDENT"
 *   wait-exit        wait for the worker to die, worker_reap   -> "exited CODE" | "killed SIGNAL"
 *   stop             worker_stop                               -> "stopped"
 *   remove           cg_remove                                 -> "ok"
 * Failures answer "error ...". EOF on stdin stops the worker and exits.
 * Usage: balloon_probe USBD: the workers are USBD (the path of build/usbd) in its worker role, as usbd starts them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "balloon/proto.h"
#include "balloon/worker.h"
#include "common/size.h"
#include "sys/cgroup.h"

#define HANG_MS 60000

struct probe {
	struct cg_hier hier;
	struct cgroup root;
	struct worker_config cfg;
	struct worker_handle w;
	bool running;
};

/* Waits for one message from the worker; a hang guard, not a timing check. */
static int receive(struct probe *p, struct wmsg *m)
{
	struct pollfd pfd = { .fd = p->w.fd, .events = POLLIN };
	int err;

	while ((err = worker_receive(&p->w, m)) == -EAGAIN)
		if (poll(&pfd, 1, HANG_MS) != 1)
			return -ETIMEDOUT;
	return err;
}

static void cmd_start(struct probe *p)
{
	struct wmsg m;
	int err;

	if (!p->cfg.cg.hier) {
		printf("error no cgroup: create first\n");
		return;
	}
	err = worker_start(&p->cfg, &p->w);
	if (err) {
		printf("error worker_start: %s\n", strerror(-err));
		return;
	}
	p->running = true;
	err = receive(p, &m);
	if (err || m.hdr.type != WMSG_HELLO)
		printf("error no hello: %s\n", err ? strerror(-err) : "wrong type");
	else
		printf("started %d\n", (int)p->w.pid);
}

static void cmd_request(struct probe *p, uint16_t type, const char *arg)
{
	uint64_t bytes = UINT64_MAX;
	int64_t seq;
	struct wmsg m;
	int err;

	if (!(type == WMSG_SHRINK && strcmp(arg, "all") == 0) && size_parse(arg, &bytes)) {
		printf("error bad size %s\n", arg);
		return;
	}
	seq = worker_request(&p->w, type, type == WMSG_STATS_REQ ? 0 : bytes);
	if (seq < 0) {
		printf("error request: %s\n", strerror((int)-seq));
		return;
	}
	err = receive(p, &m);
	if (err) {
		printf("error receive: %s\n", strerror(-err));
		return;
	}
	if ((int64_t)m.hdr.seq != seq) {
		printf("error reply seq %llu for request %lld\n", (unsigned long long)m.hdr.seq, (long long)seq);
		return;
	}
	if (m.hdr.type == WMSG_DONE)
		printf("done %d %llu %llu\n", m.u.done.err, (unsigned long long)m.u.done.changed,
		       (unsigned long long)m.u.done.grab);
	else
		printf("stats %llu %llu %llu\n", (unsigned long long)m.u.stats.grab,
		       (unsigned long long)m.u.stats.chunks, (unsigned long long)m.u.stats.resident);
}

static void cmd_wait_exit(struct probe *p)
{
	struct pollfd pfd = { .fd = p->w.pidfd, .events = POLLIN };
	int status, r;

	if (poll(&pfd, 1, HANG_MS) != 1) {
		printf("error worker still running\n");
		return;
	}
	r = worker_reap(&p->w, &status);
	if (r != 1) {
		printf("error worker_reap returned %d\n", r);
		return;
	}
	/* Reaped: worker_stop now only closes the handle's fds. */
	worker_stop(&p->w, 0);
	p->running = false;
	if (WIFSIGNALED(status))
		printf("killed %d\n", WTERMSIG(status));
	else
		printf("exited %d\n", WEXITSTATUS(status));
}

static void cmd_stop(struct probe *p)
{
	worker_stop(&p->w, 5000);
	p->running = false;
	printf("stopped\n");
}

static void cmd_create(struct probe *p, const char *leaf)
{
	int err = cg_create_child(&p->root, leaf, &p->cfg.cg);

	if (err)
		printf("error creating %s: %s\n", leaf, strerror(-err));
	else
		printf("ok %s\n", p->cfg.cg.path);
}

static void cmd_remove(struct probe *p)
{
	int err = cg_remove(&p->cfg.cg);

	if (err)
		printf("error removing %s: %s\n", p->cfg.cg.path, strerror(-err));
	else
		printf("ok\n");
}

int main(int argc, char **argv)
{
	static struct probe p = { .cfg = { .mode = BALLOON_PINNED, .oom_score_adj = 1000 } };
	char line[256], cmd[32], arg[200];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		printf("error usage: balloon_probe USBD\n");
		return 2;
	}
	p.cfg.exe = argv[1];
	err = cg_hier_open(&p.hier, NULL, 1);
	if (!err)
		err = cg_resolve(&p.hier, "", &p.root);
	if (err) {
		printf("error no v1 memory hierarchy: %s\n", strerror(-err));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		int n = sscanf(line, "%31s %199s", cmd, arg);

		if (n < 1)
			continue;
		if (!strcmp(cmd, "create") && n == 2)
			cmd_create(&p, arg);
		else if (!strcmp(cmd, "start"))
			cmd_start(&p);
		else if (!strcmp(cmd, "grow") && n == 2)
			cmd_request(&p, WMSG_GROW, arg);
		else if (!strcmp(cmd, "shrink") && n == 2)
			cmd_request(&p, WMSG_SHRINK, arg);
		else if (!strcmp(cmd, "stats"))
			cmd_request(&p, WMSG_STATS_REQ, "0");
		else if (!strcmp(cmd, "wait-exit"))
			cmd_wait_exit(&p);
		else if (!strcmp(cmd, "stop"))
			cmd_stop(&p);
		else if (!strcmp(cmd, "remove"))
			cmd_remove(&p);
		else
			printf("error unknown command %s\n", cmd);
	}
	if (p.running)
		worker_stop(&p.w, 5000);
	return 0;
}
