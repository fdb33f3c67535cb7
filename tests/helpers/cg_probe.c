/*
 * cg_probe: checks src/sys/cgroup against the real cgroup v1 memory controller, for
 * tests/integration/sys_v1.sh. PARENT is a memory cgroup the script made (and removes on any exit).
 *   cg_probe events PARENT     child "events" with a 256 MiB limit: usage threshold, pressure and OOM
 *                              notifications, stat/usage/limit/swappiness read back from the kernel
 *   cg_probe lifecycle PARENT  create, resolve, within, move, pids, remove, and the refusals
 * Prints "ok: ..." per check; the first failed check logs "FAIL ..." and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"
#include "sys/cgroup.h"

/* Generous: this checks that events arrive at all, not how fast (the machine is shared). */
#define EVENT_WAIT_MS 60000

static pid_t children[4];
static int nchildren;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			log_err("FAIL %s:%d: %s", __FILE__, __LINE__, #cond);                      \
			exit(1);                                                                   \
		}                                                                                  \
		printf("ok: " __VA_ARGS__);                                                        \
		printf("\n");                                                                      \
	} while (0)

static void kill_children(void)
{
	for (int i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
}

static void reap(pid_t pid, int *status)
{
	CHECK(waitpid(pid, status, 0) == pid, "reaped %d", (int)pid);
	for (int i = 0; i < nchildren; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* Forks a child that joins `cg` itself (pid 0), faults in `bytes` of anonymous memory, writes one byte to
 * `ready_fd` and then sleeps until killed. */
static pid_t spawn_eater(const struct cgroup *cg, uint64_t bytes, int ready_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		/* MAP_POPULATE faults every page in: a compiler cannot drop it as it could an unused memset. */
		if (cg_move_pid(cg, 0))
			_exit(2);
		if (mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) ==
		    MAP_FAILED)
			_exit(3);
		if (write(ready_fd, "r", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	children[nchildren++] = pid;
	return pid;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void expect_file(const struct cgroup *cg, const char *file, const char *want)
{
	char buf[64];

	CHECK(cg_read_file(cg, file, buf, sizeof(buf)) >= 0, "read %s", file);
	buf[strcspn(buf, "\n")] = '\0';
	CHECK(!strcmp(buf, want), "%s reads back %s", file, want);
}

static int events(const struct cg_hier *h, const struct cgroup *top)
{
	struct cgroup cg;
	struct cg_stat st;
	uint64_t v;
	pid_t pids[4], eater;
	int ready[2], status, tfd, pfd, ofd, err;
	bool memsw;
	char c;

	CHECK(cg_create_child(top, "events", &cg) == 0, "created %s", cg.name);
	CHECK(cg_set_limit(&cg, 256 * MIB) == 0, "limit set to 256M");
	CHECK(cg_limit(&cg, &v) == 0 && v == 256 * MIB, "limit reads back 256M");
	/* So that the OOM step below is an OOM even if some test turned swap on meanwhile. */
	err = cg_write_file(&cg, "memory.memsw.limit_in_bytes", "268435456");
	CHECK(err == 0 || err == -ENOENT, "memsw limit 256M (or no memsw)");
	memsw = err == 0;

	tfd = h->ops->usage_threshold_open(&cg, 64 * MIB);
	CHECK(tfd >= 0, "usage threshold at 64M registered");
	pfd = h->ops->pressure_open(&cg, CG_PRESSURE_MEDIUM);
	CHECK(pfd >= 0, "medium pressure registered");
	ofd = h->ops->oom_open(&cg);
	CHECK(ofd >= 0, "oom event registered");
	CHECK(!readable(tfd, 0) && !readable(ofd, 0), "no event before any allocation");

	CHECK(pipe(ready) == 0, "pipe");
	eater = spawn_eater(&cg, 128 * MIB, ready[1]);
	CHECK(read(ready[0], &c, 1) == 1, "child %d touched 128M inside the cgroup", (int)eater);
	CHECK(readable(tfd, EVENT_WAIT_MS), "usage threshold eventfd fired");
	CHECK(cg_notify_ack(tfd) == 0 && !readable(tfd, 0), "threshold event acknowledged");
	CHECK(cg_pids(&cg, pids, 4) == 1 && pids[0] == eater, "cgroup.procs lists exactly the child");
	CHECK(cg_usage(&cg, &v) == 0 && v >= 128 * MIB && v <= 256 * MIB, "usage %llu within [128M, 256M]",
	      (unsigned long long)v);
	CHECK(cg_stat(&cg, &st) == 0 && st.anon >= 120 * MIB, "stat anon (total_rss) %llu >= 120M",
	      (unsigned long long)st.anon);
	CHECK(cg_swap(&cg, &v) == 0 && v == st.swap, "swap %llu", (unsigned long long)v);
	kill(eater, SIGKILL);
	reap(eater, &status);

	/* Twice the limit, no swap allowed: the kernel's memcg OOM killer must kill the child. */
	CHECK(h->ops->set_swap_allowed(&cg, false) == 0, "swap disallowed");
	expect_file(&cg, "memory.swappiness", "0");
	eater = spawn_eater(&cg, 512 * MIB, ready[1]);
	CHECK(readable(ofd, EVENT_WAIT_MS), "oom eventfd fired");
	CHECK(cg_notify_ack(ofd) == 0, "oom event acknowledged");
	reap(eater, &status);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child over the limit was OOM-killed");
	printf("info: medium pressure %s during the OOM\n", readable(pfd, 0) ? "fired" : "did not fire");

	CHECK(h->ops->set_swap_allowed(&cg, true) == 0, "swap allowed");
	expect_file(&cg, "memory.swappiness", "60");
	if (memsw)
		CHECK(cg_write_file(&cg, "memory.memsw.limit_in_bytes", "-1") == 0, "memsw limit lifted");
	CHECK(cg_set_limit(&cg, CG_UNLIMITED) == 0, "limit lifted");
	CHECK(cg_limit(&cg, &v) == 0 && v == CG_UNLIMITED, "the kernel's unlimited reads as CG_UNLIMITED");
	CHECK(h->ops->reclaim(&cg, MIB) == -ENOTSUP, "reclaim is not supported on v1");
	CHECK(cg_pids(&cg, pids, 4) == 0, "cgroup empty again");
	close(tfd);
	close(pfd);
	close(ofd);
	close(ready[0]);
	close(ready[1]);
	CHECK(cg_remove(&cg) == 0, "removed %s", cg.name);
	CHECK(cg_resolve(h, cg.name, &cg) == -ENOENT, "gone after removal");
	return 0;
}

static int lifecycle(const struct cg_hier *h, const struct cgroup *top)
{
	struct cgroup a, b, r;
	char name[3 * PATH_MAX];
	pid_t pids[4], sleeper;
	int status;

	CHECK(cg_create_child(top, "life", &a) == 0, "created %s", a.name);
	CHECK(cg_create_child(&a, "inner", &b) == 0, "created %s", b.name);
	CHECK(cg_create_child(&a, "inner", &r) == -EEXIST, "second create is -EEXIST");
	CHECK(cg_create_child(&a, "../evil", &r) == -EINVAL, "leaf with .. refused");
	CHECK(cg_create_child(&a, "x/y", &r) == -EINVAL, "leaf with / refused");

	snprintf(name, sizeof(name), "/%s/life/inner/", top->name);
	CHECK(cg_resolve(h, name, &r) == 0 && !strcmp(r.name, b.name) && !strcmp(r.path, b.path), "resolved %s",
	      name);
	CHECK(cg_within(&b, &a) && cg_within(&b, top) && !cg_within(&a, &b), "within follows the tree");
	snprintf(name, sizeof(name), "%s/../%s", top->name, top->name);
	CHECK(cg_resolve(h, name, &r) == -EINVAL, "%s refused", name);
	snprintf(name, sizeof(name), "%s/life/..", top->name);
	CHECK(cg_resolve(h, name, &r) == -EINVAL, "%s refused", name);
	snprintf(name, sizeof(name), "%s/missing", top->name);
	CHECK(cg_resolve(h, name, &r) == -ENOENT, "%s is -ENOENT", name);
	CHECK(cg_resolve(h, "..", &r) == -EINVAL, ".. refused");

	sleeper = fork();
	if (sleeper < 0)
		fatal("fork: %s", strerror(errno));
	if (sleeper == 0) {
		for (;;)
			pause();
	}
	children[nchildren++] = sleeper;
	CHECK(cg_move_pid(&b, sleeper) == 0, "moved %d into %s", (int)sleeper, b.name);
	CHECK(cg_pids(&b, pids, 4) == 1 && pids[0] == sleeper, "cgroup.procs lists it");
	CHECK(cg_pids(&a, pids, 4) == 0, "the parent lists only its own processes");
	CHECK(cg_move_pid(&b, 0x3ffffff0) == -ESRCH, "moving a pid that does not exist is -ESRCH");
	CHECK(cg_remove(&b) == -EBUSY, "a populated cgroup cannot be removed (-EBUSY after retrying)");
	kill(sleeper, SIGKILL);
	reap(sleeper, &status);
	CHECK(cg_remove(&b) == 0, "removed %s once empty", b.name);
	CHECK(cg_remove(&a) == 0, "removed %s", a.name);
	CHECK(cg_remove(&a) == -ENOENT, "removing again is -ENOENT");
	return 0;
}

int main(int argc, char **argv)
{
	struct cg_hier h;
	struct cgroup top;

	log_set_ident("cg_probe");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3)
		fatal("usage: cg_probe events|lifecycle PARENT");
	atexit(kill_children);
	CHECK(cg_hier_open(&h, NULL, 1) == 0 && h.version == 1, "v1 hierarchy at %s", h.root);
	CHECK(cg_resolve(&h, argv[2], &top) == 0, "parent %s at %s", top.name, top.path);
	if (!strcmp(argv[1], "events"))
		return events(&h, &top);
	if (!strcmp(argv[1], "lifecycle"))
		return lifecycle(&h, &top);
	fatal("unknown command %s", argv[1]);
}
