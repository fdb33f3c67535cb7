/*
 * commands: the Redis commands spot memory answers, each a handler that reads the store and appends a RESP2
 * reply. Pure of I/O: the server hands over a parsed request and writes out what was appended.
 * The commands, their arities and key positions are the table in commands.c (COMMAND LIST shows it); docs/SPOT.md
 * says what each does and where it differs from Redis 7.0.
 */
#ifndef USBD_SPOT_COMMANDS_H
#define USBD_SPOT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot/budget.h"
#include "spot/reply.h"
#include "spot/resp.h"
#include "spot/store.h"
#include "spot/users.h"

struct cmd_arg {
	const char *p;
	size_t n;
};

struct cmd_client;

/* A connection may fail this many AUTHs (or HELLO AUTHs); the last one is answered, then it is closed. */
#define CMD_AUTH_MAX_FAILURES 3

/* Room for the counters of every command in the table (INFO commandstats). */
#define CMD_TABLE_MAX 96

struct cmd_stat {
	uint64_t calls, failed, rejected;
};

/* Server-wide state the commands read (INFO, AUTH, HELLO). */
struct cmd_env {
	struct store *store;    /* the default user's */
	struct spot_users *users; /* NULL: only the default user, with `password` */
	int64_t wall_offset_ms; /* Unix time minus the monotonic clock, in ms: for EXPIREAT, EXPIRETIME, TIME */
	const char *password;   /* "" when none */
	int port;
	uint64_t start_ms;
	uint64_t clients, max_clients;
	uint64_t connections, rejected, commands;
	uint64_t hits, misses;  /* keys read commands (CMD_KEYSTATS) found and did not find: INFO's keyspace_hits */
	uint64_t auth_failures;
	struct spot_budget *budget; /* the clients' memory (INFO; MULTI queues are charged to it); NULL: unlimited */
	/* Password throttling (NULL: none): asked before a password is compared (false: refused without comparing),
	 * and told the outcome of each comparison. Called from AUTH and HELLO AUTH only. */
	bool (*auth_allowed)(void *ctx, const struct cmd_client *cl, uint64_t now);
	void (*auth_result)(void *ctx, const struct cmd_client *cl, bool ok, uint64_t now);
	void *auth_ctx;
	struct cmd_stat stats[CMD_TABLE_MAX]; /* per command of the table, in its order */
	/* CONFIG SET hash-max-listpack-entries / -value (OBJECT ENCODING of a hash); unset: Redis's 128 and 64. */
	bool hash_limits_set;
	uint64_t hash_max_entries, hash_max_value;
	struct cmd_client *watchers; /* clients with WATCHed keys */
	uint64_t watch_filter[16]; /* a bit per watched key's hash (cleared when nobody watches): most writes skip the
				    * walk over the watchers */
	/* The server's connections, for CLIENT LIST and KILL (NULL: only the caller's own is known): the one after prev
	 * (NULL: the first), a description of its socket ("addr=.. laddr=.. fd=..") in buf, and closing one. */
	struct cmd_client *(*client_next)(void *ctx, struct cmd_client *prev);
	void (*client_socket)(void *ctx, const struct cmd_client *cl, char *buf, size_t cap);
	void (*client_kill)(void *ctx, struct cmd_client *cl);
	void *client_ctx;
};

/* A WATCHed key: a copy of its name, and whether it existed then. */
struct cmd_watch {
	char *key;
	size_t n;
	bool existed;
};

/* One connection's state. */
struct cmd_client {
	uint64_t id;
	bool authed;
	int user;               /* index in env->users (0: default) */
	struct store *store;    /* the user's keyspace; NULL: env->store */
	bool quit;              /* reply, then close (QUIT, or too many failed AUTHs) */
	uint32_t auth_failures;
	char name[64];
	uint64_t created_ms, last_ms;   /* for CLIENT LIST's age and idle */
	const char *last_cmd;           /* the last command's name (CLIENT LIST's cmd), NULL before one */
	/* MULTI: the queued requests, each "<u32 argc>" then "<u32 length><bytes>" per argument, charged to the
	 * budget. */
	bool in_multi, multi_abort;
	char *queue;
	size_t queue_len, queue_cap;
	uint32_t queued;
	/* WATCH: the keys, and whether a write touched one (then EXEC fails). */
	struct cmd_watch *watch;
	size_t nwatch;
	bool watch_dirty;
	struct cmd_client *next_watcher, **pprev_watcher;
};

/* Frees what a connection's MULTI and WATCH hold; call when it closes. */
void cmd_client_free(struct cmd_env *env, struct cmd_client *cl);

/* The key positions of a command (resp_keyspec_fn, for prefetching): true and *ks set when it has keys. */
bool cmd_key_spec(const char *name, size_t n, struct resp_keyspec *ks);

/* Runs one request (argc >= 1) and appends its reply to out. `now` is clock_ms(). */
void cmd_exec(struct cmd_env *env, struct cmd_client *cl, struct rbuf *out, size_t argc, const struct cmd_arg *argv,
	      uint64_t now);

#endif
