/* Unit tests of src/sys/sd_notify.c: datagrams to a real $NOTIFY_SOCKET, and the watchdog's environment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/sd_notify.h"

static void notify_should_send_one_datagram_to_the_socket_systemd_names(void **state)
{
	char dir[] = "/tmp/usbd-sdnotify.XXXXXX", path[64], buf[64];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(systemd_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(systemd_notify("STATUS=grab 1G"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, 14);
	buf[n] = '\0';
	assert_string_equal(buf, "STATUS=grab 1G");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(systemd_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void watchdog_should_be_half_known_only_for_this_process(void **state)
{
	assert_int_equal(systemd_watchdog_parse(NULL, NULL, 42), 0);
	assert_int_equal(systemd_watchdog_parse("30000000", NULL, 42), 30000);
	assert_int_equal(systemd_watchdog_parse("30000000", "42", 42), 30000);
	/* Set for another process (a parent that did not unset it): not ours to ping. */
	assert_int_equal(systemd_watchdog_parse("30000000", "41", 42), 0);
	assert_int_equal(systemd_watchdog_parse("0", NULL, 42), 0);
	assert_int_equal(systemd_watchdog_parse("12x", NULL, 42), 0);
	assert_int_equal(systemd_watchdog_parse("99999999999999999999999", NULL, 42), 0);
	assert_int_equal(systemd_watchdog_parse("500", NULL, 42), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(notify_should_send_one_datagram_to_the_socket_systemd_names),
		cmocka_unit_test(watchdog_should_be_half_known_only_for_this_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
