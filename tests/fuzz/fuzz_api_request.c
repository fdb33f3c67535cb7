/*
 * fuzz_api_request: libFuzzer target over the API's request body validators. The first byte picks the validator,
 * the rest is the body. Checks the return contract: 0 with a sane output, or -EINVAL with a non-empty printable
 * NUL-terminated message, never anything else.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/request.h"

static void check_message(int rc, const char *err, size_t len)
{
	if (!rc)
		return;
	if (rc != -EINVAL || !memchr(err, '\0', len) || !err[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	struct api_targets t = { 1, 2, 3, 4, 5 };
	struct api_balloon b;
	unsigned int mask = 0;
	char err[API_ERR_LEN];
	uint32_t amount;
	uint16_t interval;
	bool ack;
	int rc;

	if (!size)
		return 0;
	memset(err, 'x', sizeof(err));
	switch (data[0] % 6) {
	case 0:
		rc = request_parse_balloon_put(body, size - 1, &b, err, sizeof(err));
		break;
	case 1:
		rc = request_parse_balloon_patch(body, size - 1, &amount, err, sizeof(err));
		break;
	case 2:
		rc = request_parse_stats_patch(body, size - 1, &interval, err, sizeof(err));
		break;
	case 3:
		rc = request_parse_hinting_start(body, size - 1, &ack, err, sizeof(err));
		break;
	case 5: {
		struct api_tenant tn = { 0 };
		size_t pn;

		rc = request_parse_tenant_put(body, size - 1, &tn, err, sizeof(err));
		pn = strnlen(tn.password, sizeof(tn.password));
		/* Accepted: 1 to 127 bytes; refused: nothing of the password kept. */
		if ((!rc && (pn == 0 || pn == sizeof(tn.password))) || (rc && pn))
			abort();
		break;
	}
	default:
		rc = request_parse_targets_patch(body, size - 1, &t, &mask, err, sizeof(err));
		if (!rc && (!mask || mask & ~0x1fu || t.grab_lower_mib > API_MIB_MAX || t.grab_upper_mib > API_MIB_MAX ||
			    t.swap_target_mib > API_MIB_MAX || t.headroom_mib > API_MIB_MAX || t.threshold_mib > API_MIB_MAX))
			abort();
		break;
	}
	check_message(rc, err, sizeof(err));
	return 0;
}
