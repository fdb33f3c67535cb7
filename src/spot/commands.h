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

#include "spot/reply.h"
#include "spot/store.h"

struct cmd_arg {
	const char *p;
	size_t n;
};

/* Server-wide state the commands read (INFO, AUTH, HELLO). */
struct cmd_env {
	struct store *store;
	const char *password;   /* "" when none */
	int port;
	uint64_t start_ms;
	uint64_t clients, max_clients;
	uint64_t connections, rejected, commands;
};

/* One connection's state. */
struct cmd_client {
	uint64_t id;
	bool authed;
	bool quit;              /* reply, then close (QUIT) */
	char name[64];
};

/* Runs one request (argc >= 1) and appends its reply to out. `now` is clock_ms(). */
void cmd_exec(struct cmd_env *env, struct cmd_client *cl, struct rbuf *out, size_t argc, const struct cmd_arg *argv,
	      uint64_t now);

#endif
