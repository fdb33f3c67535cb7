#include "spot/guard.h"

#include <netinet/in.h>
#include <string.h>

void guard_init(struct auth_guard *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
}

void guard_addr_from(struct guard_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
	}
}

/* FNV-1a over the seed and the address: a client cannot aim its addresses at one slot without the seed. */
static struct guard_slot *slot_of(const struct auth_guard *g, const struct guard_addr *a)
{
	uint64_t h = 14695981039346656037ull ^ g->seed;

	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 1099511628211ull;
	return (struct guard_slot *)&g->slot[(h ^ (h >> 32)) % GUARD_SLOTS];
}

/* A slot whose last failure is older than GUARD_FORGET_MS counts as empty. */
static bool stale(const struct guard_slot *s, uint64_t now)
{
	return s->failures == 0 || now - s->last_ms >= GUARD_FORGET_MS;
}

bool guard_allows(const struct auth_guard *g, const struct guard_addr *a, uint64_t now)
{
	const struct guard_slot *s = slot_of(g, a);

	return stale(s, now) || now >= s->until_ms;
}

uint64_t guard_failed(struct auth_guard *g, const struct guard_addr *a, uint64_t now)
{
	struct guard_slot *s = slot_of(g, a);
	uint64_t backoff = GUARD_BACKOFF_MIN_MS;

	if (stale(s, now))
		*s = (struct guard_slot){ .addr = *a };
	s->failures++;
	s->last_ms = now;
	if (s->failures <= GUARD_FREE_FAILURES)
		return 0;
	for (uint32_t i = GUARD_FREE_FAILURES + 1; i < s->failures && backoff < GUARD_BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > GUARD_BACKOFF_MAX_MS)
		backoff = GUARD_BACKOFF_MAX_MS;
	s->until_ms = now + backoff;
	return backoff;
}

void guard_succeeded(struct auth_guard *g, const struct guard_addr *a)
{
	struct guard_slot *s = slot_of(g, a);

	if (memcmp(&s->addr, a, sizeof(*a)) == 0)
		s->failures = 0;
}
