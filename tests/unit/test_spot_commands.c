#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spot/cmd_int.h"
#include "spot/commands.h"

#define CHUNK STORE_CHUNK_SIZE

struct fixture {
	struct store *store;
	struct cmd_env env;
	struct cmd_client cl;
	struct rbuf out;
	void *chunk;
};

static int setup_with(void **state, const char *password, bool chunk)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->store = store_new(0, 0, 3);
	assert_non_null(f->store);
	if (chunk) {
		f->chunk = aligned_alloc(CHUNK, CHUNK);
		assert_non_null(f->chunk);
		memset(f->chunk, 0, CHUNK);
		assert_int_equal(store_chunk_add(f->store, f->chunk, CHUNK), 0);
	}
	f->env = (struct cmd_env){ .store = f->store, .password = password, .port = 6390, .max_clients = 10 };
	f->cl = (struct cmd_client){ .id = 7, .authed = !password[0] };
	rbuf_init(&f->out, 1 << 24);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_with(state, "", true); }
static int setup_password(void **state) { return setup_with(state, "pw", true); }
static int setup_no_chunks(void **state) { return setup_with(state, "", false); }

static int teardown(void **state)
{
	struct fixture *f = *state;
	void *out[1];

	cmd_client_free(&f->env, &f->cl);
	store_chunks_take(f->store, 1, out);
	store_free(f->store);
	rbuf_free(&f->out);
	free(f->chunk);
	free(f);
	return 0;
}

/* Runs a space-separated command at time `now` and checks the whole reply. */
static void run_at(struct fixture *f, uint64_t now, const char *cmd, const char *want)
{
	struct cmd_arg argv[16];
	char buf[256];
	size_t argc = 0;

	snprintf(buf, sizeof(buf), "%s", cmd);
	for (char *save, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = (struct cmd_arg){ tok, strlen(tok) };
	f->out.len = f->out.sent = 0;
	cmd_exec(&f->env, &f->cl, &f->out, argc, argv, now);
	assert_false(f->out.overflow);
	if (f->out.len != strlen(want) || memcmp(f->out.data, want, f->out.len) != 0)
		fail_msg("%s: got '%.*s', want '%s'", cmd, (int)f->out.len, f->out.data, want);
}

static void run(struct fixture *f, const char *cmd, const char *want) { run_at(f, 1000, cmd, want); }

static void unknown_commands_should_get_redis_error_text(void **state)
{
	struct fixture *f = *state;

	run(f, "FOO a b", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
	run(f, "foo", "-ERR unknown command 'foo', with args beginning with: \r\n");
	run(f, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
	run(f, "echo a b", "-ERR wrong number of arguments for 'echo' command\r\n");
	run(f, "ping a b", "-ERR wrong number of arguments for 'ping' command\r\n");
}

static void set_and_get_should_follow_redis_replies(void **state)
{
	struct fixture *f = *state;

	run(f, "PING", "+PONG\r\n");
	run(f, "get k", "$-1\r\n");
	run(f, "set k v", "+OK\r\n");
	run(f, "GET k", "$1\r\nv\r\n");
	run(f, "set k w NX", "$-1\r\n");
	run(f, "set j w XX", "$-1\r\n");
	run(f, "set k w NX XX", "-ERR syntax error\r\n");
	run(f, "set k w EX", "-ERR syntax error\r\n");
	run(f, "set k w EX 0", "-ERR invalid expire time in 'set' command\r\n");
	run(f, "set k w PX x", "-ERR value is not an integer or out of range\r\n");
	run(f, "mset a 1 b 2", "+OK\r\n");
	run(f, "mget a b c", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
	run(f, "exists a a c", ":2\r\n");
	run(f, "del a b c", ":2\r\n");
	run(f, "dbsize", ":1\r\n");
	run(f, "flushall", "+OK\r\n");
	run(f, "dbsize", ":0\r\n");
}

static void incr_should_refuse_non_integers_and_overflow(void **state)
{
	struct fixture *f = *state;

	run(f, "incr n", ":1\r\n");
	run(f, "incrby n 10", ":11\r\n");
	run(f, "decrby n 12", ":-1\r\n");
	run(f, "decr n", ":-2\r\n");
	run(f, "set s 1x", "+OK\r\n");
	run(f, "incr s", "-ERR value is not an integer or out of range\r\n");
	run(f, "set m 9223372036854775807", "+OK\r\n");
	run(f, "incr m", "-ERR increment or decrement would overflow\r\n");
	run(f, "decrby n -9223372036854775808", "-ERR decrement would overflow\r\n");
}

/* Found by Redis's unit/type/incr and unit/type/hash: a number with a NUL inside is not a number, an infinite
 * HINCRBYFLOAT increment is refused with Redis's words, and a SETRANGE past what can be stored says what Redis says. */
static void float_increments_should_refuse_embedded_nul_and_infinity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_set(f->store, "nul", 3, "1\0" "2", 3, 0, 0, 1000), 0);
	run(f, "incrbyfloat nul 1", "-ERR value is not a valid float\r\n");
	run(f, "incrbyfloat ok 1\x01", "-ERR value is not a valid float\r\n");
	assert_int_equal(store_set(f->store, "h", 1, "\1\0\0\0f\3\0\0\0" "1\0" "2", 12, 0, STORE_SET_HASH, 1000), 0);
	run(f, "hincrbyfloat h f 1", "-ERR hash value is not a float\r\n");
	run(f, "hincrbyfloat h g +inf", "-ERR value is NaN or Infinity\r\n");
	run(f, "hincrbyfloat h g -inf", "-ERR value is NaN or Infinity\r\n");
	run(f, "incrbyfloat x +inf", "-ERR increment would produce NaN or Infinity\r\n");
	run(f, "setrange s 9223372036854775807 A",
	    "-ERR string exceeds maximum allowed size (spot memory holds at most 2097136 bytes of key and value)\r\n");
	run(f, "setrange s 2147483647 A",
	    "-ERR string exceeds maximum allowed size (spot memory holds at most 2097136 bytes of key and value)\r\n");
}

static void expire_should_honour_time_and_options(void **state)
{
	struct fixture *f = *state;

	run(f, "set k v", "+OK\r\n");
	run(f, "ttl k", ":-1\r\n");
	run(f, "expire k 10 XX", ":0\r\n");
	run(f, "expire k 10 NX", ":1\r\n");
	run(f, "ttl k", ":10\r\n");
	run(f, "pttl k", ":10000\r\n");
	run(f, "expire k 5 GT", ":0\r\n");
	run(f, "expire k 5 LT", ":1\r\n");
	run(f, "expire k 5 NX GT", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
	run_at(f, 5999, "get k", "$1\r\nv\r\n");
	run_at(f, 6000, "get k", "$-1\r\n");
	run(f, "ttl k", ":-2\r\n");
	run(f, "set k v", "+OK\r\n");
	run(f, "pexpire k 100", ":1\r\n");
	run(f, "persist k", ":1\r\n");
	run(f, "persist k", ":0\r\n");
	run(f, "expire k 0", ":1\r\n");
	run(f, "exists k", ":0\r\n");
	run(f, "expire k 10", ":0\r\n");
}

static void writes_without_chunks_should_get_oom(void **state)
{
	struct fixture *f = *state;

	run(f, "set k v", "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
	run(f, "incr k", "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
	run(f, "get k", "$-1\r\n");
}

static void a_password_should_be_required_first(void **state)
{
	struct fixture *f = *state;

	run(f, "get k", "-NOAUTH Authentication required.\r\n");
	run(f, "hello 2", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
			  "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
			  "select the RESP protocol version at the same time\r\n");
	run(f, "auth pX", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	run(f, "auth p", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	run(f, "auth bob pw", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	assert_false(f->cl.authed);
	run(f, "auth default pw", "+OK\r\n");
	assert_true(f->cl.authed);
	run(f, "get k", "$-1\r\n");
}

static void hello_should_answer_resp2_and_refuse_resp3(void **state)
{
	struct fixture *f = *state;

	run(f, "hello 3", "-NOPROTO unsupported protocol version\r\n");
	run(f, "hello x", "-ERR Protocol version is not an integer or out of range\r\n");
	run(f, "hello 2 SETNAME me",
	    "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
	    "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:7\r\n"
	    "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
	run(f, "client getname", "$2\r\nme\r\n");
	run(f, "auth x", "-ERR AUTH <password> called without any password configured for the default user. Are you "
			 "sure your configuration is correct?\r\n");
}

static void admin_commands_should_satisfy_redis_tools(void **state)
{
	struct fixture *f = *state;
	char want[64];

	run(f, "command", "*0\r\n");
	run(f, "command docs", "*0\r\n");
	run(f, "command count", ":77\r\n");
	run(f, "command bogus", "-ERR unknown subcommand 'bogus'. Try COMMAND HELP.\r\n");
	run(f, "config get save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
	run(f, "config get appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	snprintf(want, sizeof(want), "*2\r\n$9\r\nmaxmemory\r\n$7\r\n%u\r\n", CHUNK);
	run(f, "CONFIG GET MAXMEMORY", want);
	run(f, "config get nothing", "*0\r\n");
	run(f, "config set save x", "-ERR CONFIG SET failed (possibly related to argument 'save') - spot memory persists "
				    "nothing\r\n");
	run(f, "config set hash-max-listpack-entries 1", "+OK\r\n");
	run(f, "config get hash-max-listpack-entries", "*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n1\r\n");
	/* All or nothing: a bad pair after a good one changes nothing. */
	run(f, "config set hash-max-listpack-entries 7 save x",
	    "-ERR CONFIG SET failed (possibly related to argument 'save') - spot memory persists nothing\r\n");
	run(f, "config get hash-max-ziplist-entries", "*2\r\n$24\r\nhash-max-ziplist-entries\r\n$1\r\n1\r\n");
	run(f, "memory usage nokey", "$-1\r\n");
	run(f, "client setinfo lib-name x", "+OK\r\n");
	run(f, "client id", ":7\r\n");
	run(f, "select 0", "+OK\r\n");
	run(f, "select 1", "-ERR DB index is out of range\r\n");
	run(f, "quit", "+OK\r\n");
	assert_true(f->cl.quit);
}

static void info_should_report_capacity_keys_and_losses(void **state)
{
	struct fixture *f = *state;
	char text[4096];
	void *out[1];

	run(f, "set k v", "+OK\r\n");
	f->out.len = 0;
	cmd_exec(&f->env, &f->cl, &f->out, 1, (struct cmd_arg[]){ { "info", 4 } }, 1000);
	snprintf(text, sizeof(text), "%.*s", (int)f->out.len, f->out.data);
	assert_non_null(strstr(text, "# Memory\r\n"));
	assert_non_null(strstr(text, "\r\nmaxmemory:2097152\r\n"));
	assert_non_null(strstr(text, "\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"));
	assert_non_null(strstr(text, "\r\ndeflation_losses:0\r\n"));
	/* The chunk goes: the key is a loss, the capacity is zero. */
	assert_int_equal(store_chunks_take(f->store, 1, out), 1);
	assert_ptr_equal(out[0], f->chunk);
	f->out.len = 0;
	cmd_exec(&f->env, &f->cl, &f->out, 2, (struct cmd_arg[]){ { "info", 4 }, { "stats", 5 } }, 1000);
	snprintf(text, sizeof(text), "%.*s", (int)f->out.len, f->out.data);
	assert_non_null(strstr(text, "\r\ndeflation_losses:1\r\n"));
	assert_null(strstr(text, "# Memory"));
	run(f, "get k", "$-1\r\n");
}

/* Redis's keyspace_hits and _misses: one per key a read command looks up; writes and other commands count none. */
static void read_commands_should_count_a_hit_or_a_miss_per_key(void **state)
{
	struct fixture *f = *state;
	uint64_t commands = f->env.commands;

	run(f, "set a 1", "+OK\r\n");
	run(f, "hset h f v", ":1\r\n");
	run(f, "set a 2", "+OK\r\n");
	run(f, "append a 3", ":2\r\n");
	run(f, "del nope", ":0\r\n");
	run(f, "ping", "+PONG\r\n");
	assert_int_equal(f->env.hits, 0);
	assert_int_equal(f->env.misses, 0);
	run(f, "get a", "$2\r\n23\r\n");
	run(f, "get nope", "$-1\r\n");
	run(f, "mget a nope a", "*3\r\n$2\r\n23\r\n$-1\r\n$2\r\n23\r\n");
	assert_int_equal(f->env.hits, 3);
	assert_int_equal(f->env.misses, 2);
	run(f, "exists a nope h", ":2\r\n");
	run(f, "type nope", "+none\r\n");
	run(f, "ttl a", ":-1\r\n");
	run(f, "strlen nope", ":0\r\n");
	run(f, "hget h f", "$1\r\nv\r\n");
	run(f, "hget h2 f", "$-1\r\n");
	/* A key of another type was found: a hit, as in Redis, whatever the reply. */
	run(f, "get h", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	assert_int_equal(f->env.hits, 3 + 2 + 1 + 1 + 1);
	assert_int_equal(f->env.misses, 2 + 1 + 1 + 1 + 1);
	/* Every command counts, refused ones too. */
	run(f, "get", "-ERR wrong number of arguments for 'get' command\r\n");
	assert_int_equal(f->env.commands, commands + 17);
	assert_int_equal(f->env.hits, 8);
}

/* Command names match whatever the case of their letters, and nothing else: not a prefix, not a longer name, not a
 * name with a NUL or a byte that only a careless case fold (| 0x20) would take for a letter. */
static void command_names_should_match_only_themselves(void **state)
{
	(void)state;
	assert_non_null(cmd_find("GET", 3));
	assert_ptr_equal(cmd_find("get", 3), cmd_find("GeT", 3));
	assert_string_equal(cmd_find("gEt", 3)->name, "get");
	assert_string_equal(cmd_find("GETRANGE", 8)->name, "getrange");
	assert_null(cmd_find("ge", 2));
	assert_null(cmd_find("gets", 4));
	assert_null(cmd_find("get\0", 4));
	assert_null(cmd_find("g\x05t", 3));
	assert_null(cmd_find("GE\x14", 3));
	assert_null(cmd_find("", 0));
	/* Only A-Z fold: not the bytes a bit 0x20 or 0x80 away from a letter, nor a name past 16 bytes. */
	assert_null(cmd_find("\xc7" "ET", 3));
	assert_null(cmd_find("G\xe5T", 3));
	assert_null(cmd_find("GE\x54\x00", 4));
	assert_null(cmd_find("G@T", 3));
	assert_null(cmd_find("GE[", 3));
	assert_non_null(cmd_find("INCRBYFLOAT", 11));
	/* A name past 8 bytes is two words: a difference in the second one alone must tell it apart. */
	assert_null(cmd_find("INCRBYFLOAX", 11));
	assert_null(cmd_find("INCRBYFXOAT", 11));
	assert_null(cmd_find("INCRBYFLOAT\0\0\0\0\0", 16));
	assert_null(cmd_find("INCRBYFLOATINCRBYFLOAT", 17));
	assert_null(cmd_find("aaaaaaaaaaaaaaaa", 16));
	for (size_t i = 0; i < cmd_table_len; i++)
		assert_ptr_equal(cmd_find(cmd_table[i].name, strlen(cmd_table[i].name)), &cmd_table[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unknown_commands_should_get_redis_error_text, setup, teardown),
		cmocka_unit_test(command_names_should_match_only_themselves),
		cmocka_unit_test_setup_teardown(set_and_get_should_follow_redis_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(incr_should_refuse_non_integers_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(expire_should_honour_time_and_options, setup, teardown),
		cmocka_unit_test_setup_teardown(float_increments_should_refuse_embedded_nul_and_infinity, setup, teardown),
		cmocka_unit_test_setup_teardown(writes_without_chunks_should_get_oom, setup_no_chunks, teardown),
		cmocka_unit_test_setup_teardown(a_password_should_be_required_first, setup_password, teardown),
		cmocka_unit_test_setup_teardown(hello_should_answer_resp2_and_refuse_resp3, setup, teardown),
		cmocka_unit_test_setup_teardown(admin_commands_should_satisfy_redis_tools, setup, teardown),
		cmocka_unit_test_setup_teardown(info_should_report_capacity_keys_and_losses, setup, teardown),
		cmocka_unit_test_setup_teardown(read_commands_should_count_a_hit_or_a_miss_per_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
