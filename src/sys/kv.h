/*
 * kv: the "name value [kB]" line format shared by /proc/meminfo, /proc/vmstat, /proc/PID/status and the
 * cgroup memory.stat files. Internal to the sys part.
 */
#ifndef USBD_SYS_KV_H
#define USBD_SYS_KV_H

#include <stddef.h>
#include <stdint.h>

/* A field of interest: `key` is matched exactly, or as a prefix when it ends in '*' (allocstall_*). */
struct kv_field {
	const char *key;
	size_t offset;          /* of a uint64_t in the output struct */
};

#define KV_FIELD(type, key, member) { key, offsetof(type, member) }
#define KV_COUNT(fields) ((unsigned)(sizeof(fields) / sizeof((fields)[0])))

/*
 * Adds the value of every line whose name matches a field to that field of `out` (saturating, so that
 * prefixed fields sum). The name ends at ':' or blank; a value may carry a " kB" unit (scaled to bytes).
 * Lines with other names are ignored whatever they hold. `*seen` gets bit i set when fields[i] matched
 * (at most 64 fields). Returns 0, or -EINVAL when a matching line has no valid number or does not fit in
 * 64 bits. Does not zero `out`.
 */
int kv_parse(const char *buf, const struct kv_field *fields, unsigned nfields, void *out, uint64_t *seen);

/* Parses the decimal digits at *p into *v, advancing *p. Returns 0, or -EINVAL if there are no digits
 * or the number does not fit in 64 bits. */
int kv_u64(const char **p, uint64_t *v);

#endif
