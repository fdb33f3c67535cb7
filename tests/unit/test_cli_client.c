#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/client.h"

static char err[128];

static struct http_response response(int status, const char *body)
{
	return (struct http_response){ .status = status, .body = (char *)body, .body_len = strlen(body) };
}

static void fault_should_be_the_daemons_fault_message(void **state)
{
	struct http_response r =
		response(400, "{\"fault_message\": \"amount_mib: expected an unsigned 32-bit integer\"}");

	assert_string_equal(client_fault(&r, err, sizeof(err)), "amount_mib: expected an unsigned 32-bit integer");
}

static void fault_should_fall_back_to_the_status_without_a_message(void **state)
{
	struct http_response garbage = response(502, "<html>bad gateway</html>");
	struct http_response typed = response(403, "{\"fault_message\": 7}");
	struct http_response empty = response(400, "");

	assert_string_equal(client_fault(&garbage, err, sizeof(err)), "HTTP 502");
	assert_string_equal(client_fault(&typed, err, sizeof(err)), "HTTP 403");
	assert_string_equal(client_fault(&empty, err, sizeof(err)), "HTTP 400");
}

static void object_should_parse_a_json_object_body(void **state)
{
	struct http_response r = response(200, "{\"amount_mib\": 3}");
	json_t *obj = client_object(&r, err, sizeof(err));

	assert_non_null(obj);
	assert_int_equal(json_integer_value(json_object_get(obj, "amount_mib")), 3);
	json_decref(obj);
}

static void object_should_refuse_other_bodies_with_a_reason(void **state)
{
	struct http_response array = response(200, "[1]");
	struct http_response broken = response(200, "{\"a\":");

	assert_null(client_object(&array, err, sizeof(err)));
	assert_string_equal(err, "unreadable reply: not a JSON object");
	assert_null(client_object(&broken, err, sizeof(err)));
	assert_non_null(strstr(err, "unreadable reply: "));
}

static void call_should_report_an_absent_daemon_as_unreachable(void **state)
{
	struct http_response r;

	assert_int_equal(client_call("/nonexistent/usbd.sock", "GET", "/balloon", NULL, 200, &r, err, sizeof(err)),
			 CLI_UNREACHABLE);
	assert_string_equal(err, "cannot talk to usbd on /nonexistent/usbd.sock: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fault_should_be_the_daemons_fault_message),
		cmocka_unit_test(fault_should_fall_back_to_the_status_without_a_message),
		cmocka_unit_test(object_should_parse_a_json_object_body),
		cmocka_unit_test(object_should_refuse_other_bodies_with_a_reason),
		cmocka_unit_test(call_should_report_an_absent_daemon_as_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
