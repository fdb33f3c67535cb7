/*
 * guard: throttles password guessing per source address. A source (an IPv4 address, or an IPv6 /64, which one
 * holder usually controls whole) may fail GUARD_FREE_FAILURES AUTHs; each failure after that shuts it out for a
 * back-off that doubles from GUARD_BACKOFF_MIN_MS up to GUARD_BACKOFF_MAX_MS, during which its attempts are refused
 * without comparing the password. A source is forgotten GUARD_FORGET_MS after its last failure, or when it logs in.
 * The table is fixed (GUARD_SLOTS, indexed by a seeded hash): sources whose hashes collide share a slot, and so a
 * back-off; nothing is allocated per attempt. Pure: the caller passes the time.
 */
#ifndef USBD_SPOT_GUARD_H
#define USBD_SPOT_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define GUARD_SLOTS 1024
#define GUARD_FREE_FAILURES 10
#define GUARD_BACKOFF_MIN_MS 1000u
#define GUARD_BACKOFF_MAX_MS 60000u
#define GUARD_FORGET_MS (10u * 60 * 1000)

/* A source: IPv4 as an IPv4-mapped IPv6 address; IPv6 cut to its /64. All zeros for an unknown family. */
struct guard_addr {
	uint8_t b[16];
};

struct guard_slot {
	struct guard_addr addr;
	uint32_t failures;
	uint64_t last_ms;       /* last failure */
	uint64_t until_ms;      /* refused before this */
};

struct auth_guard {
	uint64_t seed;
	struct guard_slot slot[GUARD_SLOTS];
};

void guard_init(struct auth_guard *g, uint64_t seed);
void guard_addr_from(struct guard_addr *a, const struct sockaddr *sa);
/* True if the source may try a password now. */
bool guard_allows(const struct auth_guard *g, const struct guard_addr *a, uint64_t now);
/* Records a failure; returns the back-off it starts in ms (0: none yet). */
uint64_t guard_failed(struct auth_guard *g, const struct guard_addr *a, uint64_t now);
/* A success forgets the source's failures (not those of another source that shares its slot). */
void guard_succeeded(struct auth_guard *g, const struct guard_addr *a);

#endif
