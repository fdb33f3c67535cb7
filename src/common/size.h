/* size: SIZE strings and byte arithmetic that cannot overflow silently. All sizes are bytes in uint64_t. */
#ifndef USBD_COMMON_SIZE_H
#define USBD_COMMON_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

/*
 * Parses a SIZE: a whole number of MiB ("512"), or a number with a binary suffix K, M, G or T
 * (case-insensitive, optional trailing "iB"/"B": "64K", "2G", "1GiB"). A plain "0" is zero.
 * Returns 0 and sets *bytes, or -EINVAL (not a size) / -ERANGE (does not fit in 64 bits).
 * On error *bytes is untouched.
 */
int size_parse(const char *s, uint64_t *bytes);

/* Formats bytes for people: "0", "512K", "1.5G". Always NUL-terminates; returns buf. */
char *size_format(uint64_t bytes, char *buf, size_t len);

/* Saturating arithmetic: results clamp at 0 and UINT64_MAX. */
static inline uint64_t sat_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }
static inline uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
/* Rounds down / up to a multiple of `unit` (a power of two); round_up saturates. */
static inline uint64_t round_down(uint64_t v, uint64_t unit) { return v & ~(unit - 1); }
static inline uint64_t round_up(uint64_t v, uint64_t unit)
{
	return v > UINT64_MAX - (unit - 1) ? round_down(UINT64_MAX, unit) : (v + unit - 1) & ~(unit - 1);
}

#endif
