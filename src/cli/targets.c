#include "cli/targets.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/size.h"

int target_size_mib(const char *text, uint64_t *mib)
{
	uint64_t bytes;
	int rc = size_parse(text, &bytes);

	if (rc)
		return rc;
	/* The API speaks whole MiB; rounding silently would set something the user did not type. */
	if (bytes % MIB)
		return -EDOM;
	/* jansson integers are signed 64-bit: any MiB count from a 64-bit byte size fits. */
	*mib = bytes / MIB;
	return 0;
}

const char *target_size_error(int rc)
{
	return rc == -ERANGE ? "too large" : rc == -EDOM ? "not a whole number of MiB" : "not a size";
}

char *target_patch_body(const struct target_patch *patch)
{
	json_t *obj = json_object();
	char *body = NULL;

	if (!obj)
		return NULL;
	for (int i = 0; i < TARGET_COUNT; i++) {
		if (!(patch->mask & (1u << i)))
			continue;
		if (json_object_set_new(obj, target_descs[i].mib_key, json_integer((json_int_t)patch->mib[i])))
			goto out;
	}
	body = json_dumps(obj, JSON_COMPACT);
out:
	json_decref(obj);
	return body;
}
