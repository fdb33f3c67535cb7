/* log: the one logging module. Messages go to stderr with a level prefix; nothing else prints diagnostics. */
#ifndef USBD_COMMON_LOG_H
#define USBD_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above `level` are dropped. Default: LOG_LVL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Whether lines start with a timestamp (default true; command-line tools turn it off). */
void log_set_timestamps(bool on);
/* Prefix every line with `ident` (e.g. "usbd" or "usbd-worker"). */
void log_set_ident(const char *ident);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs an error and exits the process with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
