/*
 * commands: the Redis commands spot memory answers, each a handler that reads the store and appends a RESP2
 * reply. Pure of I/O: the server hands over a parsed request and writes out what was appended.
 * Commands: PING ECHO GET SET(EX PX NX XX KEEPTTL) DEL EXISTS MGET MSET INCR DECR INCRBY DECRBY EXPIRE PEXPIRE
 * PERSIST TTL PTTL DBSIZE FLUSHALL FLUSHDB INFO SELECT AUTH QUIT HELLO COMMAND CONFIG CLIENT.
 */
#ifndef USBD_SPOT_COMMANDS_H
#define USBD_SPOT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/budget.h"
#include "spot/reply.h"
#include "spot/store.h"

struct cmd_arg {
	const char *p;
	size_t n;
};

struct cmd_client;

/* A connection may fail this many AUTHs (or HELLO AUTHs); the last one is answered, then it is closed. */
#define CMD_AUTH_MAX_FAILURES 3

/* Server-wide state the commands read (INFO, AUTH, HELLO). */
struct cmd_env {
	struct store *store;
	const char *password;   /* "" when none */
	int port;
	uint64_t start_ms;
	uint64_t clients, max_clients;
	uint64_t connections, rejected, commands;
	uint64_t auth_failures;
	const struct spot_budget *budget; /* the clients' memory (INFO); NULL: not shown */
	/* Password throttling (NULL: none): asked before a password is compared (false: refused without comparing),
	 * and told the outcome of each comparison. Called from AUTH and HELLO AUTH only. */
	bool (*auth_allowed)(void *ctx, const struct cmd_client *cl, uint64_t now);
	void (*auth_result)(void *ctx, const struct cmd_client *cl, bool ok, uint64_t now);
	void *auth_ctx;
};

/* One connection's state. */
struct cmd_client {
	uint64_t id;
	bool authed;
	bool quit;              /* reply, then close (QUIT, or too many failed AUTHs) */
	uint32_t auth_failures;
	char name[64];
};

/* Runs one request (argc >= 1) and appends its reply to out. `now` is clock_ms(). */
void cmd_exec(struct cmd_env *env, struct cmd_client *cl, struct rbuf *out, size_t argc, const struct cmd_arg *argv,
	      uint64_t now);

#endif
