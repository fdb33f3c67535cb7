/*
 * server_int: what the two halves of the spot server share: struct server and struct client, and the few calls
 * between server.c (the event loop: the clients' reads, requests and writes, the timer, setup and teardown) and
 * intake.c (taking connections on, or refusing them). Not a public interface: only those two files include it.
 */
#ifndef USBD_SPOT_SERVER_INT_H
#define USBD_SPOT_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/commands.h"
#include "spot/guard.h"
#include "spot/reply.h"
#include "spot/resp.h"

/* Repeated warnings (out of fds, failed AUTHs, budget refusals) are logged at most once per this, with a count. */
#define LOG_INTERVAL_MS 5000

struct uring;

struct client {
	int fd;                 /* -1 once closed; freed at the end of server_run */
	char peer[64], local[64]; /* "ip:port" of both ends, for CLIENT LIST */
	struct guard_addr src;  /* the peer's address, for the AUTH guard */
	bool closing;           /* a protocol error was answered: flush, then close */
	uint32_t events;        /* what epoll watches for it */
	uint32_t asked;         /* bytes the last read asked for: a read that brought fewer drained the socket */
	struct resp_parser p;
	struct rbuf out;
	struct cmd_client st;
	struct client *next, **pprev;
};

/* A warning that may repeat fast: said at most once per LOG_INTERVAL_MS, with how many were not said. */
struct ratelog {
	uint64_t next_ms;
	uint64_t unsaid;
};

struct server {
	int epfd, lfd, tfd;
	int reserve_fd;         /* held so that, out of fds, one can be freed to accept and refuse a client */
	bool accept_paused;     /* out of fds without a reserve: the listener is unwatched until the next tick */
	uint64_t max_clients, max_output;
	char password[128];
	struct resp_limits lim_auth, lim_noauth;
	struct cmd_env env;
	struct spot_budget budget;
	struct auth_guard guard;
	struct ratelog log_fds, log_auth, log_budget;
	struct client *clients, *dead;
	struct cmd_arg *argv;
	size_t argv_cap;
	uint64_t next_id;
	struct uring *ring;     /* NULL: io_uring unavailable, one system call per read and per write */
	char *rx;               /* the batched first reads' buffers, READ_CHUNK per ready fd */
};

/* The listener's tag in epoll data (server.c). */
extern char listener_tag;

/* server.c */
bool ratelog_due(struct ratelog *r, uint64_t now, uint64_t *unsaid);
/* Frees a client that is closed or was never added, its memory given back to the budget. */
void client_free(struct server *srv, struct client *c);

/* intake.c */
/* max_clients, lowered to fit the open-file limit. */
uint64_t fit_clients(uint64_t max_clients);
/* (Re)opens the fd held in reserve for refusing a client when the fds run out; -1 if that failed. */
void open_reserve(struct server *srv);
/* Takes on (or refuses) what waits on the listener, up to a bound per loop turn. */
void accept_clients(struct server *srv);
/* On a timer tick: watches the listener again if running out of fds had unwatched it. */
void resume_accepting(struct server *srv);

#endif
