/*
 * metrics: the Prometheus text exposition (format version 0.0.4) of the status and statistics structs. Pure.
 * Every metric has its # HELP and # TYPE lines; label values are escaped (\\, \", \n).
 */
#ifndef USBD_API_METRICS_H
#define USBD_API_METRICS_H

#include "api/api.h"

/*
 * Returns the malloc'd, NUL-terminated exposition text, or NULL when out of memory. stats NULL: statistics are
 * disabled and the usbd_domain_* metrics are left out.
 */
char *metrics_format(const struct api_status *st, const struct api_balloon_stats *stats);

/*
 * The exposition of what be reports now: its status, and its statistics while they are on (a backend without a
 * balloon, -ENODEV from get_balloon, has none). Returns 0 with the malloc'd text in *text, or the backend's -errno
 * (or -ENOMEM) with the reason in err. Both the control API's /metrics and the TCP endpoint serve this.
 */
int metrics_from_backend(const struct api_backend *be, char **text, char *err, size_t err_len);

#endif
