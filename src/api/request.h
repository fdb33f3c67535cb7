/*
 * request: strict parsing of request bodies into structs, with Firecracker's messages. Firecracker deserializes
 * bodies with serde_json into structs marked deny_unknown_fields; this parser follows the same grammar, order of
 * checks and positions, so that a refused body gets Firecracker's fault_message verbatim, e.g.
 * "An error occurred when deserializing the json body of a request: unknown field `amout_mib`, expected one of
 * `amount_mib`, ... at line 1 column 12." Pure functions (no I/O, no backend).
 *
 * Deviations, both for bad input only: a JSON array is refused where serde would read a struct from a sequence,
 * and echoed text (field names, strings) is cut to 64 bytes with bytes outside printable ASCII shown as '?'.
 *
 * Each function returns 0 and fills its output, or -EINVAL and writes the message to err (NUL-terminated,
 * err_len bytes at most) leaving the output untouched. body need not be NUL-terminated; len > 0 (an empty body
 * is refused before, as Firecracker does: "Empty PATCH request.").
 */
#ifndef USBD_API_REQUEST_H
#define USBD_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/*
 * PUT /balloon (Firecracker's BalloonDeviceConfig): amount_mib (u32) and deflate_on_oom (bool) required;
 * stats_polling_interval_s (u16), free_page_hinting and free_page_reporting (bool) default to 0/false.
 */
int request_parse_balloon_put(const char *body, size_t len, struct api_balloon *out, char *err, size_t err_len);
/* PATCH /balloon (BalloonUpdateConfig): amount_mib (u32) only. */
int request_parse_balloon_patch(const char *body, size_t len, uint32_t *amount_mib, char *err, size_t err_len);
/* PATCH /balloon/statistics (BalloonUpdateStatsConfig): stats_polling_interval_s (u16) only. */
int request_parse_stats_patch(const char *body, size_t len, uint16_t *interval_s, char *err, size_t err_len);
/* PATCH /balloon/hinting/start (StartHintingCmd): acknowledge_on_stop (bool, default true); other fields ignored. */
int request_parse_hinting_start(const char *body, size_t len, bool *ack_on_stop, char *err, size_t err_len);
/*
 * PATCH /usbd/targets: a non-empty subset of api_targets' fields, each 0..API_MIB_MAX. Sets the fields present in
 * *out and their bits (enum api_target_field) in *mask; fields absent are left as they were.
 */
/* PUT /usbd/spot/tenants/NAME: {"password": "1-127 bytes", "quota_mib": N (optional)}; fills out's password and
 * quota_mib (not its name). Unknown fields are refused; the password never appears in err. */
int request_parse_tenant_put(const char *body, size_t len, struct api_tenant *out, char *err, size_t err_len);
int request_parse_targets_patch(const char *body, size_t len, struct api_targets *out, unsigned int *mask,
				char *err, size_t err_len);

#endif
