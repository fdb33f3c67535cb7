/*
 * server: the spot store's TCP front end. A non-blocking listener and its clients on an epoll fd of its own
 * (the worker polls that fd and calls server_run), pipelining, per-client query and output caps, one memory budget
 * for all clients' buffers, a client cap that fits the open-file limit, optional password (AUTH first; tighter
 * protocol limits until then; failures throttled per connection and per source), and a timer for the store's sweep.
 * Readiness comes from epoll; the reads of all ready clients, then their writes, each go to the kernel as one
 * io_uring batch (sys/uring.h) where io_uring can be used, else as one recv/send per client.
 */
#ifndef USBD_SPOT_SERVER_H
#define USBD_SPOT_SERVER_H

#include <stdint.h>

#include "spot/config.h"
#include "spot/store.h"
#include "spot/users.h"

struct server;

/* Listens as cfg says (or not at all for "off") and serves the users' stores (`users` not owned). Returns 0 and
 * *out, or -EINVAL (bad address), -EPERM (non-loopback without a password), -errno of socket/bind/listen. Logs why. */
int server_new(const struct spot_config *cfg, struct spot_users *users, struct server **out);
/* Removes a tenant: its connections are closed first. 0 or -ENOENT (also for "default"). */
int server_del_user(struct server *srv, const char *name, size_t n);
void server_free(struct server *srv);

/* The spot capacity changed (chunks added or taken): the clients' memory budget follows it (spot/budget.h). */
void server_set_capacity(struct server *srv, uint64_t capacity);

/* The epoll fd to poll for readability. */
int server_epoll_fd(const struct server *srv);
/* Handles whatever is ready, without blocking. */
void server_run(struct server *srv);
/* Clients connected now; commands received (refused ones too), keys read commands found and did not find. */
void server_counters(const struct server *srv, uint64_t *clients, uint64_t *commands, uint64_t *hits,
		     uint64_t *misses);

#endif
