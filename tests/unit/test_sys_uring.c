/*
 * Unit tests of src/sys/uring: batches of recv/send on socket pairs give what the plain calls would (bytes, -EAGAIN
 * at once on an empty socket, 0 at end of stream, -EBADF), in order, one result each. Skipped where io_uring is
 * unavailable (uring_new fails: the server then uses plain calls).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "sys/uring.h"

static struct uring *ring;

static int setup(void **state)
{
	(void)state;
	if (uring_new(8, &ring) < 0)
		ring = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	uring_free(ring);
	ring = NULL;
	return 0;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void uring_run_should_give_each_operation_what_the_plain_call_would(void **state)
{
	int a[2], b[2], bad;
	char ra[16] = { 0 }, rb[16] = { 0 }, re[16];
	int32_t res[8];

	(void)state;
	if (!ring)
		skip();
	pair(a);
	pair(b);
	bad = dup(a[0]);
	close(bad);
	assert_int_equal(write(a[1], "hello", 5), 5);
	close(b[1]);
	assert_int_equal(uring_recv(ring, a[0], ra, sizeof(ra), 0), 0);
	assert_int_equal(uring_recv(ring, b[0], rb, sizeof(rb), 0), 1);    /* end of stream */
	assert_int_equal(uring_recv(ring, bad, re, sizeof(re), 0), 2);     /* closed fd */
	assert_int_equal(uring_recv(ring, a[1], re, sizeof(re), 0), 3);    /* nothing to read: at once, -EAGAIN */
	assert_int_equal(uring_send(ring, a[0], "world", 5, MSG_NOSIGNAL), 4);
	assert_int_equal(uring_queued(ring), 5);
	assert_int_equal(uring_run(ring, res), 0);
	assert_int_equal(uring_queued(ring), 0);
	assert_int_equal(res[0], 5);
	assert_memory_equal(ra, "hello", 5);
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], -EBADF);
	assert_int_equal(res[3], -EAGAIN);
	assert_int_equal(res[4], 5);
	assert_int_equal(read(a[1], re, sizeof(re)), 5);
	assert_memory_equal(re, "world", 5);
	close(a[0]);
	close(a[1]);
	close(b[0]);
}

static void uring_send_should_write_what_fits_and_then_say_eagain(void **state)
{
	static char big[1 << 20];
	int sv[2];
	int32_t res[8];
	int sndbuf = 4096;

	(void)state;
	if (!ring)
		skip();
	pair(sv);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	assert_int_equal(uring_send(ring, sv[0], big, sizeof(big), MSG_NOSIGNAL), 0);
	assert_int_equal(uring_send(ring, sv[0], big, sizeof(big), MSG_NOSIGNAL), 1);
	assert_int_equal(uring_run(ring, res), 0);
	assert_true(res[0] > 0 && res[0] < (int32_t)sizeof(big));
	assert_int_equal(res[1], -EAGAIN);
	close(sv[1]);
	assert_int_equal(uring_send(ring, sv[0], big, 1, MSG_NOSIGNAL), 0);
	assert_int_equal(uring_run(ring, res), 0);
	assert_int_equal(res[0], -EPIPE);
	close(sv[0]);
}

static void uring_should_refuse_more_than_a_batch_and_run_an_empty_one(void **state)
{
	int sv[2];
	char buf[4];
	int32_t res[8];

	(void)state;
	if (!ring)
		skip();
	pair(sv);
	assert_int_equal(uring_run(ring, res), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(uring_recv(ring, sv[0], buf, sizeof(buf), 0), i);
	assert_int_equal(uring_recv(ring, sv[0], buf, sizeof(buf), 0), -ENOSPC);
	assert_int_equal(uring_run(ring, res), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(res[i], -EAGAIN);
	/* The ring is reusable: the next batch's results are its own. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(uring_recv(ring, sv[0], buf, sizeof(buf), 0), 0);
	assert_int_equal(uring_run(ring, res), 0);
	assert_int_equal(res[0], 1);
	close(sv[0]);
	close(sv[1]);
}

static void uring_new_should_refuse_a_size_that_is_not_a_power_of_two(void **state)
{
	struct uring *r = NULL;

	(void)state;
	assert_int_equal(uring_new(6, &r), -EINVAL);
	assert_int_equal(uring_new(0, &r), -EINVAL);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uring_run_should_give_each_operation_what_the_plain_call_would, setup,
						teardown),
		cmocka_unit_test_setup_teardown(uring_send_should_write_what_fits_and_then_say_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(uring_should_refuse_more_than_a_batch_and_run_an_empty_one, setup,
						teardown),
		cmocka_unit_test(uring_new_should_refuse_a_size_that_is_not_a_power_of_two),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
