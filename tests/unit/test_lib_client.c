/* The library's error codes as an application sees them, against a scripted daemon on a real socket (no root). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/proto.h"
#include "lib/usbd.h"

enum act { REPLY, GARBAGE, CLOSE };
struct step {
	enum act act;
	int32_t status;
	enum usbd_reason reason;
};

static struct {
	char dir[64], path[96];
	int lfd;
	const struct step *steps;
	size_t nsteps;
	pthread_t thread;
} d;

/* The scripted daemon: one connection, one step per request received. */
static void *daemon_main(void *arg)
{
	int fd = accept(d.lfd, NULL, NULL);

	(void)arg;
	for (size_t i = 0; fd >= 0 && i < d.nsteps; i++) {
		union umsg_any m, r;
		ssize_t n = recv(fd, &m, sizeof(m), 0);

		if (n <= 0)
			break;
		memset(&r, 0, sizeof(r));
		umsg_init(&r.hdr, UMSG_REPLY, m.hdr.seq);
		r.reply.status = d.steps[i].status;
		r.reply.reason = d.steps[i].reason;
		snprintf(r.reply.message, sizeof(r.reply.message), "step %zu", i);
		if (d.steps[i].act == GARBAGE)
			r.hdr.magic = 0;
		if (d.steps[i].act == CLOSE)
			break;
		if (send(fd, &r, r.hdr.len, MSG_NOSIGNAL) < 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void daemon_start(const struct step *steps, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(d.dir, sizeof(d.dir), "/tmp/test_lib_client.XXXXXX");
	assert_non_null(mkdtemp(d.dir));
	snprintf(d.path, sizeof(d.path), "%s/apps.sock", d.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.path);
	d.lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(d.lfd >= 0);
	assert_int_equal(bind(d.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d.lfd, 4), 0);
	d.steps = steps;
	d.nsteps = n;
	assert_int_equal(pthread_create(&d.thread, NULL, daemon_main, NULL), 0);
}

static void daemon_stop(void)
{
	shutdown(d.lfd, SHUT_RDWR);
	pthread_join(d.thread, NULL);
	close(d.lfd);
	unlink(d.path);
	rmdir(d.dir);
}

static void open_should_say_why_it_cannot_connect(void **state)
{
	char longp[200];
	struct usbd *h;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(usbd_open(longp, &h), -ENAMETOOLONG);
	assert_int_equal(usbd_open("/nonexistent/usbd/apps.sock", &h), -ENOENT);
	/* a socket file nobody listens on any more */
	snprintf(d.dir, sizeof(d.dir), "/tmp/test_lib_client.XXXXXX");
	assert_non_null(mkdtemp(d.dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/apps.sock", d.dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(usbd_open(sa.sun_path, &h), -ECONNREFUSED);
	unlink(sa.sun_path);
	rmdir(d.dir);
}

static void register_and_pageout_should_return_one_code_per_cause(void **state)
{
	static const struct step steps[] = {
		{ REPLY, -EPERM, USBD_REASON_REFUSED },           /* register: refused */
		{ REPLY, 0, USBD_REASON_OK },                     /* register */
		{ REPLY, -EAGAIN, USBD_REASON_ABOVE_THRESHOLD },  /* page-outs */
		{ REPLY, -EFAULT, USBD_REASON_NOT_OWNED },
		{ REPLY, -EINVAL, USBD_REASON_UNALIGNED },
		{ REPLY, -EIO, USBD_REASON_FAILED },
		{ GARBAGE, 0, 0 },
		{ CLOSE, 0, 0 },
	};
	struct usbd_range r = { (void *)(uintptr_t)0x100000, 4096 };
	struct usbd_pageout_result res;
	struct usbd *h, *h2;

	daemon_start(steps, sizeof(steps) / sizeof(steps[0]));
	assert_int_equal(usbd_open(d.path, &h), 0);
	assert_int_equal(usbd_open(d.path, &h2), -EBUSY);
	assert_int_equal(usbd_register(h), -EPERM);
	assert_int_equal(usbd_register(h), 0);
	assert_int_equal(usbd_pageout(h, &r, 0, &res), -EINVAL); /* nothing asked: not sent */
	assert_int_equal(usbd_pageout(h, &r, 1, &res), -EAGAIN);
	assert_int_equal(res.reason, USBD_REASON_ABOVE_THRESHOLD);
	assert_int_equal(usbd_pageout(h, &r, 1, &res), -EFAULT);
	assert_int_equal(usbd_pageout(h, &r, 1, &res), -EINVAL);
	assert_int_equal(usbd_pageout(h, &r, 1, &res), -EIO);
	assert_string_equal(res.message, "step 5");
	assert_int_equal(usbd_pageout(h, &r, 1, NULL), -EPROTO);
	assert_int_equal(usbd_pageout(h, &r, 1, NULL), -ECONNRESET);
	/* the daemon is gone: sending fails too, with the same code */
	assert_int_equal(usbd_pageout(h, &r, 1, NULL), -ECONNRESET);
	assert_int_equal(usbd_unregister(h), -ECONNRESET);
	usbd_close(h);
	daemon_stop();
}

static void balloon_should_say_when_nothing_is_left(void **state)
{
	static const struct step steps[] = { { REPLY, 0, USBD_REASON_OK }, { REPLY, 0, USBD_REASON_OK } };
	size_t len = 4 * 65536;
	unsigned char *raw = mmap(NULL, len + 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p = (unsigned char *)(((uintptr_t)raw + 65535) & ~(uintptr_t)65535);
	struct usbd_tracker *t;
	struct usbd *h;

	assert_true(raw != MAP_FAILED);
	memset(p, 1, len);
	daemon_start(steps, 2);
	assert_int_equal(usbd_open(d.path, &h), 0);
	assert_int_equal(usbd_register(h), 0);
	assert_int_equal(usbd_tracker_new(&t, NULL), 0);
	assert_int_equal(usbd_tracker_add(t, p, len, 0), 0);
	assert_int_equal(usbd_balloon(h, t, len, NULL), 0);  /* all four blocks, marked out */
	assert_int_equal(usbd_balloon(h, t, len, NULL), -ENOENT);
	usbd_close(h);
	usbd_tracker_free(t);
	daemon_stop();
	munmap(raw, len + 65536);
}

/* What the callback below did: the handle's closed fd numbers taken back, the event fd's made readable. */
static struct {
	int efd;		/* the handle's event fd number, from usbd_event_fd */
	int fillers[16];	/* eventfds that are never readable, on the lowest free numbers */
	int hot;		/* a readable eventfd, also dup2'd onto efd's number */
	atomic_int done;
} cb_close;

static void close_in_callback(struct usbd *h, uint64_t deficit, void *arg)
{
	(void)deficit;
	(void)arg;
	usbd_close(h);
	/* The fd numbers the handle had are free again and an application may get them at once: the stop fd's as an
	 * fd that never becomes readable, the event fd's as one that is. */
	for (int i = 0; i < 16; i++)
		cb_close.fillers[i] = eventfd(0, EFD_CLOEXEC);
	cb_close.hot = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	dup2(cb_close.hot, cb_close.efd);
	atomic_store(&cb_close.done, 1);
}

/* The process's threads, from /proc/self/task. */
static int threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * An application may close the handle from its callback, on the library's thread (usbd_start_thread): that thread
 * cannot join itself. Before the fix usbd_close freed the handle anyway and the thread went on polling the closed
 * fd numbers, here reused: it read the freed handle (ASan: heap-use-after-free) and blocked reading, or read, the
 * application's own fds. Now the thread ends once the callback returns, touching none of them.
 */
static void close_should_be_safe_from_the_callback_on_the_library_thread(void **state)
{
	struct usbd *h;
	uint64_t v = 0;
	int alone;

	daemon_start(NULL, 0);
	assert_int_equal(usbd_open(d.path, &h), 0);
	daemon_stop();		/* its thread has accepted and ended: the count below is the library's thread alone */
	alone = threads();
	cb_close.efd = usbd_event_fd(h);
	usbd_set_callback(h, close_in_callback, NULL);
	assert_int_equal(usbd_start_thread(h), 0);
	assert_int_equal(raise(usbd_sigballoon()), 0);
	for (int i = 0; i < 10000 && (!atomic_load(&cb_close.done) || threads() > alone); i++)
		poll(NULL, 0, 1);
	assert_true(atomic_load(&cb_close.done));
	assert_int_equal(threads(), alone);
	/* The application's readable eventfd was left alone: nothing of the closed handle's read it. */
	assert_int_equal(read(cb_close.hot, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	for (int i = 0; i < 16; i++)
		if (cb_close.fillers[i] >= 0 && cb_close.fillers[i] != cb_close.efd)
			close(cb_close.fillers[i]);
	close(cb_close.hot);
	close(cb_close.efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_should_say_why_it_cannot_connect),
		cmocka_unit_test(register_and_pageout_should_return_one_code_per_cause),
		cmocka_unit_test(balloon_should_say_when_nothing_is_left),
		cmocka_unit_test(close_should_be_safe_from_the_callback_on_the_library_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
