/*
 * cmd_int: what the command files share (commands.c: the table and dispatch; cmd_string.c, cmd_keyspace.c,
 * cmd_server.c: the handlers). Not a public interface: only src/spot/cmd_*.c and commands.c include it.
 */
#ifndef USBD_SPOT_CMD_INT_H
#define USBD_SPOT_CMD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "spot/commands.h"
#include "spot/resp.h"

#define ERR_INT "ERR value is not an integer or out of range"
#define ERR_FLOAT "ERR value is not a valid float"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."
#define ERR_NOAUTH "NOAUTH Authentication required."
#define ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"

struct command;

/* One request being run. */
struct call {
	struct cmd_env *env;
	struct cmd_client *cl;
	struct rbuf *out;
	size_t argc;
	const struct cmd_arg *argv;
	uint64_t now;           /* monotonic ms, the store's clock */
	const struct command *cmd;
};

enum cmd_flags {
	CMD_NOAUTH = 1,         /* allowed before AUTH */
	CMD_WRITE = 2,          /* changes its keys: touches them for WATCH */
	CMD_NOQUEUE = 4,        /* runs at once inside MULTI (MULTI, EXEC, DISCARD, WATCH, QUIT) */
	CMD_KEYSTATS = 8,       /* reads keys: each key it looks up is a hit or a miss (Redis's keyspace_hits) */
};

/* A row of the command table. Key positions as in Redis's COMMAND INFO: first, last (negative: from the end, -1 the
 * last argument) and step; first 0: no keys. */
struct command {
	const char *name;
	int arity;              /* Redis's convention: n exactly, -n at least n */
	int flags;
	int first, last, step;
	void (*fn)(struct call *c);
};

/* The keyspace the request runs in: its user's. */
static inline struct store *call_store(const struct call *c) { return c->cl->store ? c->cl->store : c->env->store; }

static inline bool arg_is(const struct cmd_arg *a, const char *s)
{
	return a->n == strlen(s) && strncasecmp(a->p, s, a->n) == 0;
}

static inline bool arg_ll(const struct cmd_arg *a, long long *v) { return resp_parse_ll(a->p, a->n, v); }

/* A length for "%.*s" that quotes at most max bytes of client input. */
static inline int clip(size_t n, size_t max) { return (int)(n < max ? n : max); }

/* The wall clock (Unix ms) at c->now, and the conversions between it and the store's monotonic expiry times. */
static inline int64_t call_unix_ms(const struct call *c) { return (int64_t)c->now + c->env->wall_offset_ms; }
/* A Unix time as a store expiry; a time before the clock's start becomes 1, which is in the past (expired). */
static inline uint64_t store_time(const struct call *c, int64_t unix_ms)
{
	return unix_ms - c->env->wall_offset_ms >= 1 ? (uint64_t)(unix_ms - c->env->wall_offset_ms) : 1;
}
static inline int64_t unix_time(const struct call *c, uint64_t at) { return (int64_t)at + c->env->wall_offset_ms; }

void wrong_args(struct call *c, const char *name);
void unknown_sub(struct call *c, const char *cmd);
void invalid_expire(struct call *c);
/* Replies to a failed store write with Redis's words. */
void store_error(struct call *c, int err);
/* A key looked up by a CMD_KEYSTATS command: counts a hit (found) or a miss. Nothing for other commands. */
static inline void keystat(struct call *c, bool found)
{
	if (!(c->cmd->flags & CMD_KEYSTATS))
		return;
	*(found ? &c->env->hits : &c->env->misses) += 1;
	if (c->env->users) {
		struct spot_user *u = &c->env->users->u[c->cl->user];

		*(found ? &u->hits : &u->misses) += 1;
	}
}
/* Looks a key's value up, wanting one of type `type` (enum store_type): 1 found, 0 missing, -1 of another type (then
 * WRONGTYPE is the reply). Counts the lookup (keystat). */
int lookup_typed(struct call *c, const struct cmd_arg *key, int type, struct store_val *v);
/* Redis's cursor text (parseScanCursorOrReply): true and *cursor set, or false and the error replied. */
bool parse_cursor(struct call *c, const struct cmd_arg *a, uint64_t *cursor);
/* Redis's string2ld and ld2string (human form) for the float increments; format_ld returns the length or -1. */
#define LD_MAX_CHARS (5 * 1024)
bool parse_ld(const char *p, size_t n, long double *v);
int format_ld(char *buf, size_t cap, long double v);
/* INCRBYFLOAT's and HINCRBYFLOAT's sum: cur + by formatted into num (LD_MAX_CHARS), or -1 with the error replied
 * (NaN or infinity, or a number too long to print). */
int float_add(struct call *c, long double cur, long double by, char *num);
/* Redis's glob (stringmatchlen): * ? [a-z] [^x] and \ escapes, binary safe; nocase folds ASCII case. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);

/* A subcommand (lower case) of a container command such as CLIENT, with its arity counted from the command. */
struct subcommand {
	const char *name;
	int arity;
	void (*fn)(struct call *c);
};
/* Runs the subcommand argv[1] names, with Redis's errors for an unknown one ("Try CLIENT HELP.": cmd is the upper
 * case name) and a wrong arity ("'client|setname' command"). */
void run_sub(struct call *c, const char *cmd, const struct subcommand *subs, size_t n);

/* Where the output stood before a reply was started, so that a write that fails after it can take it back. */
static inline size_t reply_mark(const struct rbuf *out) { return rbuf_pending(out); }
static inline void reply_rewind(struct rbuf *out, size_t mark) { out->len = out->sent + mark; }

/* The command table (commands.c) and its size, for COMMAND. */
extern const struct command cmd_table[];
extern const size_t cmd_table_len;

#define HANDLER(name) void name(struct call *c)
/* cmd_string.c */
HANDLER(cmd_get); HANDLER(cmd_set); HANDLER(cmd_setnx); HANDLER(cmd_setex); HANDLER(cmd_psetex);
HANDLER(cmd_getset); HANDLER(cmd_getdel); HANDLER(cmd_getex); HANDLER(cmd_mget); HANDLER(cmd_mset);
HANDLER(cmd_msetnx); HANDLER(cmd_incr); HANDLER(cmd_decr); HANDLER(cmd_incrby); HANDLER(cmd_decrby);
HANDLER(cmd_incrbyfloat); HANDLER(cmd_append); HANDLER(cmd_strlen); HANDLER(cmd_getrange); HANDLER(cmd_setrange);
/* cmd_keyspace.c */
HANDLER(cmd_del); HANDLER(cmd_exists); HANDLER(cmd_touch); HANDLER(cmd_type); HANDLER(cmd_rename);
HANDLER(cmd_renamenx); HANDLER(cmd_randomkey); HANDLER(cmd_keys); HANDLER(cmd_scan); HANDLER(cmd_dbsize);
HANDLER(cmd_flushall); HANDLER(cmd_expire); HANDLER(cmd_pexpire); HANDLER(cmd_expireat); HANDLER(cmd_pexpireat);
HANDLER(cmd_expiretime); HANDLER(cmd_pexpiretime); HANDLER(cmd_persist); HANDLER(cmd_ttl); HANDLER(cmd_pttl);
HANDLER(cmd_object);
/* cmd_hash.c */
HANDLER(cmd_hset); HANDLER(cmd_hmset); HANDLER(cmd_hsetnx); HANDLER(cmd_hget); HANDLER(cmd_hmget); HANDLER(cmd_hgetall); HANDLER(cmd_hkeys);
HANDLER(cmd_hvals); HANDLER(cmd_hlen); HANDLER(cmd_hexists); HANDLER(cmd_hstrlen); HANDLER(cmd_hdel);
HANDLER(cmd_hincrby); HANDLER(cmd_hincrbyfloat); HANDLER(cmd_hscan);
/* The OBJECT ENCODING of a hash value (cmd_hash.c). */
const char *hash_encoding(const struct cmd_env *e, const struct store_val *v);
/* Redis's defaults of hash-max-listpack-entries and -value. */
#define LISTPACK_MAX_ENTRIES 128
#define LISTPACK_MAX_VALUE 64
/* cmd_server.c */
HANDLER(cmd_ping); HANDLER(cmd_echo); HANDLER(cmd_select); HANDLER(cmd_auth); HANDLER(cmd_quit); HANDLER(cmd_hello);
HANDLER(cmd_client); HANDLER(cmd_info); HANDLER(cmd_time);
/* cmd_config.c */
HANDLER(cmd_config); HANDLER(cmd_memory); HANDLER(cmd_function);
/* commands.c */
HANDLER(cmd_command);
/* cmd_multi.c */
HANDLER(cmd_multi); HANDLER(cmd_exec_tx); HANDLER(cmd_discard); HANDLER(cmd_watch); HANDLER(cmd_unwatch);
/* Inside MULTI: queues the request and replies QUEUED (or refuses it, aborting the transaction). */
void multi_queue(struct call *c);
/* Marks the watchers of argv's keys (the command's key positions) dirty, after a write command. */
void watch_touch_keys(struct call *c);
/* Marks the watchers of every key that exists now dirty (FLUSHALL, before it flushes). */
void watch_touch_existing(struct call *c);
/* The table row of a command name (any case), or NULL. */
const struct command *cmd_find(const char *p, size_t n);
/* Runs one checked request (known, arity right, authenticated): the handler, and the counters. */
void cmd_run(struct call *c);
#undef HANDLER

#endif
