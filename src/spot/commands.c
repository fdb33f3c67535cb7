#include "spot/commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/inline.h"
#include "spot/cmd_int.h"

/* name, arity, flags, first key, last key, key step, handler: Redis 7.0's values. */
const struct command cmd_table[] = {
	{ "get", 2, CMD_KEYSTATS, 1, 1, 1, cmd_get },
	{ "set", -3, CMD_WRITE, 1, 1, 1, cmd_set },
	{ "setnx", 3, CMD_WRITE, 1, 1, 1, cmd_setnx },
	{ "setex", 4, CMD_WRITE, 1, 1, 1, cmd_setex },
	{ "psetex", 4, CMD_WRITE, 1, 1, 1, cmd_psetex },
	{ "getset", 3, CMD_WRITE | CMD_KEYSTATS, 1, 1, 1, cmd_getset },
	{ "getdel", 2, CMD_WRITE | CMD_KEYSTATS, 1, 1, 1, cmd_getdel },
	{ "getex", -2, CMD_WRITE | CMD_KEYSTATS, 1, 1, 1, cmd_getex },
	{ "mget", -2, CMD_KEYSTATS, 1, -1, 1, cmd_mget },
	{ "mset", -3, CMD_WRITE, 1, -1, 2, cmd_mset },
	{ "msetnx", -3, CMD_WRITE, 1, -1, 2, cmd_msetnx },
	{ "incr", 2, CMD_WRITE, 1, 1, 1, cmd_incr },
	{ "decr", 2, CMD_WRITE, 1, 1, 1, cmd_decr },
	{ "incrby", 3, CMD_WRITE, 1, 1, 1, cmd_incrby },
	{ "decrby", 3, CMD_WRITE, 1, 1, 1, cmd_decrby },
	{ "incrbyfloat", 3, CMD_WRITE, 1, 1, 1, cmd_incrbyfloat },
	{ "append", 3, CMD_WRITE, 1, 1, 1, cmd_append },
	{ "strlen", 2, CMD_KEYSTATS, 1, 1, 1, cmd_strlen },
	{ "getrange", 4, CMD_KEYSTATS, 1, 1, 1, cmd_getrange },
	{ "substr", 4, CMD_KEYSTATS, 1, 1, 1, cmd_getrange },
	{ "setrange", 4, CMD_WRITE, 1, 1, 1, cmd_setrange },
	{ "del", -2, CMD_WRITE, 1, -1, 1, cmd_del },
	{ "unlink", -2, CMD_WRITE, 1, -1, 1, cmd_del },
	{ "exists", -2, CMD_KEYSTATS, 1, -1, 1, cmd_exists },
	{ "touch", -2, 0, 1, -1, 1, cmd_touch },
	{ "type", 2, CMD_KEYSTATS, 1, 1, 1, cmd_type },
	{ "rename", 3, CMD_WRITE, 1, 2, 1, cmd_rename },
	{ "renamenx", 3, CMD_WRITE, 1, 2, 1, cmd_renamenx },
	{ "randomkey", 1, 0, 0, 0, 0, cmd_randomkey },
	{ "keys", 2, 0, 0, 0, 0, cmd_keys },
	{ "scan", -2, 0, 0, 0, 0, cmd_scan },
	{ "dbsize", 1, 0, 0, 0, 0, cmd_dbsize },
	{ "flushall", -1, 0, 0, 0, 0, cmd_flushall },
	{ "flushdb", -1, 0, 0, 0, 0, cmd_flushall },
	{ "expire", -3, CMD_WRITE, 1, 1, 1, cmd_expire },
	{ "pexpire", -3, CMD_WRITE, 1, 1, 1, cmd_pexpire },
	{ "expireat", -3, CMD_WRITE, 1, 1, 1, cmd_expireat },
	{ "pexpireat", -3, CMD_WRITE, 1, 1, 1, cmd_pexpireat },
	{ "expiretime", 2, CMD_KEYSTATS, 1, 1, 1, cmd_expiretime },
	{ "pexpiretime", 2, CMD_KEYSTATS, 1, 1, 1, cmd_pexpiretime },
	{ "persist", 2, CMD_WRITE, 1, 1, 1, cmd_persist },
	{ "ttl", 2, CMD_KEYSTATS, 1, 1, 1, cmd_ttl },
	{ "pttl", 2, CMD_KEYSTATS, 1, 1, 1, cmd_pttl },
	{ "object", -2, 0, 2, 2, 1, cmd_object },
	{ "hset", -4, CMD_WRITE, 1, 1, 1, cmd_hset },
	{ "hmset", -4, CMD_WRITE, 1, 1, 1, cmd_hmset },
	{ "hsetnx", 4, CMD_WRITE, 1, 1, 1, cmd_hsetnx },
	{ "hget", 3, CMD_KEYSTATS, 1, 1, 1, cmd_hget },
	{ "hmget", -3, CMD_KEYSTATS, 1, 1, 1, cmd_hmget },
	{ "hgetall", 2, CMD_KEYSTATS, 1, 1, 1, cmd_hgetall },
	{ "hkeys", 2, CMD_KEYSTATS, 1, 1, 1, cmd_hkeys },
	{ "hvals", 2, CMD_KEYSTATS, 1, 1, 1, cmd_hvals },
	{ "hlen", 2, CMD_KEYSTATS, 1, 1, 1, cmd_hlen },
	{ "hexists", 3, CMD_KEYSTATS, 1, 1, 1, cmd_hexists },
	{ "hstrlen", 3, CMD_KEYSTATS, 1, 1, 1, cmd_hstrlen },
	{ "hdel", -3, CMD_WRITE, 1, 1, 1, cmd_hdel },
	{ "hincrby", 4, CMD_WRITE, 1, 1, 1, cmd_hincrby },
	{ "hincrbyfloat", 4, CMD_WRITE, 1, 1, 1, cmd_hincrbyfloat },
	{ "hscan", -3, 0, 1, 1, 1, cmd_hscan },
	{ "ping", -1, 0, 0, 0, 0, cmd_ping },
	{ "echo", 2, 0, 0, 0, 0, cmd_echo },
	{ "select", 2, 0, 0, 0, 0, cmd_select },
	{ "auth", -2, CMD_NOAUTH, 0, 0, 0, cmd_auth },
	{ "quit", -1, CMD_NOAUTH | CMD_NOQUEUE, 0, 0, 0, cmd_quit },
	{ "hello", -1, CMD_NOAUTH, 0, 0, 0, cmd_hello },
	{ "client", -2, 0, 0, 0, 0, cmd_client },
	{ "config", -2, 0, 0, 0, 0, cmd_config },
	{ "memory", -2, 0, 0, 0, 0, cmd_memory },
	{ "function", -2, 0, 0, 0, 0, cmd_function },
	{ "info", -1, 0, 0, 0, 0, cmd_info },
	{ "time", 1, 0, 0, 0, 0, cmd_time },
	{ "command", -1, 0, 0, 0, 0, cmd_command },
	{ "multi", 1, CMD_NOQUEUE, 0, 0, 0, cmd_multi },
	{ "exec", 1, CMD_NOQUEUE, 0, 0, 0, cmd_exec_tx },
	{ "discard", 1, CMD_NOQUEUE, 0, 0, 0, cmd_discard },
	{ "watch", -2, CMD_NOQUEUE, 1, -1, 1, cmd_watch },
	{ "unwatch", 1, 0, 0, 0, 0, cmd_unwatch },
};
const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);
_Static_assert(sizeof(cmd_table) / sizeof(cmd_table[0]) <= CMD_TABLE_MAX, "CMD_TABLE_MAX too small");

/*
 * Name lookup: an open-addressed hash of the names, built on first use. Every request looks its command up (twice:
 * the prefetch and the run), so a name is read as two 8-byte words, A-Z folded to a-z in both at once, hashed with
 * two multiplications and compared as two words and a length: no loop over its bytes.
 */
#define LOOKUP_SLOTS 256u
#define NAME_MAX_LEN 16u
static struct lookup_slot {
	uint64_t w[2];
	uint8_t len;
	uint8_t cmd; /* table index + 1; 0: empty */
} lookup[LOOKUP_SLOTS];
static bool lookup_built;

#define BYTES(b) (0x0101010101010101ull * (b))
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "name_words reads names as little-endian words");

/* p[0..n), 0 < n <= NAME_MAX_LEN, as two little-endian words, zero padded, its bytes A-Z folded to a-z, the others
 * as they are: per byte of the low seven bits, +0x3f carries into the top bit from 'A' up and +0x25 from past 'Z'. */
static INLINE void name_words(const char *p, size_t n, uint64_t w[2])
{
	const unsigned char *b = (const unsigned char *)p;
	uint32_t lo, hi;

	/* Loads of the first and the last bytes, overlapping where n is not a whole load: no byte read twice differs. */
	w[1] = 0;
	if (n >= 8) {
		memcpy(&w[0], p, 8);
		memcpy(&w[1], p + n - 8, 8);
		w[1] = n == 8 ? 0 : w[1] >> (8 * (16 - n));
	} else if (n >= 4) {
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		w[0] = lo | (uint64_t)hi << (8 * (n - 4));
	} else {
		w[0] = b[0] | (uint64_t)b[n / 2] << (8 * (n / 2)) | (uint64_t)b[n - 1] << (8 * (n - 1));
	}
	for (int k = 0; k < 2; k++) {
		uint64_t low7 = w[k] & BYTES(0x7f);
		uint64_t upper = (low7 + BYTES(0x3f)) & ~(low7 + BYTES(0x25)) & ~w[k] & BYTES(0x80);

		w[k] |= upper >> 2;
	}
}

static uint32_t name_hash(const uint64_t w[2], size_t n)
{
	return (uint32_t)((w[0] * 0x9e3779b97f4a7c15ull ^ w[1] * 0xc2b2ae3d27d4eb4full ^ n) >> 40);
}

static void build_lookup(void)
{
	_Static_assert(sizeof(cmd_table) / sizeof(cmd_table[0]) < LOOKUP_SLOTS / 2, "lookup table too full");
	for (size_t i = 0; i < cmd_table_len; i++) {
		size_t n = strlen(cmd_table[i].name);
		uint64_t w[2];
		uint32_t h;

		name_words(cmd_table[i].name, n, w); /* the names are lower case: unchanged */
		for (h = name_hash(w, n); lookup[h % LOOKUP_SLOTS].cmd; h++)
			;
		lookup[h % LOOKUP_SLOTS].w[0] = w[0];
		lookup[h % LOOKUP_SLOTS].w[1] = w[1];
		lookup[h % LOOKUP_SLOTS].len = (uint8_t)n;
		lookup[h % LOOKUP_SLOTS].cmd = (uint8_t)(i + 1);
	}
	lookup_built = true;
}

const struct command *cmd_find(const char *p, size_t n)
{
	uint64_t w[2];
	uint32_t h;

	if (!lookup_built)
		build_lookup();
	if (n == 0 || n > NAME_MAX_LEN)
		return NULL;
	name_words(p, n, w);
	for (h = name_hash(w, n); lookup[h % LOOKUP_SLOTS].cmd; h++) {
		const struct lookup_slot *e = &lookup[h % LOOKUP_SLOTS];

		if (e->w[0] == w[0] && e->w[1] == w[1] && e->len == n)
			return &cmd_table[e->cmd - 1];
	}
	return NULL;
}

bool cmd_key_spec(const char *name, size_t n, struct resp_keyspec *ks)
{
	const struct command *cmd = cmd_find(name, n);

	if (!cmd || !cmd->first)
		return false;
	*ks = (struct resp_keyspec){ cmd->first, cmd->last, cmd->step };
	return true;
}

void wrong_args(struct call *c, const char *name)
{
	rbuf_error(c->out, "ERR wrong number of arguments for '%s' command", name);
}

void unknown_sub(struct call *c, const char *cmd)
{
	rbuf_error(c->out, "ERR unknown subcommand '%.*s'. Try %s HELP.", clip(c->argv[1].n, 128), c->argv[1].p, cmd);
}

void run_sub(struct call *c, const char *cmd, const struct subcommand *subs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct subcommand *sub = &subs[i];

		if (!arg_is(&c->argv[1], sub->name))
			continue;
		if ((sub->arity > 0 && c->argc != (size_t)sub->arity) ||
		    (sub->arity < 0 && c->argc < (size_t)-sub->arity))
			rbuf_error(c->out, "ERR wrong number of arguments for '%s|%s' command", c->cmd->name, sub->name);
		else
			sub->fn(c);
		return;
	}
	unknown_sub(c, cmd);
}

int lookup_typed(struct call *c, const struct cmd_arg *key, int type, struct store_val *v)
{
	bool found = store_get(call_store(c), key->p, key->n, c->now, v) == 0;

	keystat(c, found);
	if (!found)
		return 0;
	if (v->type == type)
		return 1;
	rbuf_error(c->out, ERR_WRONGTYPE);
	return -1;
}

bool parse_cursor(struct call *c, const struct cmd_arg *a, uint64_t *cursor)
{
	char num[24], *end;

	/* What strtoul reads whole, without leading space: "" is 0 and "-1" wraps, as in Redis. */
	if (a->n >= sizeof(num) || (a->n && (a->p[0] == ' ' || (a->p[0] >= '\t' && a->p[0] <= '\r')))) {
		rbuf_error(c->out, "ERR invalid cursor");
		return false;
	}
	memcpy(num, a->p, a->n);
	num[a->n] = '\0';
	errno = 0;
	*cursor = strtoull(num, &end, 10);
	if (*end || errno) {
		rbuf_error(c->out, "ERR invalid cursor");
		return false;
	}
	return true;
}

void invalid_expire(struct call *c)
{
	rbuf_error(c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
}

void store_error(struct call *c, int err)
{
	if (err == -E2BIG)
		rbuf_error(c->out, "ERR value too large for spot memory (at most %zu bytes of key and value)",
			   store_max_value(call_store(c), 0));
	else
		rbuf_error(c->out, "%s", ERR_OOM);
}

static char fold(char ch, bool nocase) { return nocase && ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch; }

/* One [...] class at pat (after the '['): whether ch is in it; *used is how many pattern bytes it took. */
static bool class_match(const char *pat, size_t plen, char ch, bool nocase, size_t *used)
{
	size_t i = 0;
	bool neg = false, match = false;

	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	for (; i < plen && pat[i] != ']'; i++) {
		if (pat[i] == '\\' && i + 1 < plen) {
			match |= fold(pat[++i], nocase) == fold(ch, nocase);
		} else if (i + 2 < plen && pat[i + 1] == '-') {
			char lo = fold(pat[i], nocase), hi = fold(pat[i + 2], nocase), x = fold(ch, nocase);

			if (lo > hi) {
				char t = lo;

				lo = hi;
				hi = t;
			}
			match |= x >= lo && x <= hi;
			i += 2;
		} else {
			match |= fold(pat[i], nocase) == fold(ch, nocase);
		}
	}
	*used = i < plen ? i + 1 : i; /* past the ']'; an unclosed class ends with the pattern, as in Redis */
	return neg ? !match : match;
}

/* skip_longer: set once a '*' failed against the whole rest of the string, after which a longer start can only fail
 * too; it keeps patterns like "*a*a*a*b" linear per star instead of exponential (Redis 7.0's guard). */
static bool glob_impl(const char *pat, size_t plen, const char *s, size_t slen, bool nocase, bool *skip_longer)
{
	while (plen) {
		size_t used;

		switch (pat[0]) {
		case '*':
			while (plen > 1 && pat[1] == '*') {
				pat++;
				plen--;
			}
			if (plen == 1)
				return true;
			for (; slen; s++, slen--) {
				if (glob_impl(pat + 1, plen - 1, s, slen, nocase, skip_longer))
					return true;
				if (*skip_longer)
					return false;
			}
			*skip_longer = true;
			return false;
		case '?':
			if (!slen)
				return false;
			s++;
			slen--;
			break;
		case '[':
			if (!slen || !class_match(pat + 1, plen - 1, s[0], nocase, &used))
				return false;
			pat += used;
			plen -= used;
			s++;
			slen--;
			break;
		case '\\':
			if (plen >= 2) {
				pat++;
				plen--;
			}
			/* fall through */
		default:
			if (!slen || fold(pat[0], nocase) != fold(s[0], nocase))
				return false;
			s++;
			slen--;
			break;
		}
		pat++;
		plen--;
		if (!slen) {
			while (plen && pat[0] == '*') {
				pat++;
				plen--;
			}
			break;
		}
	}
	return plen == 0 && slen == 0;
}

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
	bool skip_longer = false;

	return glob_impl(pat, plen, s, slen, nocase, &skip_longer);
}

void cmd_command(struct call *c)
{
	if (c->argc == 1 || arg_is(&c->argv[1], "DOCS")) {
		rbuf_array(c->out, 0);
	} else if (arg_is(&c->argv[1], "COUNT") && c->argc == 2) {
		rbuf_int(c->out, (long long)cmd_table_len);
	} else if (arg_is(&c->argv[1], "LIST") && c->argc == 2) {
		rbuf_array(c->out, (long long)cmd_table_len);
		for (size_t i = 0; i < cmd_table_len; i++)
			rbuf_bulk_str(c->out, cmd_table[i].name);
	} else if (arg_is(&c->argv[1], "INFO")) {
		/* Name, arity, flags (none told), first key, last key, step: the start of Redis's reply. */
		rbuf_array(c->out, (long long)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			const struct command *cmd = cmd_find(c->argv[i].p, c->argv[i].n);

			if (!cmd) {
				rbuf_nil(c->out);
				continue;
			}
			rbuf_array(c->out, 6);
			rbuf_bulk_str(c->out, cmd->name);
			rbuf_int(c->out, cmd->arity);
			rbuf_array(c->out, 0);
			rbuf_int(c->out, cmd->first);
			rbuf_int(c->out, cmd->last);
			rbuf_int(c->out, cmd->step);
		}
	} else {
		unknown_sub(c, "COMMAND");
	}
}

static void unknown_command(struct call *c)
{
	char args[160];
	size_t len = 0;

	args[0] = '\0';
	for (size_t i = 1; i < c->argc && len < 128; i++) {
		const struct cmd_arg *a = &c->argv[i];
		int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ", clip(a->n, 128 - len), a->p);

		if (n > 0)
			len = len + (size_t)n < sizeof(args) ? len + (size_t)n : sizeof(args) - 1;
	}
	rbuf_error(c->out, "ERR unknown command '%.*s', with args beginning with: %s", clip(c->argv[0].n, 128),
		   c->argv[0].p, args);
}

void cmd_run(struct call *c)
{
	struct cmd_stat *st = &c->env->stats[c->cmd - cmd_table];
	size_t mark = reply_mark(c->out);
	uint64_t writes = store_writes(call_store(c));

	c->cmd->fn(c);
	st->calls++;
	st->failed += rbuf_pending(c->out) > mark && c->out->data[c->out->sent + mark] == '-';
	/* A write command that changed something touches its keys for WATCH. */
	if ((c->cmd->flags & CMD_WRITE) && c->env->watchers && store_writes(call_store(c)) != writes)
		watch_touch_keys(c);
}

/* Redis's order: an unknown command, then a wrong arity, then a missing AUTH; inside MULTI the first two abort the
 * transaction, and what passes them is queued. */
void cmd_exec(struct cmd_env *env, struct cmd_client *cl, struct rbuf *out, size_t argc, const struct cmd_arg *argv,
	      uint64_t now)
{
	struct call c = { .env = env, .cl = cl, .out = out, .argc = argc, .argv = argv, .now = now };
	const struct command *cmd = cmd_find(argv[0].p, argv[0].n);

	env->commands++;
	if (env->users)
		env->users->u[cl->user].commands++;
	cl->last_ms = now;
	if (!cmd) {
		cl->multi_abort |= cl->in_multi;
		unknown_command(&c);
		return;
	}
	c.cmd = cmd;
	cl->last_cmd = cmd->name;
	if ((cmd->arity > 0 && argc != (size_t)cmd->arity) || (cmd->arity < 0 && argc < (size_t)-cmd->arity)) {
		env->stats[cmd - cmd_table].rejected++;
		cl->multi_abort |= cl->in_multi;
		wrong_args(&c, cmd->name);
		return;
	}
	if (!cl->authed && env->password[0] && !(cmd->flags & CMD_NOAUTH)) {
		env->stats[cmd - cmd_table].rejected++;
		rbuf_error(out, ERR_NOAUTH);
		return;
	}
	if (cl->in_multi && !(cmd->flags & CMD_NOQUEUE))
		multi_queue(&c);
	else
		cmd_run(&c);
}
