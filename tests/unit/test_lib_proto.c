#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/proto.h"

static union umsg_any msg(uint16_t type)
{
	union umsg_any m;

	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, type, 7);
	return m;
}

static void check_should_accept_every_type_at_its_size(void **state)
{
	for (uint16_t t = UMSG_REGISTER; t <= UMSG_REPLY; t++) {
		union umsg_any m = msg(t);
		assert_int_equal(umsg_check(&m, umsg_size(t)), 0);
	}
}

static void check_should_refuse_short_long_and_mislabelled_packets(void **state)
{
	union umsg_any m = msg(UMSG_REGISTER);

	assert_int_equal(umsg_check(&m, sizeof(struct umsg_hdr) - 1), -EBADMSG);
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_register) + 1), -EBADMSG);
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_register) - 1), -EBADMSG);
	m.hdr.len = sizeof(struct umsg_pageout);
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_pageout)), -EBADMSG);
	m = msg(UMSG_REGISTER);
	m.hdr.type = 99;
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_register)), -EBADMSG);
	m = msg(UMSG_REGISTER);
	m.hdr.magic ^= 1;
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_register)), -EBADMSG);
}

static void check_should_refuse_another_version(void **state)
{
	union umsg_any m = msg(UMSG_UNREGISTER);

	m.hdr.version = UMSG_VERSION + 1;
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_unregister)), -EPROTONOSUPPORT);
}

static void check_should_refuse_a_pageout_claiming_more_ranges_than_it_carries(void **state)
{
	union umsg_any m = msg(UMSG_PAGEOUT);

	m.pageout.nranges = UMSG_MAX_RANGES;
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_pageout)), 0);
	m.pageout.nranges = UMSG_MAX_RANGES + 1;
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_pageout)), -EBADMSG);
}

static void check_should_refuse_a_reply_message_without_its_nul(void **state)
{
	union umsg_any m = msg(UMSG_REPLY);

	memset(m.reply.message, 'x', sizeof(m.reply.message));
	assert_int_equal(umsg_check(&m, sizeof(struct umsg_reply)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_should_accept_every_type_at_its_size),
		cmocka_unit_test(check_should_refuse_short_long_and_mislabelled_packets),
		cmocka_unit_test(check_should_refuse_another_version),
		cmocka_unit_test(check_should_refuse_a_pageout_claiming_more_ranges_than_it_carries),
		cmocka_unit_test(check_should_refuse_a_reply_message_without_its_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
