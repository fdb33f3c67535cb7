/*
 * fuzz_control_config: libFuzzer target over config files (control/config.h) and state files (control/targets_file.h).
 * Checks the contract: a refusal leaves the options untouched and says why; an accepted file's strings are valid
 * NUL-terminated text; a parsed state file formats and parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/targets_file.h"

static void check_config(const uint8_t *data, size_t size)
{
	struct options o, before;
	struct config_hold hold;
	char err[256] = "";

	options_defaults(&o);
	before = o;
	if (config_parse((const char *)data, size, &o, &hold, err, sizeof(err))) {
		if (!err[0] || memcmp(&o, &before, sizeof(o)) || hold.doc)
			abort();
		return;
	}
	if ((o.app && !*o.app) || (o.domain && strlen(o.domain) == 0) || o.tick_ms < 10 || o.tick_ms > 10000)
		abort();
	config_release(&hold);
}

static void check_state(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[STATE_MAX_BYTES], err[256];
	struct targets t, back;
	unsigned mask, mask2;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!state_parse(s, &t, &mask, err, sizeof(err)) && state_format(&t, mask, buf, sizeof(buf)) > 0) {
		if (state_parse(buf, &back, &mask2, err, sizeof(err)) || mask2 != mask)
			abort();
		for (int f = 0; f < TARGET_COUNT; f++)
			if ((mask & TARGET_BIT(f)) && back.v[f] != t.v[f])
				abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_config(data, size);
	check_state(data, size);
	return 0;
}
