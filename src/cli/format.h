/* format: the daemon's JSON replies as aligned "label  value" lines with human sizes. Pure: writes to a FILE. */
#ifndef USBD_CLI_FORMAT_H
#define USBD_CLI_FORMAT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum fmt_kind {
	FMT_BYTES,	/* integer bytes -> "1.5G" */
	FMT_MIB,	/* integer MiB -> "1.5G" */
	FMT_PAGES,	/* integer 4 KiB pages -> "1.5G" */
	FMT_COUNT,	/* integer as is */
	FMT_BOOL,	/* "yes" / "no" */
	FMT_TEXT,	/* string as is, "" shown as "-" */
	FMT_DOMAIN,	/* the domain's name, "" meaning the whole host */
	FMT_DEFLATION,	/* last_deflation: null or {reason, bytes, age_ms} */
};

struct fmt_row {
	const char *key;	/* field of the JSON object */
	const char *label;
	enum fmt_kind kind;
};

/* Formats one value; a missing value or one of the wrong type gives "-". Always NUL-terminates; returns buf. */
char *format_value(const json_t *v, enum fmt_kind kind, char *buf, size_t len);

/* Formats a duration for people: "850ms", "42s", "5m07s", "3h04m", "2d05h". Returns buf. */
char *format_age(uint64_t ms, char *buf, size_t len);

/* Writes one line per row: the label padded to a column, then the value. */
void format_rows(FILE *out, const json_t *obj, const struct fmt_row *rows, size_t n);

/* The replies of GET /usbd/status, GET /balloon/statistics and GET /balloon. */
void format_status(FILE *out, const json_t *status);
void format_stats(FILE *out, const json_t *stats);
void format_balloon(FILE *out, const json_t *balloon);

#endif
