/*
 * response: JSON bodies of the GET endpoints and of errors, from the backend's structs. Pure functions.
 * Each returns a malloc'd NUL-terminated compact JSON text, or NULL when out of memory. Unsigned values above
 * 2^63-1 (beyond a JSON integer in jansson) are reported as 2^63-1.
 */
#ifndef USBD_API_RESPONSE_H
#define USBD_API_RESPONSE_H

#include "api/api.h"

char *response_balloon(const struct api_balloon *b);
char *response_stats(const struct api_balloon_stats *s);
char *response_targets(const struct api_targets *t);
char *response_status(const struct api_status *st);
/* {"tenants": [{"name": ..., "quota_mib": ...}, ...]}: names and quotas, never passwords. */
char *response_tenants(const struct api_tenant *t, size_t n);
/* {"fault_message": msg}. Strings in the structs and msg must be UTF-8 (text_printable output is). */
char *response_fault(const char *msg);

/* The names used on the wire and in metrics labels. */
const char *response_pressure_name(enum api_pressure p);
const char *response_reason_name(enum api_deflation_reason r);

#endif
