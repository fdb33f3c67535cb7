/* Unit tests of src/policy/targets.c: one set of rules and one error text for every door a target comes in by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "common/size.h"
#include "policy/targets.h"

#define DOMAIN (8 * GIB)

static struct targets defaults(void)
{
	struct targets t;

	targets_defaults(&t, DOMAIN);
	return t;
}

static int update1(struct targets *t, enum target_field f, uint64_t v, char *err, size_t len)
{
	struct targets change = { { 0 } };

	change.v[f] = v;
	return targets_update(t, &change, TARGET_BIT(f), DOMAIN, t, err, len);
}

static void defaults_should_be_no_grab_no_cap_and_a_quarter_headroom_at_most(void **state)
{
	struct targets t = defaults();

	assert_true(t.v[TARGET_GRAB_LOWER] == 0 && t.v[TARGET_GRAB_UPPER] == DOMAIN);
	assert_true(t.v[TARGET_HEADROOM] == GIB && t.v[TARGET_THRESHOLD] == GIB && t.v[TARGET_SWAP_TARGET] == 0);
	targets_defaults(&t, 2 * GIB);
	assert_true(t.v[TARGET_HEADROOM] == 512 * MIB);
	/* A domain smaller than the default threshold: the defaults must pass their own rules. */
	targets_defaults(&t, 256 * MIB);
	assert_true(t.v[TARGET_THRESHOLD] == 256 * MIB && t.v[TARGET_HEADROOM] == 64 * MIB);
	char err[128];
	struct targets none = { { 0 } };
	assert_int_equal(targets_update(&t, &none, 0, 256 * MIB, &t, err, sizeof(err)), 0);
}

static void values_above_the_domain_should_be_refused_with_the_fields_name(void **state)
{
	struct targets t = defaults(), before = t;
	char err[128];

	assert_int_equal(update1(&t, TARGET_GRAB_LOWER, 9 * GIB, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "grab_lower (9G) is larger than the domain (8G)");
	assert_int_equal(update1(&t, TARGET_SWAP_TARGET, 9 * GIB, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "swap_target (9G) is larger than the domain (8G)");
	assert_int_equal(update1(&t, TARGET_THRESHOLD, UINT64_MAX, err, sizeof(err)), -EINVAL);
	assert_memory_equal(&t, &before, sizeof(t));
}

static void an_upper_bound_above_the_domain_should_mean_no_cap(void **state)
{
	struct targets t = defaults();
	char err[128];

	assert_int_equal(update1(&t, TARGET_GRAB_UPPER, 100 * GIB, err, sizeof(err)), 0);
	assert_true(t.v[TARGET_GRAB_UPPER] == DOMAIN);
	assert_int_equal(update1(&t, TARGET_GRAB_UPPER, UINT64_MAX, err, sizeof(err)), 0);
	assert_true(t.v[TARGET_GRAB_UPPER] == DOMAIN);
}

static void lower_above_upper_should_be_refused_whichever_moved(void **state)
{
	struct targets t = defaults(), change = { { 0 } };
	char err[128];

	assert_int_equal(update1(&t, TARGET_GRAB_UPPER, GIB, err, sizeof(err)), 0);
	assert_int_equal(update1(&t, TARGET_GRAB_LOWER, 2 * GIB, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "grab_lower (2G) is larger than grab_upper (1G)");
	/* Both in one change: judged together, so lowering the upper bound below the new lower one fails too. */
	change.v[TARGET_GRAB_LOWER] = 512 * MIB;
	change.v[TARGET_GRAB_UPPER] = 256 * MIB;
	assert_int_equal(targets_update(&t, &change, TARGET_BIT(TARGET_GRAB_LOWER) | TARGET_BIT(TARGET_GRAB_UPPER),
					DOMAIN, &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "grab_lower (512M) is larger than grab_upper (256M)");
	change.v[TARGET_GRAB_UPPER] = 4 * GIB;
	assert_int_equal(targets_update(&t, &change, TARGET_BIT(TARGET_GRAB_LOWER) | TARGET_BIT(TARGET_GRAB_UPPER),
					DOMAIN, &t, err, sizeof(err)), 0);
	assert_true(t.v[TARGET_GRAB_LOWER] == 512 * MIB && t.v[TARGET_GRAB_UPPER] == 4 * GIB);
}

static void headroom_above_a_quarter_should_be_refused(void **state)
{
	struct targets t = defaults();
	char err[128];

	assert_int_equal(update1(&t, TARGET_HEADROOM, 3 * GIB, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "headroom (3G) is larger than a quarter of the domain (2G)");
	assert_int_equal(update1(&t, TARGET_HEADROOM, 2 * GIB, err, sizeof(err)), 0);
}

static void fields_outside_the_mask_should_be_ignored(void **state)
{
	struct targets t = defaults(), change;
	char err[128];

	for (int f = 0; f < TARGET_COUNT; f++)
		change.v[f] = UINT64_MAX;
	assert_int_equal(targets_update(&t, &change, 0, DOMAIN, &t, err, sizeof(err)), 0);
	struct targets d = defaults();
	assert_memory_equal(&t, &d, sizeof(t));
}

static void lookup_should_know_every_spelling(void **state)
{
	for (int f = 0; f < TARGET_COUNT; f++) {
		assert_int_equal(target_lookup(target_descs[f].name), f);
		assert_int_equal(target_lookup(target_descs[f].flag), f);
		assert_int_equal(target_lookup(target_descs[f].mib_key), f);
	}
	assert_int_equal(target_lookup("grab"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_should_be_no_grab_no_cap_and_a_quarter_headroom_at_most),
		cmocka_unit_test(values_above_the_domain_should_be_refused_with_the_fields_name),
		cmocka_unit_test(an_upper_bound_above_the_domain_should_mean_no_cap),
		cmocka_unit_test(lower_above_upper_should_be_refused_whichever_moved),
		cmocka_unit_test(headroom_above_a_quarter_should_be_refused),
		cmocka_unit_test(fields_outside_the_mask_should_be_ignored),
		cmocka_unit_test(lookup_should_know_every_spelling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
