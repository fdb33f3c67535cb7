/* test_spot_users: the tenants file parser, the users' keyspaces, quotas, and the proportional deflation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "spot/config.h"
#include "spot/users.h"

#define CHUNK STORE_CHUNK_SIZE

static int parse(const char *text, struct spot_config *cfg, char *err)
{
	spot_config_init(cfg);
	return spot_config_parse_tenants(text, strlen(text), cfg, err, 160);
}

static void parse_tenants_should_read_names_passwords_and_quotas(void **state)
{
	struct spot_config cfg;
	char err[160];

	(void)state;
	assert_int_equal(parse("# comment\n\nalice pw-a 64M\r\n\tbob  pw-b\nc.d-e_f x 0\n", &cfg, err), 0);
	assert_int_equal(cfg.ntenants, 3);
	assert_string_equal(cfg.tenants[0].name, "alice");
	assert_string_equal(cfg.tenants[0].password, "pw-a");
	assert_int_equal(cfg.tenants[0].quota, 64u << 20);
	assert_string_equal(cfg.tenants[1].name, "bob");
	assert_int_equal(cfg.tenants[1].quota, 0);
	assert_string_equal(cfg.tenants[2].name, "c.d-e_f");
}

static void parse_tenants_should_refuse_bad_lines_and_keep_nothing(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "alice\n", "line 1: want NAME PASSWORD [QUOTA]" },
		{ "ok pw\nalice pw 1G extra\n", "line 2: want NAME PASSWORD [QUOTA]" },
		{ "alice pw lots\n", "line 1: tenant alice: the quota 'lots' is not a size (64M, 1G)" },
		{ "default pw\n", "line 1: 'default' is the default user, not a tenant" },
		{ "al/ice pw\n", "line 1: a tenant name may only hold A-Z a-z 0-9 _ . -" },
		{ "a pw\nb pw\na pw2\n", "line 3: tenant a is defined twice" },
		{ "a p\001w\n", "line 1: tenant a: a password may only hold printable characters, no spaces" },
	};
	struct spot_config cfg;
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].text, &cfg, err), -EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(cfg.ntenants, 0);
		/* The message never carries a password. */
		assert_null(strstr(err, "pw"));
	}
}

static void parse_tenants_should_stop_at_the_maximum(void **state)
{
	char text[2048] = "", line[64];
	struct spot_config cfg;
	char err[160];

	(void)state;
	for (unsigned i = 0; i <= SPOT_MAX_TENANTS; i++) {
		snprintf(line, sizeof(line), "t%u pw\n", i);
		strcat(text, line);
	}
	assert_int_equal(parse(text, &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "more than"));
	assert_int_equal(cfg.ntenants, 0);
}

static void apportion_should_take_in_proportion_to_the_excess_over_the_share(void **state)
{
	uint64_t held[3] = { 0, 8, 6 }, take[3];
	bool live[3] = { true, true, true };

	(void)state;
	/* 14 held, 6 taken: 8 left, a share of 2 each; excess 0, 6, 4. */
	users_apportion(held, live, 3, 6, take);
	assert_int_equal(take[0], 0);
	assert_int_equal(take[1], 4);
	assert_int_equal(take[2], 2);
	/* Everything: all of each. */
	users_apportion(held, live, 3, 100, take);
	assert_int_equal(take[0] + take[1] + take[2], 14);
	assert_int_equal(take[1], 8);
	/* A user under its share gives nothing while others are above it. */
	held[0] = 1;
	held[1] = 9;
	held[2] = 5;
	users_apportion(held, live, 3, 3, take);
	assert_int_equal(take[0], 0);
	assert_int_equal(take[1] + take[2], 3);
	assert_true(take[1] >= take[2]);
	/* A slot not live holds nothing and gives nothing. */
	live[2] = false;
	users_apportion(held, live, 3, 2, take);
	assert_int_equal(take[2], 0);
	assert_int_equal(take[0] + take[1], 2);
}

static struct spot_users us;

static void *map_chunk(void)
{
	void *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void setup_users(const char *tenants, size_t chunks)
{
	struct spot_config cfg;
	char err[160];

	assert_int_equal(parse(tenants, &cfg, err), 0);
	snprintf(cfg.password, sizeof(cfg.password), "dpw");
	assert_int_equal(users_init(&us, &cfg, 7), 0);
	for (size_t i = 0; i < chunks; i++)
		assert_int_equal(users_chunk_add(&us, map_chunk(), CHUNK), 0);
}

static void teardown_users(void)
{
	void *out[64];
	size_t got = users_chunks_take(&us, 64, out);

	for (size_t i = 0; i < got; i++)
		munmap(out[i], CHUNK);
	users_fini(&us);
}

static void users_should_keep_keyspaces_apart(void **state)
{
	struct store_val v;
	int a, b;

	(void)state;
	setup_users("a pa\nb pb 64K\n", 4);
	a = users_find(&us, "a", 1);
	b = users_find(&us, "b", 1);
	assert_int_equal(users_find(&us, "default", 7), 0);
	assert_true(a > 0 && b > 0 && a != b);
	assert_int_equal(users_find(&us, "c", 1), -1);
	assert_int_equal(store_set(us.u[a].store, "k", 1, "va", 2, 0, 0, 1), 0);
	assert_int_equal(store_get(us.u[b].store, "k", 1, 1, &v), -ENOENT);
	assert_int_equal(store_get(us.u[0].store, "k", 1, 1, &v), -ENOENT);
	assert_int_equal(store_get(us.u[a].store, "k", 1, 1, &v), 0);
	assert_true(users_password_ok(&us, a, "pa", 2));
	assert_false(users_password_ok(&us, a, "pb", 2));
	assert_false(users_password_ok(&us, a, "pa2", 3));
	assert_false(users_password_ok(&us, a, "p", 1));
	assert_true(users_password_ok(&us, 0, "dpw", 3));
	/* b's quota: 64 KiB of slots, then -ENOMEM whatever the chunks free. */
	{
		static char val[20000];
		int err = 0, n = 0;

		while (n < 100 && (err = store_set(us.u[b].store, (char[]){ (char)('a' + n % 26), (char)n }, 2, val,
						   sizeof(val), 0, 0, 1)) == 0)
			n++;
		assert_int_equal(err, -ENOMEM);
		assert_true(n >= 2 && n <= 3);
	}
	assert_int_equal(users_add(&us, &(struct spot_tenant_spec){ "a", "x", 0 }), -EEXIST);
	assert_int_equal(users_add(&us, &(struct spot_tenant_spec){ "default", "x", 0 }), -EINVAL);
	assert_int_equal(users_del(&us, "default", 7), -ENOENT);
	assert_int_equal(users_del(&us, "a", 1), 0);
	assert_int_equal(users_find(&us, "a", 1), -1);
	assert_int_equal(users_add(&us, &(struct spot_tenant_spec){ "a", "new", 0 }), 0);
	a = users_find(&us, "a", 1);
	assert_int_equal(store_get(us.u[a].store, "k", 1, 1, &v), -ENOENT);
	teardown_users();
}

static void users_without_tenants_should_give_every_chunk_to_the_default_store(void **state)
{
	struct store_stats st;

	(void)state;
	setup_users("", 3);
	store_get_stats(us.u[0].store, &st);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(us.npool, 0);
	teardown_users();
}

static void users_should_deflate_the_pool_first_then_the_excess(void **state)
{
	static char val[1500000];
	struct store_stats st, tot;
	void *out[16];
	int a, b;
	size_t got;

	(void)state;
	setup_users("a pa\nb pb\n", 16);
	a = users_find(&us, "a", 1);
	b = users_find(&us, "b", 1);
	for (int i = 0; i < 8; i++)
		assert_int_equal(store_set(us.u[a].store, &"01234567"[i], 1, val, sizeof(val), 0, 0, 1), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(store_set(us.u[b].store, &"01234567"[i], 1, val, sizeof(val), 0, 0, 1), 0);
	assert_int_equal(us.npool, 2);
	users_totals(&us, &tot);
	assert_int_equal(tot.capacity, 16ull * CHUNK);
	assert_int_equal(tot.keys, 14);
	got = users_chunks_take(&us, 8, out);
	assert_int_equal(got, 8);
	for (size_t i = 0; i < got; i++)
		munmap(out[i], CHUNK);
	store_get_stats(us.u[a].store, &st);
	assert_int_equal(st.chunks, 4);
	assert_int_equal(st.keys, 4);
	store_get_stats(us.u[b].store, &st);
	assert_int_equal(st.chunks, 4);
	/* The default user, under its share with the pool empty, takes a chunk from the one most above it. */
	assert_int_equal(store_set(us.u[0].store, "d", 1, "v", 1, 0, 0, 1), 0);
	store_get_stats(us.u[0].store, &st);
	assert_int_equal(st.chunks, 1);
	users_totals(&us, &tot);
	assert_int_equal(tot.chunks, 8);
	teardown_users();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_tenants_should_read_names_passwords_and_quotas),
		cmocka_unit_test(parse_tenants_should_refuse_bad_lines_and_keep_nothing),
		cmocka_unit_test(parse_tenants_should_stop_at_the_maximum),
		cmocka_unit_test(apportion_should_take_in_proportion_to_the_excess_over_the_share),
		cmocka_unit_test(users_should_keep_keyspaces_apart),
		cmocka_unit_test(users_without_tenants_should_give_every_chunk_to_the_default_store),
		cmocka_unit_test(users_should_deflate_the_pool_first_then_the_excess),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
