#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static enum log_level max_level = LOG_LVL_INFO;
static char ident[32] = "usbd";
static bool timestamps = true;
static bool to_journal;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

void log_set_timestamps(bool on) { timestamps = on; }

void log_set_level(enum log_level level) { max_level = level; }

enum log_level log_get_level(void) { return max_level; }

void log_set_ident(const char *name)
{
	snprintf(ident, sizeof(ident), "%s", name);
}

/* Reads one decimal field of $JOURNAL_STREAM ending at `end`; returns the character after it or NULL. */
static const char *parse_field(const char *s, char end, uintmax_t *out)
{
	char *stop;

	if (*s < '0' || *s > '9')
		return NULL;
	errno = 0;
	*out = strtoumax(s, &stop, 10);
	if (errno || *stop != end)
		return NULL;
	return stop + 1;
}

bool log_is_journal_stream(int fd, const char *journal_stream)
{
	uintmax_t dev, ino;
	struct stat st;
	const char *s = journal_stream;

	if (!s || !(s = parse_field(s, ':', &dev)) || !parse_field(s, '\0', &ino))
		return false;
	if (fstat(fd, &st))
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

static void detect_journal(void)
{
	to_journal = log_is_journal_stream(STDERR_FILENO, getenv("JOURNAL_STREAM"));
}

/* `2026-12-05 13:04:32.123 `: readable, sortable, and what an operator compares with `date`. */
static void format_time(char *buf, size_t len, const struct timespec *now)
{
	struct tm tm;
	size_t n;

	if (!localtime_r(&now->tv_sec, &tm) || !(n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))) {
		snprintf(buf, len, "(time unknown) ");
		return;
	}
	snprintf(buf + n, len - n, ".%03ld ", now->tv_nsec / 1000000);
}

size_t log_format(char *buf, size_t len, enum log_mode mode, const struct timespec *now, const char *name,
		  enum log_level level, const char *msg)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	static const int priority[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char lead[48] = "";
	int n;

	if (mode == LOG_MODE_TIME)
		format_time(lead, sizeof(lead), now);
	else if (mode == LOG_MODE_JOURNAL)
		snprintf(lead, sizeof(lead), "<%d>", priority[level]);
	n = snprintf(buf, len - 1, "%s%s: %s: %s", lead, name, tag[level], msg);
	if (n < 0)
		n = 0;
	else if ((size_t)n > len - 2)
		n = (int)(len - 2);
	buf[n++] = '\n';
	buf[n] = '\0';
	return (size_t)n;
}

__attribute__((format(printf, 2, 0))) static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	struct timespec now;
	enum log_mode mode;
	char msg[1024], line[1024 + 96];

	if (level > max_level)
		return;
	pthread_once(&journal_once, detect_journal);
	mode = to_journal ? LOG_MODE_JOURNAL : timestamps ? LOG_MODE_TIME : LOG_MODE_PLAIN;
	clock_gettime(CLOCK_REALTIME, &now);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_format(line, sizeof(line), mode, &now, ident, level, msg);
	/* One write per line (stderr is unbuffered) so that the controller's and the worker's lines do not
	 * interleave mid-line. */
	fputs(line, stderr);
}

#define LOG_FN(name, level)                                                                                  \
	void name(const char *fmt, ...)                                                                      \
	{                                                                                                    \
		va_list ap;                                                                                  \
		va_start(ap, fmt);                                                                           \
		vlog(level, fmt, ap);                                                                        \
		va_end(ap);                                                                                  \
	}
LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
