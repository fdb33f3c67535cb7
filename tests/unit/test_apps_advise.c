/* advise_serve's refusals and failures as the app receives them: maps from a fixture /proc, the reply read from
 * the app's end of a socket pair (no root; the honoured path needs a real pidfd and is lib_pageout.sh's). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "apps/advise.h"
#include "common/size.h"
#include "sys/procfs.h"

#define PID 4242

static char root[64];

static void put_maps(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, PID);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/maps", root, PID);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Serves one page-out of [addr, addr+len) below the threshold and returns the reply; every case here is refused or
 * fails, so nothing counts as paged out. */
static struct umsg_reply serve(uint64_t addr, uint64_t len)
{
	struct app a = { .pid = PID, .pidfd = -1, .registered = true };
	struct umsg_pageout m;
	union umsg_any r;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	a.fd = sv[0];
	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, UMSG_PAGEOUT, 7);
	m.nranges = 1;
	m.ranges[0] = (struct umsg_range){ addr, len };
	assert_true(advise_serve(&a, &m, 1000, 0, GIB) == 0);
	assert_true(a.pageout_ms == 0);
	assert_int_equal(recv(sv[1], &r, sizeof(r), MSG_DONTWAIT), sizeof(struct umsg_reply));
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(r.hdr.seq, 7);
	return r.reply;
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/test_apps_advise.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	procfs_set_root(root);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%d/maps", root, PID);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%d", root, PID);
	rmdir(path);
	rmdir(root);
	procfs_set_root(NULL);
	return 0;
}

static void memory_not_owned_should_be_efault(void **state)
{
	struct umsg_reply r;

	put_maps("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n");
	r = serve(0x7f0000200000, 4096);
	assert_int_equal(r.status, -EFAULT);
	assert_int_equal(r.reason, USBD_REASON_NOT_OWNED);
}

/* Maps that never read consistently (overlapping areas: the parser's -EINVAL) are the daemon's failure, -EIO,
 * not the app's invalid request (-EINVAL). */
static void unreadable_maps_should_be_eio_not_einval(void **state)
{
	struct umsg_reply r;

	put_maps("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
		 "7f0000080000-7f0000200000 rw-p 00000000 00:00 0 \n");
	r = serve(0x7f0000000000, 4096);
	assert_int_equal(r.status, -EIO);
	assert_int_equal(r.reason, USBD_REASON_FAILED);
	assert_string_equal(r.message, "cannot read the maps: Invalid argument");
}

/* process_madvise failing (here: no pidfd) is -EIO too, whatever its errno; the message carries the errno. */
static void a_failed_madvise_should_be_eio(void **state)
{
	struct umsg_reply r;

	put_maps("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n");
	r = serve(0x7f0000000000, 4096);
	assert_int_equal(r.status, -EIO);
	assert_int_equal(r.reason, USBD_REASON_FAILED);
	assert_string_equal(r.message, "process_madvise: Bad file descriptor");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_not_owned_should_be_efault),
		cmocka_unit_test(unreadable_maps_should_be_eio_not_einval),
		cmocka_unit_test(a_failed_madvise_should_be_eio),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
