/* fuzz_spot_tenants: libFuzzer target over tenants files; whatever is accepted passes spot_tenant_check, and a refused
 * file leaves the configuration as it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spot/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spot_config cfg;
	char err[256];

	spot_config_init(&cfg);
	if (spot_config_parse_tenants((const char *)data, size, &cfg, err, sizeof(err)) < 0) {
		if (cfg.ntenants != 0 || !memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	if (cfg.ntenants > SPOT_MAX_TENANTS)
		abort();
	for (uint32_t i = 0; i < cfg.ntenants; i++)
		if (spot_tenant_check(&cfg.tenants[i], err, sizeof(err)) < 0)
			abort();
	return 0;
}
