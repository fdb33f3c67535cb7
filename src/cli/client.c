#include "cli/client.h"

#include <stdio.h>
#include <string.h>

int client_call(const char *sock, const char *method, const char *path, const char *body, int timeout_ms,
		struct http_response *resp, char *err, size_t errlen)
{
	int rc = http_request(sock, method, path, body, timeout_ms, resp);

	if (rc) {
		snprintf(err, errlen, "cannot talk to usbd on %s: %s", sock, strerror(-rc));
		return CLI_UNREACHABLE;
	}
	if (resp->status >= 200 && resp->status < 300)
		return CLI_OK;
	client_fault(resp, err, errlen);
	http_response_free(resp);
	return CLI_REFUSED;
}

char *client_fault(const struct http_response *resp, char *err, size_t errlen)
{
	json_t *obj = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(obj, "fault_message"));

	if (msg)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "HTTP %d", resp->status);
	json_decref(obj);
	return err;
}

json_t *client_object(const struct http_response *resp, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj = json_loadb(resp->body, resp->body_len, 0, &jerr);

	if (!obj) {
		snprintf(err, errlen, "unreadable reply: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "unreadable reply: not a JSON object");
		json_decref(obj);
		return NULL;
	}
	return obj;
}
