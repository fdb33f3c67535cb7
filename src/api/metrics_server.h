/*
 * metrics_server: GET /metrics over TCP for Prometheus (--metrics-listen), read-only: /metrics answers GET and HEAD
 * with the same text as the control API's /metrics (metrics_from_backend), every other path is 404 and every other
 * method 405; nothing else of the API is reachable. One request per connection (answered with Connection: close):
 * a scraper asks once per interval, so nothing is kept between requests. Limits: at most max_connections at a time
 * (beyond, newcomers wait in the listen backlog), a request head of at most 8 KiB, no body, and each connection
 * closed timeout_s after it was accepted whatever it still waits for. Never blocks; the controller watches
 * metrics_server_fd() and calls metrics_server_run() when it is readable and on every tick.
 */
#ifndef USBD_API_METRICS_SERVER_H
#define USBD_API_METRICS_SERVER_H

#include "api/api.h"

struct metrics_server;

#define METRICS_SERVER_MAX_CONNECTIONS 16
#define METRICS_SERVER_TIMEOUT_S 5

/*
 * Serves on listen_fd (a listening, non-blocking stream socket it takes over and closes at the end). Only be's
 * get_status, get_balloon and get_stats are called. Returns 0, -EINVAL or -errno.
 */
int metrics_server_open(struct metrics_server **out, int listen_fd, const struct api_backend *be);
/* The one fd to watch for EPOLLIN (an epoll fd itself). */
int metrics_server_fd(const struct metrics_server *srv);
/* Accepts, reads, answers and times out connections; never blocks. */
void metrics_server_run(struct metrics_server *srv);
/* Closes every connection and the listening socket. NULL is allowed. */
void metrics_server_close(struct metrics_server *srv);

#endif
