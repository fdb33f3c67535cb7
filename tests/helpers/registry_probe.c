/*
 * registry_probe: the registry (src/apps) driven by hand with free-memory readings it is given, against a real
 * libusbd app (a forked child of this probe), to check how the registry uses the page-out rule of policy/pageout.h:
 * memory.stat can show a page-out up to 2 s late, so for PAGEOUT_UNSEEN_MS after an honoured page-out the registry's
 * free memory is at least what the page-out was judged with plus what it paged out.
 *   registry_probe DOMAIN_CG APP_CG SOCK
 * As root, inside APP_CG (a memory cgroup inside DOMAIN_CG, named as usbd names them). Threshold 128 MiB; every
 * reading is the same, 40 MiB under it, as if the counters had not moved:
 *   1. a round signals the app, which pages out its part of the deficit plus 16 MiB (56 MiB): honoured;
 *   2. 300 ms later (past the 250 ms an app is left alone after a page-out) a round sends nothing: free counts what
 *      the page-out freed;
 *   3. a page-out the app asks for then is refused, free above the threshold;
 *   4. once PAGEOUT_UNSEEN_MS has passed, a round signals the app again.
 * Prints a line per step; exits 0 if all held, 1 if one did not, 2 on a setup error.
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

#include "apps/registry.h"
#include "common/clock.h"
#include "common/size.h"
#include "lib/usbd.h"
#include "policy/pageout.h"

#define THRESHOLD (128 * MIB)
#define READING (THRESHOLD - 40 * MIB)
#define MARGIN (16 * MIB)
#define APP_MEM (128 * MIB)

/* What the child tells the parent: 'R' registered, 'B' answered a SIGBALLOON, 'P' a page-out asked for by 'p'. */
struct msg {
	char kind;
	int status;
	int reason;
	uint64_t bytes, deficit;
};

static int tell(int fd, struct msg m) { return write(fd, &m, sizeof(m)) == sizeof(m) ? 0 : -1; }

struct child {
	char *mem;
	int up;
};

static void on_balloon(struct usbd *h, uint64_t deficit, void *arg)
{
	struct child *c = arg;
	struct usbd_range r = { c->mem, (size_t)min_u64(deficit + MARGIN, APP_MEM / 2) };
	struct usbd_pageout_result res;
	int err = usbd_pageout(h, &r, 1, &res);

	tell(c->up, (struct msg){ 'B', err, (int)res.reason, res.bytes, deficit });
}

/* The app: registers, then answers SIGBALLOONs and the parent's commands ('p': page out 8 MiB; 'q': quit). */
static int run_app(const char *sock, int down, int up)
{
	struct child c = { NULL, up };
	struct usbd *h;
	char cmd;
	int err;

	c.mem = mmap(NULL, APP_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.mem == MAP_FAILED)
		return 2;
	memset(c.mem, 0x5a, APP_MEM);
	err = usbd_open(sock, &h);
	if (!err)
		err = usbd_register(h);
	tell(up, (struct msg){ 'R', err, 0, 0, 0 });
	if (err)
		return 2;
	usbd_set_callback(h, on_balloon, &c);
	for (;;) {
		struct pollfd p[2] = { { usbd_event_fd(h), POLLIN, 0 }, { down, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 2;
		if (p[0].revents)
			usbd_dispatch(h);
		if (!p[1].revents)
			continue;
		if (read(down, &cmd, 1) != 1 || cmd == 'q')
			break;
		{
			struct usbd_range r = { c.mem + APP_MEM / 2, 8 * MIB };
			struct usbd_pageout_result res;

			err = usbd_pageout(h, &r, 1, &res);
			tell(up, (struct msg){ 'P', err, (int)res.reason, res.bytes, 0 });
		}
	}
	usbd_close(h);
	return 0;
}

static int reading_cb(void *ctx, uint64_t *free_bytes)
{
	*free_bytes = *(uint64_t *)ctx;
	return 0;
}

/* Serves the registry for up to ms, or until the child says something (then 1 and *m). */
static int pump(struct registry *r, int up, unsigned ms, struct msg *m)
{
	uint64_t end = clock_ms() + ms;

	for (uint64_t now; (now = clock_ms()) < end;) {
		struct pollfd p[2] = { { registry_fd(r), POLLIN, 0 }, { up, POLLIN, 0 } };

		if (poll(p, 2, (int)(end - now)) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			registry_run(r);
		if (p[1].revents)
			return read(up, m, sizeof(*m)) == sizeof(*m) ? 1 : -1;
	}
	return 0;
}

static int check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAILED", what);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	uint64_t reading = READING, out_at, sent;
	struct cg_hier hier;
	struct cgroup dom, app;
	struct registry *r;
	struct msg m;
	int up[2], down[2], bad = 0, status;
	pid_t pid;

	if (argc != 4)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cg_hier_open(&hier, NULL, 0) < 0 || cg_resolve(&hier, argv[1], &dom) < 0 ||
	    cg_resolve(&hier, argv[2], &app) < 0 || pipe(up) < 0 || pipe(down) < 0)
		return 2;
	struct registry_config cfg = {
		.sock_path = argv[3], .domain = &dom, .app = &app, .resignal_ms = 100,
		.read_free = reading_cb, .ctx = &reading,
	};
	if (registry_open(&r, &cfg) < 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(run_app(argv[3], down[0], up[1]));
	}
	close(up[1]);
	close(down[0]);

	if (pump(r, up[0], 10000, &m) != 1 || m.kind != 'R' || m.status != 0) {
		printf("FAILED: the app did not register (%d)\n", m.status);
		bad = 2;
		goto out;
	}
	registry_tick(r, clock_ms(), reading, THRESHOLD);
	bad |= check(registry_signals_sent(r) == 1, "1. a reading 40 MiB under the threshold signals the app");
	if (pump(r, up[0], 10000, &m) != 1 || m.kind != 'B') {
		printf("FAILED: the app did not answer the SIGBALLOON\n");
		bad = 1;
		goto out;
	}
	out_at = clock_ms();
	printf("   the app was asked for %llu MiB and paged out %llu MiB (status %d)\n",
	       (unsigned long long)(m.deficit >> 20), (unsigned long long)(m.bytes >> 20), m.status);
	bad |= check(m.status == 0 && m.deficit == 40 * MIB && m.bytes == 56 * MIB, "1. its page-out was honoured");

	pump(r, up[0], 300, &m);
	sent = registry_signals_sent(r);
	registry_tick(r, clock_ms(), reading, THRESHOLD);
	bad |= check(registry_signals_sent(r) == sent && pump(r, up[0], 300, &m) == 0,
		     "2. the same reading 300 ms later sends no SIGBALLOON");

	if (write(down[1], "p", 1) != 1 || pump(r, up[0], 10000, &m) != 1 || m.kind != 'P') {
		printf("FAILED: no answer to the app's page-out\n");
		bad = 1;
		goto out;
	}
	bad |= check(m.status == -EAGAIN && m.reason == USBD_REASON_ABOVE_THRESHOLD && m.bytes == 0,
		     "3. a page-out asked for then is refused, free above the threshold");
	if (clock_ms() - out_at >= PAGEOUT_UNSEEN_MS) {
		printf("FAILED: steps 2 and 3 ended %llu ms after the page-out, past the window: they proved nothing\n",
		       (unsigned long long)(clock_ms() - out_at));
		bad = 1;
	} else {
		pump(r, up[0], (unsigned)(out_at + PAGEOUT_UNSEEN_MS + 100 - clock_ms()), &m);
	}
	sent = registry_signals_sent(r);
	registry_tick(r, clock_ms(), reading, THRESHOLD);
	bad |= check(registry_signals_sent(r) == sent + 1 && pump(r, up[0], 10000, &m) == 1 && m.kind == 'B',
		     "4. past the window, the same reading signals the app again");
out:
	if (write(down[1], "q", 1) != 1)
		kill(pid, SIGKILL);
	for (int i = 0; i < 50 && pump(r, up[0], 100, &m) >= 0 && waitpid(pid, &status, WNOHANG) == 0; i++)
		;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	registry_close(r);
	return bad;
}
