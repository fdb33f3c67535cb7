#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

/* 2026-12-05 13:04:32.123456789 UTC */
static const struct timespec when = { .tv_sec = 1796475872, .tv_nsec = 123456789 };

static int utc(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void journal_lines_should_carry_the_syslog_priority_and_no_time(void **state)
{
	static const struct {
		enum log_level level;
		const char *line;
	} cases[] = {
		{ LOG_LVL_ERR, "<3>usbd: error: it broke\n" },
		{ LOG_LVL_WARN, "<4>usbd: warning: it broke\n" },
		{ LOG_LVL_INFO, "<6>usbd: info: it broke\n" },
		{ LOG_LVL_DEBUG, "<7>usbd: debug: it broke\n" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = log_format(buf, sizeof(buf), LOG_MODE_JOURNAL, &when, "usbd", cases[i].level, "it broke");
		assert_string_equal(buf, cases[i].line);
		assert_int_equal(n, strlen(cases[i].line));
	}
}

static void terminal_lines_should_start_with_the_local_time_in_milliseconds(void **state)
{
	char buf[128];

	log_format(buf, sizeof(buf), LOG_MODE_TIME, &when, "usbd-worker", LOG_LVL_INFO, "SIGTERM");
	assert_string_equal(buf, "2026-12-05 13:04:32.123 usbd-worker: info: SIGTERM\n");
	setenv("TZ", "CET-1", 1);
	tzset();
	log_format(buf, sizeof(buf), LOG_MODE_TIME, &when, "usbd", LOG_LVL_WARN, "x");
	assert_string_equal(buf, "2026-12-05 14:04:32.123 usbd: warning: x\n");
	utc(state);
}

static void plain_lines_should_have_no_prefix(void **state)
{
	char buf[128];

	log_format(buf, sizeof(buf), LOG_MODE_PLAIN, &when, "usbdctl", LOG_LVL_ERR, "refused");
	assert_string_equal(buf, "usbdctl: error: refused\n");
}

static void a_long_message_should_be_cut_and_keep_its_newline(void **state)
{
	char buf[16];
	size_t n = log_format(buf, sizeof(buf), LOG_MODE_PLAIN, &when, "usbd", LOG_LVL_INFO, "0123456789abcdef");

	assert_int_equal(n, sizeof(buf) - 1);
	assert_string_equal(buf, "usbd: info: 01\n");
}

static void the_journal_stream_should_be_recognised_by_device_and_inode(void **state)
{
	char path[] = "/tmp/test_common_log.XXXXXX", env[64];
	int fd = mkstemp(path), other = open("/dev/null", O_WRONLY);
	struct stat st;

	assert_true(fd >= 0 && other >= 0);
	unlink(path);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_true(log_is_journal_stream(fd, env));
	assert_false(log_is_journal_stream(other, env)); /* a redirected stderr is not the journal */
	assert_false(log_is_journal_stream(fd, NULL));
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	assert_false(log_is_journal_stream(fd, env));
	static const char *const bad[] = { "", ":", "1", "1:", ":1", "1:2x", "-1:2", "x:1", " 1:2", NULL };
	for (int i = 0; bad[i]; i++)
		assert_false(log_is_journal_stream(fd, bad[i]));
	close(fd);
	close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_lines_should_carry_the_syslog_priority_and_no_time),
		cmocka_unit_test(terminal_lines_should_start_with_the_local_time_in_milliseconds),
		cmocka_unit_test(plain_lines_should_have_no_prefix),
		cmocka_unit_test(a_long_message_should_be_cut_and_keep_its_newline),
		cmocka_unit_test(the_journal_stream_should_be_recognised_by_device_and_inode),
	};
	return cmocka_run_group_tests(tests, utc, NULL);
}
