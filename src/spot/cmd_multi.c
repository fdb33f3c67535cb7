/*
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c). Queued requests are copied into one buffer per client,
 * charged to the clients' budget. A watched key is marked when a write command that changed the store names it (the
 * command table's key positions say which arguments are keys), when FLUSHALL removes it, or when it existed at
 * WATCH and is gone at EXEC (expired, evicted, lost to a deflation). Unlike Redis, a command over several keys that
 * changed only some (DEL a b, with b missing) marks all of them: EXEC then fails where Redis's would not, never the
 * reverse.
 */
#include <errno.h>
#include <stdlib.h>

#include "spot/cmd_int.h"

static void queue_free(struct cmd_env *env, struct cmd_client *cl)
{
	budget_release(env->budget, cl->queue_cap);
	free(cl->queue);
	cl->queue = NULL;
	cl->queue_len = cl->queue_cap = 0;
	cl->queued = 0;
	cl->in_multi = cl->multi_abort = false;
}

static void unwatch(struct cmd_env *env, struct cmd_client *cl)
{
	size_t bytes = cl->nwatch * sizeof(*cl->watch);

	for (size_t i = 0; i < cl->nwatch; i++) {
		bytes += cl->watch[i].n;
		free(cl->watch[i].key);
	}
	budget_release(env->budget, bytes);
	free(cl->watch);
	cl->watch = NULL;
	cl->nwatch = 0;
	cl->watch_dirty = false;
	if (cl->pprev_watcher) {
		*cl->pprev_watcher = cl->next_watcher;
		if (cl->next_watcher)
			cl->next_watcher->pprev_watcher = cl->pprev_watcher;
		cl->next_watcher = NULL;
		cl->pprev_watcher = NULL;
	}
	if (!env->watchers)
		memset(env->watch_filter, 0, sizeof(env->watch_filter));
}

/* The watch filter's bit for a key. */
static unsigned filter_bit(const char *key, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)key[i]) * 0x100000001b3u;
	return (unsigned)(h >> 54); /* 0..1023 */
}

static bool filter_has(const struct cmd_env *env, unsigned bit) { return env->watch_filter[bit / 64] >> (bit % 64) & 1; }

void cmd_client_free(struct cmd_env *env, struct cmd_client *cl)
{
	queue_free(env, cl);
	unwatch(env, cl);
}

/* Appends bytes to the queue, growing it within the budget; false when it cannot. */
static bool queue_put(struct cmd_env *env, struct cmd_client *cl, const void *p, size_t n)
{
	if (cl->queue_len + n > cl->queue_cap) {
		size_t cap = cl->queue_cap ? cl->queue_cap : 1024;
		char *nq;

		while (cap < cl->queue_len + n)
			cap *= 2;
		if (!budget_grow(env->budget, cl->queue_cap, cap))
			return false;
		nq = realloc(cl->queue, cap);
		if (!nq) {
			budget_release(env->budget, cap - cl->queue_cap);
			return false;
		}
		cl->queue = nq;
		cl->queue_cap = cap;
	}
	memcpy(cl->queue + cl->queue_len, p, n);
	cl->queue_len += n;
	return true;
}

void multi_queue(struct call *c)
{
	struct cmd_client *cl = c->cl;
	size_t start = cl->queue_len;
	uint32_t n = (uint32_t)c->argc;
	bool ok = queue_put(c->env, cl, &n, sizeof(n));

	for (size_t i = 0; ok && i < c->argc; i++) {
		n = (uint32_t)c->argv[i].n;
		ok = queue_put(c->env, cl, &n, sizeof(n)) && queue_put(c->env, cl, c->argv[i].p, c->argv[i].n);
	}
	if (!ok) {
		cl->queue_len = start;
		cl->multi_abort = true;
		rbuf_error(c->out, "OOM command not allowed: the transaction's queue passed the clients' memory budget");
		return;
	}
	cl->queued++;
	rbuf_status(c->out, "QUEUED");
}

void cmd_multi(struct call *c)
{
	if (c->cl->in_multi) {
		rbuf_error(c->out, "ERR MULTI calls can not be nested");
		return;
	}
	c->cl->in_multi = true;
	rbuf_status(c->out, "OK");
}

void cmd_discard(struct call *c)
{
	if (!c->cl->in_multi) {
		rbuf_error(c->out, "ERR DISCARD without MULTI");
		return;
	}
	queue_free(c->env, c->cl);
	unwatch(c->env, c->cl);
	rbuf_status(c->out, "OK");
}

static bool key_exists(struct call *c, const char *key, size_t n)
{
	uint64_t at;

	return store_expiry(call_store(c), key, n, c->now, &at) == 0;
}

/* Whether EXEC must fail: a watched key was touched, or existed at WATCH and is gone now. */
static bool watch_failed(struct call *c)
{
	struct cmd_client *cl = c->cl;

	for (size_t i = 0; i < cl->nwatch && !cl->watch_dirty; i++)
		cl->watch_dirty = cl->watch[i].existed && !key_exists(c, cl->watch[i].key, cl->watch[i].n);
	return cl->watch_dirty;
}

/* Runs one queued request at *pos, moving *pos past it. */
static void run_queued(struct call *c, size_t *pos)
{
	const char *q = c->cl->queue;
	struct cmd_arg *argv;
	struct call sub = *c;
	uint32_t argc, n;

	memcpy(&argc, q + *pos, sizeof(argc));
	*pos += sizeof(argc);
	argv = malloc(argc * sizeof(*argv));
	for (uint32_t i = 0; i < argc; i++) {
		memcpy(&n, q + *pos, sizeof(n));
		*pos += sizeof(n);
		if (argv)
			argv[i] = (struct cmd_arg){ q + *pos, n };
		*pos += n;
	}
	if (!argv) {
		rbuf_error(c->out, "%s", ERR_OOM);
		return;
	}
	sub.argc = argc;
	sub.argv = argv;
	sub.cmd = cmd_find(argv[0].p, argv[0].n);
	c->env->commands++;
	cmd_run(&sub);
	free(argv);
}

void cmd_exec_tx(struct call *c)
{
	struct cmd_client *cl = c->cl;
	size_t pos = 0;
	uint32_t n;

	if (!cl->in_multi) {
		rbuf_error(c->out, "ERR EXEC without MULTI");
		return;
	}
	if (cl->multi_abort) {
		rbuf_error(c->out, "EXECABORT Transaction discarded because of previous errors.");
	} else if (watch_failed(c)) {
		rbuf_raw(c->out, "*-1\r\n", 5);
	} else {
		/* The keys are unwatched before the queue runs, as in Redis: its own writes do not abort it. */
		unwatch(c->env, cl);
		cl->in_multi = false;
		rbuf_array(c->out, cl->queued);
		for (n = 0; n < cl->queued; n++)
			run_queued(c, &pos);
	}
	queue_free(c->env, cl);
	unwatch(c->env, cl);
}

void cmd_watch(struct call *c)
{
	struct cmd_client *cl = c->cl;
	struct cmd_watch *nw;
	size_t bytes = 0;
	unsigned bit;

	if (cl->in_multi) {
		rbuf_error(c->out, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (size_t i = 1; i < c->argc; i++)
		bytes += sizeof(*nw) + c->argv[i].n;
	if (!budget_grow(c->env->budget, 0, bytes)) {
		rbuf_error(c->out, "%s", ERR_OOM);
		return;
	}
	nw = realloc(cl->watch, (cl->nwatch + c->argc - 1) * sizeof(*nw));
	if (!nw) {
		budget_release(c->env->budget, bytes);
		rbuf_error(c->out, "%s", ERR_OOM);
		return;
	}
	cl->watch = nw;
	for (size_t i = 1; i < c->argc; i++) {
		struct cmd_watch *w = &cl->watch[cl->nwatch];

		w->key = malloc(c->argv[i].n ? c->argv[i].n : 1);
		if (!w->key) {
			budget_release(c->env->budget, sizeof(*nw) + c->argv[i].n);
			continue;
		}
		memcpy(w->key, c->argv[i].p, c->argv[i].n);
		w->n = c->argv[i].n;
		bit = filter_bit(w->key, w->n);
		c->env->watch_filter[bit / 64] |= 1ull << (bit % 64);
		w->existed = key_exists(c, w->key, w->n);
		cl->nwatch++;
	}
	if (cl->nwatch && !cl->pprev_watcher) {
		cl->next_watcher = c->env->watchers;
		if (cl->next_watcher)
			cl->next_watcher->pprev_watcher = &cl->next_watcher;
		cl->pprev_watcher = &c->env->watchers;
		c->env->watchers = cl;
	}
	rbuf_status(c->out, "OK");
}

void cmd_unwatch(struct call *c)
{
	unwatch(c->env, c->cl);
	rbuf_status(c->out, "OK");
}

/* Marks every watcher of (key, n) (NULL: any key) whose condition holds. */
static void touch(struct call *c, const char *key, size_t n, bool only_existing)
{
	if (key && !filter_has(c->env, filter_bit(key, n)))
		return;
	for (struct cmd_client *w = c->env->watchers; w; w = w->next_watcher)
		for (size_t i = 0; w->store == c->cl->store && i < w->nwatch && !w->watch_dirty; i++)
			if ((!key || (w->watch[i].n == n && memcmp(w->watch[i].key, key, n) == 0)) &&
			    (!only_existing || key_exists(c, w->watch[i].key, w->watch[i].n)))
				w->watch_dirty = true;
}

void watch_touch_keys(struct call *c)
{
	const struct command *cmd = c->cmd;
	long long last = cmd->last < 0 ? (long long)c->argc + cmd->last : cmd->last;

	for (long long i = cmd->first; cmd->first && i <= last && i < (long long)c->argc; i += cmd->step)
		touch(c, c->argv[i].p, c->argv[i].n, false);
}

void watch_touch_existing(struct call *c) { touch(c, NULL, 0, true); }
