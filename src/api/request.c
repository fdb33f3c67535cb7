#include "api/request.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/text.h"

enum kind { KIND_U16, KIND_U32, KIND_MIB, KIND_BOOL };

/* One accepted field of a request body: where it goes in the output struct and which bit marks it present. */
struct field {
	const char *name;
	enum kind kind;
	bool required;
	size_t offset;
	unsigned int bit;
};

static const char *const kind_expectation[] = {
	[KIND_U16] = "expected an unsigned 16-bit integer",
	[KIND_U32] = "expected an unsigned 32-bit integer",
	[KIND_MIB] = "expected an unsigned integer number of MiB, at most 17592186044415",
	[KIND_BOOL] = "expected true or false",
};

static_assert(API_MIB_MAX == UINT64_C(17592186044415), "KIND_MIB's message names API_MIB_MAX");
static const uint64_t kind_max[] = { [KIND_U16] = UINT16_MAX, [KIND_U32] = UINT32_MAX, [KIND_MIB] = API_MIB_MAX };

static bool is_blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r')
			return false;
	return true;
}

/* Stores v into dst at f->offset; false if v has the wrong type or is out of range. */
static bool store(const struct field *f, const json_t *v, char *dst)
{
	json_int_t n;

	if (f->kind == KIND_BOOL) {
		if (!json_is_boolean(v))
			return false;
		*(bool *)(dst + f->offset) = json_is_true(v);
		return true;
	}
	/* json_is_integer is false for reals, so 1.0 and 1e3 are refused along with strings and null. */
	if (!json_is_integer(v))
		return false;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > kind_max[f->kind])
		return false;
	if (f->kind == KIND_U16)
		*(uint16_t *)(dst + f->offset) = (uint16_t)n;
	else if (f->kind == KIND_U32)
		*(uint32_t *)(dst + f->offset) = (uint32_t)n;
	else
		*(uint64_t *)(dst + f->offset) = (uint64_t)n;
	return true;
}

static const struct field *find_field(const struct field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

/*
 * Parses body as a JSON object whose members are all in fields and stores them into dst. Sets *present to the
 * bits of the fields found. Returns 0 or -EINVAL with a message; dst may be partly written on error.
 */
static int parse_fields(const char *body, size_t len, const struct field *fields, size_t n, void *dst,
			unsigned int *present, char *err, size_t err_len)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	int rc = 0;

	*present = 0;
	if (is_blank(body, len)) {
		snprintf(err, err_len, "request body is empty: expected a JSON object");
		return -EINVAL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, err_len, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, err_len, "expected a JSON object");
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(root, key, v) {
		const struct field *f = find_field(fields, n, key);
		char name[TEXT_QUOTE_LEN];

		if (!f) {
			snprintf(err, err_len, "unknown field '%s'", text_printable(name, sizeof(name), key));
			rc = -EINVAL;
			goto out;
		}
		if (!store(f, v, dst)) {
			snprintf(err, err_len, "%s: %s", f->name, kind_expectation[f->kind]);
			rc = -EINVAL;
			goto out;
		}
		*present |= f->bit;
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && !(*present & fields[i].bit)) {
			snprintf(err, err_len, "missing field '%s'", fields[i].name);
			rc = -EINVAL;
			goto out;
		}
	}
out:
	json_decref(root);
	return rc;
}

#define BALLOON_FIELD(member, kind, required, bit) \
	{ #member, kind, required, offsetof(struct api_balloon, member), bit }

int request_parse_balloon_put(const char *body, size_t len, struct api_balloon *out, char *err, size_t err_len)
{
	static const struct field fields[] = {
		BALLOON_FIELD(amount_mib, KIND_U32, true, 1u << 0),
		BALLOON_FIELD(deflate_on_oom, KIND_BOOL, true, 1u << 1),
		BALLOON_FIELD(stats_polling_interval_s, KIND_U16, false, 1u << 2),
	};
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_fields(body, len, fields, sizeof(fields) / sizeof(fields[0]), &b, &present, err, err_len);

	if (!rc)
		*out = b;
	return rc;
}

int request_parse_balloon_patch(const char *body, size_t len, uint32_t *amount_mib, char *err, size_t err_len)
{
	static const struct field fields[] = { BALLOON_FIELD(amount_mib, KIND_U32, true, 1u << 0) };
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_fields(body, len, fields, 1, &b, &present, err, err_len);

	if (!rc)
		*amount_mib = b.amount_mib;
	return rc;
}

int request_parse_stats_patch(const char *body, size_t len, uint16_t *interval_s, char *err, size_t err_len)
{
	static const struct field fields[] = { BALLOON_FIELD(stats_polling_interval_s, KIND_U16, true, 1u << 0) };
	struct api_balloon b = { 0 };
	unsigned int present;
	int rc = parse_fields(body, len, fields, 1, &b, &present, err, err_len);

	if (!rc)
		*interval_s = b.stats_polling_interval_s;
	return rc;
}

#define TARGET_FIELD(member, bit) { #member, KIND_MIB, false, offsetof(struct api_targets, member), bit }

int request_parse_targets_patch(const char *body, size_t len, struct api_targets *out, unsigned int *mask,
				char *err, size_t err_len)
{
	static const struct field fields[] = {
		TARGET_FIELD(grab_lower_mib, API_TARGET_GRAB_LOWER),
		TARGET_FIELD(grab_upper_mib, API_TARGET_GRAB_UPPER),
		TARGET_FIELD(swap_target_mib, API_TARGET_SWAP_TARGET),
		TARGET_FIELD(headroom_mib, API_TARGET_HEADROOM),
		TARGET_FIELD(threshold_mib, API_TARGET_THRESHOLD),
	};
	struct api_targets t = *out;
	unsigned int present;
	int rc = parse_fields(body, len, fields, sizeof(fields) / sizeof(fields[0]), &t, &present, err, err_len);

	if (rc)
		return rc;
	if (!present) {
		snprintf(err, err_len, "expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, "
				       "headroom_mib, threshold_mib");
		return -EINVAL;
	}
	*out = t;
	*mask = present;
	return 0;
}
