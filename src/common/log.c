#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level max_level = LOG_LVL_INFO;
static char ident[32] = "usbd";
static bool timestamps = true;

void log_set_timestamps(bool on) { timestamps = on; }

void log_set_level(enum log_level level) { max_level = level; }

enum log_level log_get_level(void) { return max_level; }

void log_set_ident(const char *name)
{
	snprintf(ident, sizeof(ident), "%s", name);
}

__attribute__((format(printf, 2, 0))) static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	struct timespec ts;
	char line[1024];

	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line so that the controller's and the worker's lines do not interleave mid-line. */
	if (timestamps)
		fprintf(stderr, "%lld.%03ld %s: %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, ident,
			tag[level], line);
	else
		fprintf(stderr, "%s: %s: %s\n", ident, tag[level], line);
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
