/* log: the one logging module. Messages go to stderr, one line each; nothing else prints diagnostics.
 *
 * A line reads `PREFIX IDENT: LEVEL: MESSAGE`. PREFIX depends on where stderr goes (see log_format):
 * journald (systemd's stream, recognised by $JOURNAL_STREAM) gets a syslog priority `<N>` and no time, since the
 * journal stamps and ranks every line itself; a terminal or a file gets the local time with milliseconds; a
 * command-line tool that turned timestamps off gets nothing. */
#ifndef USBD_COMMON_LOG_H
#define USBD_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_mode {
	LOG_MODE_PLAIN,   /* no prefix */
	LOG_MODE_TIME,    /* `2026-12-05 13:04:32.123 ` in local time */
	LOG_MODE_JOURNAL, /* `<3>` err, `<4>` warning, `<6>` info, `<7>` debug (sd-daemon(3)) */
};

/* Messages above `level` are dropped. Default: LOG_LVL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Whether lines start with a timestamp (default true; command-line tools turn it off). Under journald lines never
 * carry one and always carry their priority. */
void log_set_timestamps(bool on);
/* Prefix every line with `ident` (e.g. "usbd" or "usbd-worker"). */
void log_set_ident(const char *ident);

/*
 * Formats one log line, newline included, into buf (len >= 2); a message too long for buf is cut, the newline is
 * kept. `now` is used by LOG_MODE_TIME only, converted with localtime_r (so $TZ applies). Returns the line's
 * length. Pure apart from the time zone: the tests' handle on the format.
 */
size_t log_format(char *buf, size_t len, enum log_mode mode, const struct timespec *now, const char *ident,
		  enum log_level level, const char *msg);
/* Whether fd is the journald stream systemd connected: journal_stream ($JOURNAL_STREAM, "DEVICE:INODE" in
 * decimal, NULL when unset) names fd's device and inode. A stream inherited by a child that redirected fd
 * elsewhere therefore does not count. */
bool log_is_journal_stream(int fd, const char *journal_stream);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs an error and exits the process with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
