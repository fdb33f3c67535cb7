/* The connection and server commands: PING ECHO SELECT AUTH QUIT HELLO CLIENT CONFIG INFO TIME. */
#include <inttypes.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "spot/cmd_int.h"

void cmd_ping(struct call *c)
{
	if (c->argc > 2)
		wrong_args(c, "ping");
	else if (c->argc == 2)
		rbuf_bulk(c->out, c->argv[1].p, c->argv[1].n);
	else
		rbuf_status(c->out, "PONG");
}

void cmd_echo(struct call *c) { rbuf_bulk(c->out, c->argv[1].p, c->argv[1].n); }

void cmd_select(struct call *c)
{
	long long db;

	if (!arg_ll(&c->argv[1], &db))
		rbuf_error(c->out, ERR_INT);
	else if (db != 0)
		rbuf_error(c->out, "ERR DB index is out of range");
	else
		rbuf_status(c->out, "OK");
}

/*
 * The user a password logs in as: its index in env->users (0: default), or -1. Without users (env->users NULL) the
 * one user is "default" with env->password. A missing user means default. The default user without a password takes
 * any password, as Redis's nopass default user does. The comparison reads every byte whatever the first difference,
 * and an unknown user costs a comparison too, so the time taken reveals neither a prefix nor which names exist.
 */
static int check_password(struct call *c, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	const struct spot_users *us = c->env->users;
	const char *pw = c->env->password;
	unsigned char diff = 0;
	int idx;

	if (us) {
		idx = user ? users_find(us, user->p, user->n) : 0;
		if (idx < 0) {
			(void)users_password_ok(us, 0, pass->p, pass->n);
			return -1;
		}
		return users_password_ok(us, idx, pass->p, pass->n) ? idx : -1;
	}
	if (user && !arg_is(user, "default"))
		return -1;
	if (!pw[0])
		return 0;
	if (pass->n != strlen(pw))
		return -1;
	for (size_t i = 0; i < pass->n; i++)
		diff |= (unsigned char)(pass->p[i] ^ pw[i]);
	return diff == 0 ? 0 : -1;
}

/* The connection is now user idx's: its keyspace from the next request on. */
static void log_in(struct call *c, int idx)
{
	struct spot_users *us = c->env->users;

	c->cl->authed = true;
	if (!us)
		return;
	us->u[c->cl->user].clients--;
	us->u[idx].clients++;
	c->cl->user = idx;
	c->cl->store = us->u[idx].store;
}

/*
 * Checks a password, as throttled: refused without comparing while the source is backed off; every failure counts
 * against the connection, which is closed after CMD_AUTH_MAX_FAILURES. True on success; on failure the error is
 * already the reply.
 */
static bool try_password(struct call *c, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	struct cmd_env *e = c->env;
	bool ok = false;
	int idx = -1;

	if (e->auth_allowed && !e->auth_allowed(e->auth_ctx, c->cl, c->now)) {
		rbuf_error(c->out, "ERR too many failed AUTH attempts from this address; try again later");
	} else {
		idx = check_password(c, user, pass);
		ok = idx >= 0;
		if (e->auth_result)
			e->auth_result(e->auth_ctx, c->cl, ok, c->now);
		if (!ok)
			rbuf_error(c->out, ERR_WRONGPASS);
	}
	if (ok) {
		log_in(c, idx);
		return true;
	}
	e->auth_failures++;
	if (++c->cl->auth_failures >= CMD_AUTH_MAX_FAILURES)
		c->cl->quit = true;
	return false;
}

void cmd_auth(struct call *c)
{
	if (c->argc > 3) {
		rbuf_error(c->out, ERR_SYNTAX);
		return;
	}
	if (c->argc == 2 && !c->env->password[0]) {
		rbuf_error(c->out, "ERR AUTH <password> called without any password configured for the default user. "
			   "Are you sure your configuration is correct?");
		return;
	}
	if (try_password(c, c->argc == 3 ? &c->argv[1] : NULL, &c->argv[c->argc - 1]))
		rbuf_status(c->out, "OK");
}

void cmd_quit(struct call *c)
{
	c->cl->quit = true;
	rbuf_status(c->out, "OK");
}

static bool valid_name(const struct cmd_arg *a)
{
	if (a->n >= sizeof(((struct cmd_client *)0)->name))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] <= ' ' || a->p[i] > '~')
			return false;
	return true;
}

/* Sets the connection's name; false, and the error replied, when it is not a valid one. */
static bool set_name(struct call *c, const struct cmd_arg *a)
{
	if (!valid_name(a)) {
		rbuf_error(c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
		return false;
	}
	memcpy(c->cl->name, a->p, a->n);
	c->cl->name[a->n] = '\0';
	return true;
}

void cmd_hello(struct call *c)
{
	const struct cmd_arg *user = NULL, *pass = NULL, *name = NULL;
	long long ver = 2;

	if (c->argc >= 2 && (!arg_ll(&c->argv[1], &ver) || ver < 0 || ver > INT_MAX)) {
		rbuf_error(c->out, "ERR Protocol version is not an integer or out of range");
		return;
	}
	for (size_t i = 2; i < c->argc; i++) {
		if (arg_is(&c->argv[i], "AUTH") && i + 2 < c->argc) {
			user = &c->argv[i + 1];
			pass = &c->argv[i + 2];
			i += 2;
		} else if (arg_is(&c->argv[i], "SETNAME") && i + 1 < c->argc) {
			name = &c->argv[++i];
		} else {
			rbuf_error(c->out, "ERR Syntax error in HELLO option '%.*s'", clip(c->argv[i].n, 64),
				   c->argv[i].p);
			return;
		}
	}
	if (ver != 2) {
		rbuf_error(c->out, "NOPROTO unsupported protocol version");
		return;
	}
	if (pass) {
		if (!try_password(c, user, pass))
			return;
	}
	if (!c->cl->authed) {
		rbuf_error(c->out, "NOAUTH HELLO must be called with the client already authenticated, otherwise "
			   "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
			   "select the RESP protocol version at the same time");
		return;
	}
	if (name && !set_name(c, name))
		return;
	/* RESP2 has no map type: the map is sent as a flat array of alternating fields and values. */
	rbuf_array(c->out, 14);
	rbuf_bulk_str(c->out, "server");
	rbuf_bulk_str(c->out, "redis");
	rbuf_bulk_str(c->out, "version");
	rbuf_bulk_str(c->out, "7.0.0");
	rbuf_bulk_str(c->out, "proto");
	rbuf_int(c->out, 2);
	rbuf_bulk_str(c->out, "id");
	rbuf_int(c->out, (long long)c->cl->id);
	rbuf_bulk_str(c->out, "mode");
	rbuf_bulk_str(c->out, "standalone");
	rbuf_bulk_str(c->out, "role");
	rbuf_bulk_str(c->out, "master");
	rbuf_bulk_str(c->out, "modules");
	rbuf_array(c->out, 0);
}

static void client_setname(struct call *c)
{
	if (set_name(c, &c->argv[2]))
		rbuf_status(c->out, "OK");
}

static void client_getname(struct call *c)
{
	if (c->cl->name[0])
		rbuf_bulk_str(c->out, c->cl->name);
	else
		rbuf_nil(c->out);
}

static void client_setinfo(struct call *c) { rbuf_status(c->out, "OK"); }
static void client_id(struct call *c) { rbuf_int(c->out, (long long)c->cl->id); }

/* The name of the caller's user. */
static const char *user_name(const struct call *c)
{
	return c->env->users ? c->env->users->u[c->cl->user].name : "default";
}

/* A growing text for CLIENT LIST (one line per client; not a hot path). */
struct text {
	char *p;
	size_t n, cap;
	bool failed;
};

/* Appends CLIENT LIST's line for cl: Redis's fields, those spot memory has. */
static void client_line(struct call *c, const struct cmd_client *cl, struct text *t)
{
	char sock[160], line[512];
	int n;

	if (c->env->client_socket)
		c->env->client_socket(c->env->client_ctx, cl, sock, sizeof(sock));
	else
		snprintf(sock, sizeof(sock), "addr=? laddr=? fd=-1");
	n = snprintf(line, sizeof(line),
		     "id=%" PRIu64 " %s name=%s age=%" PRIu64 " idle=%" PRIu64 " flags=%s db=0 sub=0 psub=0 ssub=0 "
		     "multi=%ld watch=%zu cmd=%s user=%s redir=-1 resp=2\n",
		     cl->id, sock, cl->name, (c->now - cl->created_ms) / 1000, (c->now - cl->last_ms) / 1000,
		     cl->in_multi ? "x" : "N", cl->in_multi ? (long)cl->queued : -1L, cl->nwatch,
		     cl->last_cmd ? cl->last_cmd : "NULL", user_name(c));
	if (n < 0 || t->failed)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (t->n + (size_t)n > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *np = realloc(t->p, cap > t->n + (size_t)n ? cap : t->n + (size_t)n);

		if (!np) {
			t->failed = true;
			return;
		}
		t->p = np;
		t->cap = cap > t->n + (size_t)n ? cap : t->n + (size_t)n;
	}
	memcpy(t->p + t->n, line, (size_t)n);
	t->n += (size_t)n;
}

static void reply_text(struct call *c, struct text *t)
{
	if (t->failed)
		rbuf_error(c->out, "%s", ERR_OOM);
	else
		rbuf_bulk(c->out, t->p ? t->p : "", t->n);
	free(t->p);
}

static void client_info(struct call *c)
{
	struct text t = { NULL, 0, 0, false };

	client_line(c, c->cl, &t);
	reply_text(c, &t);
}

/* The clients in turn: the server's logged in as the caller's user (a tenant neither sees nor kills another's), or
 * only the caller when the server offers no list. */
static struct cmd_client *next_client(struct call *c, struct cmd_client *prev)
{
	if (!c->env->client_next)
		return prev ? NULL : c->cl;
	do
		prev = c->env->client_next(c->env->client_ctx, prev);
	while (prev && prev->user != c->cl->user);
	return prev;
}


/* CLIENT LIST [TYPE normal] [ID id ...] */
static void client_list(struct call *c)
{
	struct text t = { NULL, 0, 0, false };
	size_t ids = 0;

	if (c->argc > 2) {
		long long id;

		if (arg_is(&c->argv[2], "TYPE") && c->argc == 4) {
			if (!arg_is(&c->argv[3], "normal")) {
				rbuf_error(c->out, "ERR Unknown client type '%.*s'", clip(c->argv[3].n, 64), c->argv[3].p);
				return;
			}
		} else if (arg_is(&c->argv[2], "ID") && c->argc > 3) {
			for (size_t i = 3; i < c->argc; i++)
				if (!arg_ll(&c->argv[i], &id) || id <= 0) {
					rbuf_error(c->out, "ERR Invalid client ID");
					return;
				}
			ids = 3;
		} else {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		}
	}
	for (struct cmd_client *cl = next_client(c, NULL); cl; cl = next_client(c, cl)) {
		bool want = !ids;

		for (size_t i = ids; ids && i < c->argc && !want; i++) {
			long long id;

			want = arg_ll(&c->argv[i], &id) && (uint64_t)id == cl->id;
		}
		if (want)
			client_line(c, cl, &t);
	}
	reply_text(c, &t);
}

/* The filters of CLIENT KILL's new form. */
struct kill_filter {
	long long id;                   /* 0: any */
	const struct cmd_arg *addr, *laddr;
	bool skipme;
};

static bool kill_matches(struct call *c, const struct cmd_client *cl, const struct kill_filter *f)
{
	char sock[160], want[80];

	if ((f->id && (uint64_t)f->id != cl->id) || (f->skipme && cl == c->cl))
		return false;
	if (!f->addr && !f->laddr)
		return true;
	if (!c->env->client_socket)
		return false;
	c->env->client_socket(c->env->client_ctx, cl, sock, sizeof(sock));
	if (f->addr) {
		snprintf(want, sizeof(want), "addr=%.*s ", clip(f->addr->n, 64), f->addr->p);
		if (strncmp(sock, want, strlen(want)) != 0)
			return false;
	}
	if (f->laddr) {
		snprintf(want, sizeof(want), " laddr=%.*s ", clip(f->laddr->n, 64), f->laddr->p);
		if (!strstr(sock, want))
			return false;
	}
	return true;
}

/* Closes the clients the filter matches (others at once, the caller after its reply); returns how many. */
static long long kill_clients(struct call *c, const struct kill_filter *f)
{
	long long n = 0;
	struct cmd_client *cl = next_client(c, NULL);

	while (cl) {
		struct cmd_client *next = next_client(c, cl);

		if (kill_matches(c, cl, f)) {
			if (c->env->client_kill)
				c->env->client_kill(c->env->client_ctx, cl);
			else
				cl->quit = true;
			n++;
		}
		cl = next;
	}
	return n;
}

/* CLIENT KILL ip:port (+OK, or "No such client"), or CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port]
 * [USER default] [SKIPME yes|no] (the number closed). */
static void client_kill(struct call *c)
{
	struct kill_filter f = { 0, NULL, NULL, true };

	if (c->argc == 3) {
		f.addr = &c->argv[2];
		f.skipme = false;
		if (kill_clients(c, &f))
			rbuf_status(c->out, "OK");
		else
			rbuf_error(c->out, "ERR No such client");
		return;
	}
	for (size_t i = 2; i < c->argc; i += 2) {
		const struct cmd_arg *a = &c->argv[i], *v = &c->argv[i + 1];

		if (i + 1 == c->argc) {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		} else if (arg_is(a, "ID")) {
			if (!arg_ll(v, &f.id) || f.id <= 0) {
				rbuf_error(c->out, "ERR client-id should be greater than 0");
				return;
			}
		} else if (arg_is(a, "ADDR")) {
			f.addr = v;
		} else if (arg_is(a, "LADDR")) {
			f.laddr = v;
		} else if (arg_is(a, "USER")) {
			if (!arg_is(v, user_name(c))) {
				rbuf_error(c->out, "ERR No such user '%.*s'", clip(v->n, 64), v->p);
				return;
			}
		} else if (arg_is(a, "SKIPME") && (arg_is(v, "yes") || arg_is(v, "no"))) {
			f.skipme = arg_is(v, "yes");
		} else {
			rbuf_error(c->out, ERR_SYNTAX);
			return;
		}
	}
	rbuf_int(c->out, kill_clients(c, &f));
}

void cmd_client(struct call *c)
{
	static const struct subcommand subs[] = {
		{ "setname", 3, client_setname }, { "getname", 2, client_getname },
		{ "setinfo", 4, client_setinfo }, { "id", 2, client_id },
		{ "info", 2, client_info }, { "list", -2, client_list },
		{ "kill", -3, client_kill },
	};

	run_sub(c, "CLIENT", subs, sizeof(subs) / sizeof(subs[0]));
}

void cmd_time(struct call *c)
{
	struct timespec ts;
	char num[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	rbuf_array(c->out, 2);
	snprintf(num, sizeof(num), "%lld", (long long)ts.tv_sec);
	rbuf_bulk_str(c->out, num);
	snprintf(num, sizeof(num), "%ld", ts.tv_nsec / 1000);
	rbuf_bulk_str(c->out, num);
}

/* --- INFO --- */

/* INFO's text, built on the stack: commandstats of the whole table fits. */
struct info {
	char buf[16384];
	size_t len;
	bool any;
};

static void field(struct info *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void field(struct info *in, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(in->buf + in->len, sizeof(in->buf) - in->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(in->buf) - in->len)
		in->len += (size_t)n;
}

/*
 * Whether the request asks for a section (Redis 7.0: any number of section names; "default" or none: the default
 * sections; "all": those and commandstats; "everything": all), and if so starts it with its "# Title".
 */
static bool section(struct call *c, struct info *in, const char *name, const char *title, bool in_default)
{
	bool want = c->argc == 1 && in_default;

	for (size_t i = 1; i < c->argc && !want; i++)
		want = arg_is(&c->argv[i], name) || arg_is(&c->argv[i], "all") || arg_is(&c->argv[i], "everything") ||
		       (in_default && arg_is(&c->argv[i], "default"));
	if (want) {
		field(in, "%s# %s\r\n", in->any ? "\r\n" : "", title);
		in->any = true;
	}
	return want;
}

static void info_cpu(struct info *in)
{
	struct rusage self, children;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	field(in, "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\nused_cpu_sys_children:%ld.%06ld\r\n"
	      "used_cpu_user_children:%ld.%06ld\r\n",
	      (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
	      (long)self.ru_utime.tv_usec, (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
	      (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec);
}

/* Only commands called or refused since the start (or CONFIG RESETSTAT) are listed; usec is not measured (a clock
 * read per request would cost the hot path), so it and usec_per_call are 0. */
static void info_commandstats(struct call *c, struct info *in)
{
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_stat *st = &c->env->stats[i];

		if (st->calls || st->rejected)
			field(in, "cmdstat_%s:calls=%" PRIu64 ",usec=0,usec_per_call=0.00,rejected_calls=%" PRIu64
			      ",failed_calls=%" PRIu64 "\r\n", cmd_table[i].name, st->calls, st->rejected, st->failed);
	}
}

void cmd_info(struct call *c)
{
	struct cmd_env *e = c->env;
	const struct spot_user *u = e->users ? &e->users->u[c->cl->user] : NULL;
	struct store_stats st, all;
	uint64_t maxmem;
	struct info in;

	in.len = 0;
	in.any = false;
	/* A tenant sees its own keyspace and memory; maxmemory is its quota when it has one. */
	store_get_stats(call_store(c), &st);
	all = st;
	if (e->users)
		users_totals(e->users, &all);
	maxmem = u && u->quota ? u->quota : all.capacity;
	if (section(c, &in, "server", "Server", true))
		field(&in, "redis_version:7.0.0\r\nredis_mode:standalone\r\nusbd_spot:1\r\nos:Linux\r\narch_bits:64\r\n"
		      "multiplexing_api:epoll\r\nprocess_id:%ld\r\ntcp_port:%d\r\nserver_time_usec:%" PRId64 "\r\n"
		      "uptime_in_seconds:%" PRIu64 "\r\nuptime_in_days:%" PRIu64 "\r\n",
		      (long)getpid(), e->port, call_unix_ms(c) * 1000, (c->now - e->start_ms) / 1000,
		      (c->now - e->start_ms) / 86400000);
	if (section(c, &in, "clients", "Clients", true))
		field(&in, "connected_clients:%" PRIu64 "\r\nmaxclients:%" PRIu64 "\r\n", u ? u->clients : e->clients,
		      e->max_clients);
	if (section(c, &in, "memory", "Memory", true)) {
		field(&in,
		      "used_memory:%" PRIu64 "\r\nmaxmemory:%" PRIu64 "\r\nmaxmemory_policy:allkeys-lru\r\n"
		      "mem_allocator:libc\r\nspot_capacity:%" PRIu64 "\r\nspot_used:%" PRIu64 "\r\nspot_chunks:%" PRIu64
		      "\r\nspot_chunks_free:%" PRIu64 "\r\nspot_index_entries:%" PRIu64 "\r\n"
		      "spot_index_bytes:%" PRIu64 "\r\n",
		      st.used, maxmem, st.capacity, st.used, st.chunks, st.chunks_free, st.index_entries,
		      st.index_bytes);
		if (u)
			field(&in, "spot_user:%s\r\nspot_quota:%" PRIu64 "\r\nspot_quota_refused:%" PRIu64
			      "\r\nspot_user_commands:%" PRIu64 "\r\nspot_tenants:%" PRIu32 "\r\n", u->name, u->quota,
			      st.refused, u->commands, e->users->ntenants);
		if (e->budget)
			field(&in, "spot_clients_memory:%zu\r\nspot_clients_budget:%zu\r\nspot_clients_refused:%" PRIu64
			      "\r\n", e->budget->used, e->budget->limit, e->budget->refused);
	}
	/* Spot memory keeps nothing on disk: the persistence fields say so. */
	if (section(c, &in, "persistence", "Persistence", true))
		field(&in, "loading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
		      "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n");
	if (section(c, &in, "stats", "Stats", true))
		field(&in,
		      "total_connections_received:%" PRIu64 "\r\nrejected_connections:%" PRIu64 "\r\n"
		      "total_commands_processed:%" PRIu64 "\r\nexpired_keys:%" PRIu64 "\r\nevicted_keys:%" PRIu64 "\r\n"
		      "keyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64 "\r\n"
		      "deflation_losses:%" PRIu64 "\r\nauth_failures:%" PRIu64 "\r\n",
		      e->connections, e->rejected, e->commands, st.expired, st.evictions, e->hits, e->misses, st.losses,
		      e->auth_failures);
	if (section(c, &in, "replication", "Replication", true))
		field(&in, "role:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\nrepl_backlog_active:0\r\n");
	if (section(c, &in, "cpu", "CPU", true))
		info_cpu(&in);
	if (section(c, &in, "commandstats", "Commandstats", false))
		info_commandstats(c, &in);
	if (section(c, &in, "cluster", "Cluster", true))
		field(&in, "cluster_enabled:0\r\n");
	if (section(c, &in, "keyspace", "Keyspace", true) && st.keys)
		field(&in, "db0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=%" PRIu64 "\r\n", st.keys, st.expires,
		      st.expire_avg > c->now ? st.expire_avg - c->now : 0);
	rbuf_bulk(c->out, in.buf, in.len);
}
