/*
 * request: strict parsing of request bodies into structs. Pure functions (no I/O, no backend): a body either
 * becomes a struct or a message saying what is wrong, e.g. "unknown field 'amout_mib'" or
 * "amount_mib: expected an unsigned 32-bit integer". Unknown fields, wrong types, floats, negative or out-of-range
 * numbers, duplicate keys, trailing garbage and empty bodies are refused.
 *
 * Each function returns 0 and fills its output, or -EINVAL and writes the message to err (NUL-terminated,
 * err_len bytes at most) leaving the output untouched. body need not be NUL-terminated.
 */
#ifndef USBD_API_REQUEST_H
#define USBD_API_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/* PUT /balloon: amount_mib (u32) and deflate_on_oom (bool) required, stats_polling_interval_s (u16, default 0). */
int request_parse_balloon_put(const char *body, size_t len, struct api_balloon *out, char *err, size_t err_len);
/* PATCH /balloon: amount_mib (u32) only. */
int request_parse_balloon_patch(const char *body, size_t len, uint32_t *amount_mib, char *err, size_t err_len);
/* PATCH /balloon/statistics: stats_polling_interval_s (u16) only. */
int request_parse_stats_patch(const char *body, size_t len, uint16_t *interval_s, char *err, size_t err_len);
/*
 * PATCH /usbd/targets: a non-empty subset of api_targets' fields, each 0..API_MIB_MAX. Sets the fields present in
 * *out and their bits (enum api_target_field) in *mask; fields absent are left as they were.
 */
int request_parse_targets_patch(const char *body, size_t len, struct api_targets *out, unsigned int *mask,
				char *err, size_t err_len);

#endif
