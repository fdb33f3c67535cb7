#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spot/commands.h"
#include "spot/resp.h"

static const struct resp_limits lim = {
	.max_inline = RESP_MAX_INLINE,
	.max_bulk = 1024 * 1024,
	.max_argc = RESP_MAX_ARGC,
	.max_query = 4 * 1024 * 1024,
	.bulk_err = "ERR Protocol error: invalid bulk length",
	.argc_err = "ERR Protocol error: invalid multibulk length",
};

static const struct resp_limits noauth = {
	.max_inline = RESP_MAX_INLINE,
	.max_bulk = RESP_NOAUTH_MAX_BULK,
	.max_argc = RESP_NOAUTH_MAX_ARGC,
	.max_query = 4 * 1024 * 1024,
	.bulk_err = "ERR Protocol error: unauthenticated bulk length",
	.argc_err = "ERR Protocol error: unauthenticated multibulk length",
};

static void assert_arg(const struct resp_parser *p, size_t i, const char *want)
{
	assert_true(i < p->argc);
	assert_int_equal(p->argv[i].len, strlen(want));
	assert_memory_equal(resp_arg_ptr(p, i), want, strlen(want));
}

/* Feeds the whole text at once and parses one request. */
static enum resp_status parse_text(struct resp_parser *p, const char *text, const char **err)
{
	assert_int_equal(resp_feed(p, text, strlen(text)), 0);
	return resp_parse(p, err);
}

static void assert_error(const struct resp_limits *l, const char *text, const char *want)
{
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, l);
	assert_int_equal(parse_text(&p, text, &err), RESP_ERROR);
	assert_string_equal(err, want);
	resp_free(&p);
}

static void parse_should_need_more_until_a_split_multibulk_is_whole(void **state)
{
	static const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, &lim);
	for (size_t i = 0; i < sizeof(req) - 2; i++) {
		assert_int_equal(resp_feed(&p, req + i, 1), 0);
		assert_int_equal(resp_parse(&p, &err), RESP_MORE);
	}
	assert_int_equal(resp_feed(&p, req + sizeof(req) - 2, 1), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(p.argc, 3);
	assert_arg(&p, 0, "SET");
	assert_arg(&p, 1, "key");
	assert_arg(&p, 2, "va\r\nl");
	resp_consume(&p);
	assert_int_equal(resp_pending(&p), 0);
	resp_free(&p);
}

static void parse_should_split_inline_requests_on_whitespace(void **state)
{
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, "set  a\t b", &err), RESP_MORE);
	assert_int_equal(parse_text(&p, "c\r\nPING\n", &err), RESP_DONE);
	assert_int_equal(p.argc, 3);
	assert_arg(&p, 0, "set");
	assert_arg(&p, 1, "a");
	assert_arg(&p, 2, "bc");
	resp_consume(&p);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(p.argc, 1);
	assert_arg(&p, 0, "PING");
	resp_free(&p);
}

/* Inline requests are split as Redis's sdssplitargs splits them: quotes group, escapes decode. */
static void parse_should_honour_quotes_and_escapes_in_inline_requests(void **state)
{
	static const struct {
		const char *line;
		size_t argc;
		const char *args[3];
		size_t lens[3];
	} cases[] = {
		{ "SET greeting \"hello\"\r\n", 3, { "SET", "greeting", "hello" }, { 3, 8, 5 } },
		{ "SET msg \"hello world\"\n", 3, { "SET", "msg", "hello world" }, { 3, 3, 11 } },
		{ "SET k \"\\x00\\xff\\t\"\r\n", 3, { "SET", "k", "\0\xff\t" }, { 3, 1, 3 } },
		{ "SET k 'it\\'s \"x\"'\r\n", 3, { "SET", "k", "it's \"x\"" }, { 3, 1, 8 } },
		{ "SET k \"a\\nb\\\\c\\q\"\r\n", 3, { "SET", "k", "a\nb\\cq" }, { 3, 1, 6 } },
		{ "SET k\t\"\"\r\n", 3, { "SET", "k", "" }, { 3, 1, 0 } },
		{ "SET a\"b c\"\r\n", 2, { "SET", "ab c" }, { 3, 4 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp_parser p;
		const char *err = NULL;

		resp_init(&p, &lim);
		assert_int_equal(parse_text(&p, cases[i].line, &err), RESP_DONE);
		assert_int_equal(p.argc, cases[i].argc);
		for (size_t a = 0; a < cases[i].argc; a++) {
			assert_int_equal(p.argv[a].len, cases[i].lens[a]);
			assert_memory_equal(resp_arg_ptr(&p, a), cases[i].args[a], cases[i].lens[a]);
		}
		resp_free(&p);
	}
}

static void parse_should_refuse_unbalanced_quotes_in_inline_requests(void **state)
{
	static const char *lines[] = { "SET k \"abc\r\n", "SET k 'abc\n", "SET k \"a\"b\r\n", "SET k 'a'b\n",
				       "SET k \"\\\"\r\n", "SET a\"b c\"d\r\n" };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_error(&lim, lines[i], "ERR Protocol error: unbalanced quotes in request");
}

static void parse_should_skip_blank_lines_and_empty_multibulks(void **state)
{
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, "\r\n   \r\n*0\r\n*-1\r\nPING\r\n", &err), RESP_DONE);
	assert_int_equal(p.argc, 1);
	assert_arg(&p, 0, "PING");
	resp_consume(&p);
	assert_int_equal(resp_parse(&p, &err), RESP_MORE);
	resp_free(&p);
}

static void parse_should_return_pipelined_requests_in_order(void **state)
{
	struct resp_parser p;
	const char *err = NULL;
	char text[4096] = "";

	for (int i = 0; i < 100; i++) {
		char one[64];

		snprintf(one, sizeof(one), "*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n", i < 10 ? 2 : 3, i);
		strcat(text, one);
	}
	resp_init(&p, &lim);
	assert_int_equal(resp_feed(&p, text, strlen(text)), 0);
	for (int i = 0; i < 100; i++) {
		char key[16];

		assert_int_equal(resp_parse(&p, &err), RESP_DONE);
		snprintf(key, sizeof(key), "k%d", i);
		assert_arg(&p, 1, key);
		resp_consume(&p);
	}
	assert_int_equal(resp_parse(&p, &err), RESP_MORE);
	resp_free(&p);
}

static void parse_should_keep_binary_arguments_intact(void **state)
{
	static const char req[] = "*2\r\n$4\r\n\0\r\n\xff\r\n$0\r\n\r\n";
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, &lim);
	assert_int_equal(resp_feed(&p, req, sizeof(req) - 1), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(p.argv[0].len, 4);
	assert_memory_equal(resp_arg_ptr(&p, 0), "\0\r\n\xff", 4);
	assert_int_equal(p.argv[1].len, 0);
	resp_free(&p);
}

static void parse_should_grow_argv_past_its_presize(void **state)
{
	struct resp_parser p;
	const char *err = NULL;
	const int n = 3000;

	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, "*3000\r\n", &err), RESP_MORE);
	assert_int_equal(p.argv_cap, 1024);
	for (int i = 0; i < n; i++)
		assert_int_equal(resp_feed(&p, "$1\r\nx\r\n", 7), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(p.argc, n);
	resp_free(&p);
}

static void parse_should_refuse_huge_multibulk_counts(void **state)
{
	assert_error(&lim, "*3000000000\r\n", "ERR Protocol error: invalid multibulk length");
	assert_error(&lim, "*1048577\r\n", "ERR Protocol error: invalid multibulk length");
	assert_error(&lim, "*9223372036854775808\r\n", "ERR Protocol error: invalid multibulk length");
	assert_error(&lim, "*12x\r\n", "ERR Protocol error: invalid multibulk length");
	assert_error(&lim, "*\r\n", "ERR Protocol error: invalid multibulk length");
}

static void parse_should_refuse_negative_or_garbled_bulk_lengths(void **state)
{
	assert_error(&lim, "*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length");
	assert_error(&lim, "*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length");
	assert_error(&lim, "*1\r\n$1a\r\n", "ERR Protocol error: invalid bulk length");
	assert_error(&lim, "*1\r\n$+1\r\n", "ERR Protocol error: invalid bulk length");
	assert_error(&lim, "*2\r\n$1\r\na\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
}

static void parse_should_refuse_a_huge_bulk_before_reading_it(void **state)
{
	struct resp_parser p;
	const char *err = NULL;

	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, "*1\r\n$1048577\r\n", &err), RESP_ERROR);
	assert_string_equal(err, "ERR Protocol error: invalid bulk length");
	/* Nothing was reserved for the announced megabyte. */
	assert_true(p.cap < 1024 * 1024);
	resp_free(&p);
	assert_error(&lim, "*1\r\n$536870912000\r\n", "ERR Protocol error: invalid bulk length");
}

static void parse_should_accept_a_bulk_of_exactly_the_limit(void **state)
{
	struct resp_parser p;
	const char *err = NULL;
	char *big = calloc(1, lim.max_bulk + 2);

	assert_non_null(big);
	memcpy(big + lim.max_bulk, "\r\n", 2);
	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, "*1\r\n$1048576\r\n", &err), RESP_MORE);
	assert_int_equal(resp_feed(&p, big, lim.max_bulk + 2), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(p.argv[0].len, lim.max_bulk);
	resp_free(&p);
	free(big);
}

static void parse_should_refuse_lines_longer_than_the_inline_limit(void **state)
{
	struct resp_parser p;
	const char *err = NULL;
	char *line = malloc(RESP_MAX_INLINE + 16);

	assert_non_null(line);
	memset(line, 'a', RESP_MAX_INLINE + 1);
	line[RESP_MAX_INLINE + 1] = '\0';
	assert_error(&lim, line, "ERR Protocol error: too big inline request");
	line[0] = '*';
	memset(line + 1, '1', RESP_MAX_INLINE);
	assert_error(&lim, line, "ERR Protocol error: too big mbulk count string");
	memcpy(line, "*1\r\n$", 5);
	memset(line + 5, '1', RESP_MAX_INLINE + 5);
	line[RESP_MAX_INLINE + 10] = '\0';
	assert_error(&lim, line, "ERR Protocol error: too big bulk count string");
	/* Just under the limit, an unfinished line is only incomplete. */
	memset(line, 'a', RESP_MAX_INLINE);
	line[RESP_MAX_INLINE] = '\0';
	resp_init(&p, &lim);
	assert_int_equal(parse_text(&p, line, &err), RESP_MORE);
	resp_free(&p);
	free(line);
}

static void parse_should_apply_tighter_limits_before_auth(void **state)
{
	struct resp_parser p;
	const char *err = NULL;

	assert_error(&noauth, "*11\r\n", "ERR Protocol error: unauthenticated multibulk length");
	assert_error(&noauth, "*1\r\n$16385\r\n", "ERR Protocol error: unauthenticated bulk length");
	assert_error(&noauth, "*1\r\n$-3\r\n", "ERR Protocol error: invalid bulk length");
	resp_init(&p, &noauth);
	assert_int_equal(parse_text(&p, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", &err), RESP_DONE);
	resp_consume(&p);
	resp_set_limits(&p, &lim);
	assert_int_equal(parse_text(&p, "*11\r\n", &err), RESP_MORE);
	resp_free(&p);
}

static void feed_should_refuse_bytes_past_the_query_buffer_cap(void **state)
{
	struct resp_limits small = lim;
	struct resp_parser p;
	char buf[1000];
	int i;

	small.max_query = 10000;
	memset(buf, 'x', sizeof(buf));
	resp_init(&p, &small);
	for (i = 0; i < 10; i++)
		assert_int_equal(resp_feed(&p, buf, sizeof(buf)), 0);
	assert_int_equal(resp_feed(&p, buf, 1), -ENOBUFS);
	resp_free(&p);
}

/* A read straight into the buffer's room, committed, is parsed as the same bytes fed; the cap applies alike. */
static void commit_should_take_bytes_read_into_the_room_as_feed_would(void **state)
{
	static const char req[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	struct resp_limits small = lim;
	struct resp_parser p;
	const char *err = NULL;
	char *at;
	size_t room;

	resp_init(&p, &lim);
	assert_int_equal(resp_room(&p, &at), 0);
	assert_int_equal(resp_feed(&p, "*1\r\n$4\r\nPING\r\n", 14), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	resp_consume(&p);
	room = resp_room(&p, &at);
	assert_true(room >= sizeof(req));
	assert_ptr_equal(at, p.buf + p.len);
	memcpy(at, req, 10);
	assert_int_equal(resp_commit(&p, 10), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_MORE);
	room = resp_room(&p, &at);
	memcpy(at, req + 10, sizeof(req) - 1 - 10);
	assert_int_equal(resp_commit(&p, sizeof(req) - 1 - 10), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_arg(&p, 0, "GET");
	assert_arg(&p, 1, "k");
	resp_consume(&p);
	room = resp_room(&p, &at);
	assert_int_equal(resp_commit(&p, room + 1), -ENOBUFS);
	assert_int_equal(resp_pending(&p), 0);
	resp_free(&p);

	small.max_query = 100;
	resp_init(&p, &small);
	assert_int_equal(resp_feed(&p, "x", 1), 0);
	assert_int_equal(resp_room(&p, &at), 99);	/* the buffer has more, the cap lets 99 in */
	assert_int_equal(resp_commit(&p, 99), 0);
	assert_int_equal(resp_room(&p, &at), 0);
	assert_int_equal(resp_pending(&p), 100);
	assert_int_equal(resp_commit(&p, 1), -ENOBUFS);
	assert_int_equal(resp_pending(&p), 100);
	resp_free(&p);
}

/* Room made for a read: the unparsed bytes of a half-read request move to the front and still parse; the growth is
 * the one resp_feed would make, charged alike; past the query cap or the budget nothing grows. */
static void reserve_should_make_room_as_feed_would_and_refuse_alike(void **state)
{
	static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
	struct spot_budget b = { .limit = 256 * 1024 };
	struct resp_limits small = lim;
	struct resp_parser p;
	const char *err = NULL;
	char *at;
	size_t half = 20, cap, argv;

	resp_init(&p, &lim);
	p.budget = &b;
	assert_int_equal(resp_reserve(&p, 1000), 0);
	assert_true(resp_room(&p, &at) >= 1000);
	assert_int_equal(b.used, p.cap);
	assert_int_equal(resp_feed(&p, "*1\r\n$4\r\nPING\r\n", 14), 0);
	assert_int_equal(resp_feed(&p, req, half), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	resp_consume(&p);
	assert_int_equal(resp_parse(&p, &err), RESP_MORE);
	cap = p.cap;
	assert_int_equal(resp_reserve(&p, cap - half), 0);
	assert_int_equal(p.cap, cap);         /* room enough once the consumed PING is gone: moved, not grown */
	assert_int_equal(p.pos, 0);
	assert_int_equal(resp_room(&p, &at), cap - half);
	memcpy(at, req + half, sizeof(req) - 1 - half);
	assert_int_equal(resp_commit(&p, sizeof(req) - 1 - half), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_arg(&p, 0, "SET");
	assert_arg(&p, 1, "k");
	assert_arg(&p, 2, "value");
	resp_consume(&p);
	assert_int_equal(resp_reserve(&p, 3 * cap), 0);
	assert_true(p.cap >= 3 * cap);
	argv = p.argv_cap * sizeof(*p.argv);
	assert_int_equal(b.used, p.cap + argv);
	cap = p.cap;
	assert_int_equal(resp_reserve(&p, b.limit), -ENOMEM); /* one buffer may not take over half the budget */
	assert_int_equal(p.cap, cap);
	assert_int_equal(b.used, cap + argv);
	resp_free(&p);
	assert_int_equal(b.used, 0);

	small.max_query = 100;
	resp_init(&p, &small);
	assert_int_equal(resp_feed(&p, "x", 1), 0);
	cap = p.cap;
	assert_int_equal(resp_reserve(&p, 100), -ENOBUFS);
	assert_int_equal(resp_reserve(&p, 99), 0);
	assert_int_equal(p.cap, cap);
	assert_int_equal(resp_pending(&p), 1);
	resp_free(&p);
}

/* Every growth of the buffer and argv is charged to the budget, refused past it (or past half of it for one
 * buffer), and a parser with nothing pending gives its large buffers back. */
static void parser_should_charge_the_budget_and_give_big_buffers_back(void **state)
{
	struct spot_budget b = { .limit = 4u << 20 };
	struct resp_parser p;
	const char *err = NULL;
	char big[64 * 1024];
	size_t fed = 0;
	int rc = 0;

	(void)state;
	resp_init(&p, &lim);
	p.budget = &b;
	assert_int_equal(resp_feed(&p, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 20), 0);
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_int_equal(b.used, p.cap + p.argv_cap * sizeof(*p.argv));
	resp_consume(&p);
	/* An incomplete request whose arguments pile up: refused once its buffer would pass half the budget. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(resp_feed(&p, "*1000\r\n", 7), 0);
	while (rc == 0 && fed < (8u << 20)) {
		rc = resp_feed(&p, big, sizeof(big));
		fed += sizeof(big);
	}
	assert_int_equal(rc, -ENOMEM);
	assert_true(p.cap <= b.limit / 2 && b.used <= b.limit);
	assert_true(b.refused > 0);
	resp_free(&p);
	assert_int_equal(b.used, 0);

	/* A large request, done: its buffers go back once nothing is pending, small ones stay unless asked. */
	resp_init(&p, &lim);
	p.budget = &b;
	assert_int_equal(resp_feed(&p, "*1\r\n$300000\r\n", 13), 0);
	for (fed = 0; fed < 300000; fed += sizeof(big))
		assert_int_equal(resp_feed(&p, big, 300000 - fed < sizeof(big) ? 300000 - fed : sizeof(big)), 0);
	assert_int_equal(resp_feed(&p, "\r\n", 2), 0);
	assert_true(p.cap > RESP_KEEP);
	resp_shrink(&p, false);
	assert_true(p.cap > RESP_KEEP); /* pending: kept */
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	resp_consume(&p);
	resp_shrink(&p, false);
	assert_int_equal(p.cap, 0);
	assert_int_equal(b.used, p.argv_cap * sizeof(*p.argv));
	resp_shrink(&p, true);
	assert_int_equal(b.used, 0);
	resp_free(&p);
}

static void parse_should_survive_random_garbage(void **state)
{
	struct resp_limits small = lim;
	unsigned seed = 12345;

	small.max_query = 1 << 20;
	for (int round = 0; round < 2000; round++) {
		struct resp_parser p;
		const char *err = NULL;
		unsigned char buf[256];
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf)) + 1;
		enum resp_status st;

		for (size_t i = 0; i < n; i++) {
			/* Biased towards protocol bytes so that the parser goes deep. */
			static const char alpha[] = "*$\r\n-0123456789 ab";
			buf[i] = rand_r(&seed) % 3 ? (unsigned char)alpha[rand_r(&seed) % (sizeof(alpha) - 1)]
						   : (unsigned char)rand_r(&seed);
		}
		resp_init(&p, &small);
		assert_int_equal(resp_feed(&p, buf, n), 0);
		while ((st = resp_parse(&p, &err)) == RESP_DONE) {
			assert_true(p.argc >= 1);
			for (size_t i = 0; i < p.argc; i++)
				assert_true(p.argv[i].off + p.argv[i].len <= p.len);
			resp_consume(&p);
		}
		if (st == RESP_ERROR)
			assert_true(strncmp(err, "ERR Protocol error: ", 20) == 0);
		resp_free(&p);
	}
}

static void parse_ll_should_follow_redis_string2ll(void **state)
{
	long long v = 7;

	assert_true(resp_parse_ll("0", 1, &v) && v == 0);
	assert_true(resp_parse_ll("-12", 3, &v) && v == -12);
	assert_true(resp_parse_ll("9223372036854775807", 19, &v) && v == LLONG_MAX);
	assert_true(resp_parse_ll("-9223372036854775808", 20, &v) && v == LLONG_MIN);
	assert_false(resp_parse_ll("9223372036854775808", 19, &v));
	assert_false(resp_parse_ll("-9223372036854775809", 20, &v));
	assert_false(resp_parse_ll("99999999999999999999", 20, &v));
	assert_false(resp_parse_ll("18446744073709551616", 20, &v));
	assert_true(resp_parse_ll("999999999999999999", 18, &v) && v == 999999999999999999LL);
	assert_true(resp_parse_ll("-999999999999999999", 19, &v) && v == -999999999999999999LL);
	assert_true(resp_parse_ll("1000000000000000000", 19, &v) && v == 1000000000000000000LL);
	assert_false(resp_parse_ll("12a", 3, &v));
	assert_false(resp_parse_ll("-", 1, &v));
	assert_false(resp_parse_ll("007", 3, &v));
	assert_false(resp_parse_ll("-0", 2, &v));
	assert_false(resp_parse_ll("+1", 2, &v));
	assert_false(resp_parse_ll(" 1", 2, &v));
	assert_false(resp_parse_ll("", 0, &v));
	assert_false(resp_parse_ll("-", 1, &v));
}

static int feed_str(struct resp_parser *p, const char *text) { return resp_feed(p, text, strlen(text)); }

static void assert_span(const struct resp_span *k, const char *want)
{
	assert_int_equal(k->n, strlen(want));
	assert_memory_equal(k->p, want, k->n);
}

/* resp_peek_keys: the keys of whole requests where the command table says they are, in order, skipping commands
 * without keys; it stops at an incomplete or inline request and at max, and changes nothing in the parser. */
static void peek_should_find_keys_of_whole_requests_and_change_nothing(void **state)
{
	static const char text[] = "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"
				   "*3\r\n$3\r\nset\r\n$2\r\nk2\r\n$5\r\nv\r\n\r\n\r\n"
				   "*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"
				   "*3\r\n$4\r\nMGET\r\n$2\r\nk3\r\n$0\r\n\r\n"
				   "*2\r\n$3\r\nGET\r\n$2\r\nk4\r\n"
				   "*2\r\n$3\r\nGET\r\n$5\r\nk5";
	struct resp_span k[8];
	struct resp_parser p;
	const char *err = NULL;

	(void)state;
	resp_init(&p, &lim);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 0);
	assert_int_equal(resp_feed(&p, text, strlen(text)), 0);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 5);
	assert_span(&k[0], "k1");
	assert_span(&k[1], "k2");
	assert_span(&k[2], "k3");
	assert_span(&k[3], "");
	assert_span(&k[4], "k4");
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 2), 2);
	assert_span(&k[1], "k2");
	/* Nothing moved: the requests parse as before. */
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_arg(&p, 1, "k1");
	resp_consume(&p);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 4);
	assert_span(&k[0], "k2");
	assert_int_equal(resp_parse(&p, &err), RESP_DONE);
	assert_arg(&p, 2, "v\r\n\r\n");
	resp_free(&p);

	/* MSET's keys are every other argument; RENAME's both. */
	resp_init(&p, &lim);
	assert_int_equal(feed_str(&p, "*5\r\n$4\r\nmset\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
				      "*3\r\n$6\r\nRENAME\r\n$1\r\nc\r\n$1\r\nd\r\n"), 0);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 4);
	assert_span(&k[0], "a");
	assert_span(&k[1], "b");
	assert_span(&k[2], "c");
	assert_span(&k[3], "d");
	resp_free(&p);

	/* An inline request, a bad header or a garbled length stops the scan. */
	resp_init(&p, &lim);
	assert_int_equal(feed_str(&p, "GET k1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n"), 0);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 0);
	resp_free(&p);
	resp_init(&p, &lim);
	assert_int_equal(feed_str(&p, "*2\r\n$3\r\nGET\r\n$-2\r\nk2\r\n"), 0);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 0);
	resp_free(&p);
	resp_init(&p, &lim);
	assert_int_equal(feed_str(&p, "*2\r\n$3\r\nGET\r\n$99999999999999999999\r\nk\r\n"), 0);
	assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 8), 0);
	resp_free(&p);
}

/* A bulk length, and the multibulk count, read as resp_parse_ll reads them, whatever the form: the header's quick
 * path (plain digits) and its general path must agree, in resp_parse and in resp_peek_keys, whole or cut short. */
static void headers_should_read_lengths_as_parse_ll_does(void **state)
{
	static const char *const nums[] = { "0", "00", "01", "1", "2", "9", "10", "099", "-0", "-1", "+2", " 2", "2 ",
					    "2a", "", "1048576", "1048577", "999999999999999999", "1000000000000000000",
					    "0000000000000000002", "9223372036854775808", "99999999999999999999" };
	char req[128];

	(void)state;
	for (size_t n = 0; n < sizeof(nums) / sizeof(nums[0]); n++) {
		long long v = -1;
		bool parsed = resp_parse_ll(nums[n], strlen(nums[n]), &v);
		/* What the whole request must give: DONE (a length of 0..8, the bytes are there), MORE (a valid length
		 * longer than the bytes sent) or ERROR. */
		enum resp_status want = !parsed || v < 0 || (uint64_t)v > lim.max_bulk ? RESP_ERROR :
					v <= 8 ? RESP_DONE : RESP_MORE;
		int len = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%s\r\n%.*s\r\n", nums[n],
				   want == RESP_DONE ? (int)v : 0, "abcdefgh");

		for (int cut = 1; cut <= len; cut++) {
			struct resp_span k[2];
			struct resp_parser p;
			const char *err = NULL;

			resp_init(&p, &lim);
			assert_int_equal(resp_feed(&p, req, (size_t)cut), 0);
			enum resp_status st = resp_parse(&p, &err);

			if (cut < len || want == RESP_MORE)
				assert_true(st == RESP_MORE || (want == RESP_ERROR && st == RESP_ERROR));
			else
				assert_int_equal(st, want);
			if (st == RESP_ERROR)
				assert_string_equal(err, "ERR Protocol error: invalid bulk length");
			assert_int_equal(resp_peek_keys(&p, cmd_key_spec, k, 2), cut == len && want == RESP_DONE);
			if (st == RESP_DONE) {
				assert_int_equal(p.argv[1].len, (size_t)v);
				assert_int_equal(k[0].n, (size_t)v);
			}
			resp_free(&p);
		}
		/* The same number as the request's count of arguments: refused, or waiting for the arguments. */
		struct resp_parser p;
		const char *err = NULL;

		len = snprintf(req, sizeof(req), "*%s\r\n", nums[n]);
		resp_init(&p, &lim);
		assert_int_equal(resp_feed(&p, req, (size_t)len), 0);
		assert_int_equal(resp_parse(&p, &err), !parsed || v > (long long)lim.max_argc ? RESP_ERROR : RESP_MORE);
		resp_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_should_need_more_until_a_split_multibulk_is_whole),
		cmocka_unit_test(headers_should_read_lengths_as_parse_ll_does),
		cmocka_unit_test(parse_should_split_inline_requests_on_whitespace),
		cmocka_unit_test(parse_should_honour_quotes_and_escapes_in_inline_requests),
		cmocka_unit_test(parse_should_refuse_unbalanced_quotes_in_inline_requests),
		cmocka_unit_test(parse_should_skip_blank_lines_and_empty_multibulks),
		cmocka_unit_test(parse_should_return_pipelined_requests_in_order),
		cmocka_unit_test(parse_should_keep_binary_arguments_intact),
		cmocka_unit_test(parse_should_grow_argv_past_its_presize),
		cmocka_unit_test(parse_should_refuse_huge_multibulk_counts),
		cmocka_unit_test(parse_should_refuse_negative_or_garbled_bulk_lengths),
		cmocka_unit_test(parse_should_refuse_a_huge_bulk_before_reading_it),
		cmocka_unit_test(parse_should_accept_a_bulk_of_exactly_the_limit),
		cmocka_unit_test(parse_should_refuse_lines_longer_than_the_inline_limit),
		cmocka_unit_test(parse_should_apply_tighter_limits_before_auth),
		cmocka_unit_test(feed_should_refuse_bytes_past_the_query_buffer_cap),
		cmocka_unit_test(commit_should_take_bytes_read_into_the_room_as_feed_would),
		cmocka_unit_test(reserve_should_make_room_as_feed_would_and_refuse_alike),
		cmocka_unit_test(parser_should_charge_the_budget_and_give_big_buffers_back),
		cmocka_unit_test(parse_should_survive_random_garbage),
		cmocka_unit_test(parse_ll_should_follow_redis_string2ll),
		cmocka_unit_test(peek_should_find_keys_of_whole_requests_and_change_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
