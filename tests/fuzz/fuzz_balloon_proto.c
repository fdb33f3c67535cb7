/* fuzz_balloon_proto: libFuzzer target over the controller <-> worker datagrams; a decoded message must
 * re-encode to the same bytes, and a decoded WMSG_SETUP (what a new worker acts on before anything else) must
 * hold only what the worker can use as is: numbers in range, strings ending inside their arrays; a decoded
 * WMSG_REFLEX an amount of whole chunks. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balloon/proto.h"

#define ENDS_INSIDE(a) (strnlen((a), sizeof(a)) < sizeof(a))

/* Checked field by field here rather than through wmsg_setup_valid, so that a slip there shows too. */
static bool setup_usable(const struct wmsg_setup *s)
{
	return s->mode <= 1 && s->oom_score_adj >= -1000 && s->oom_score_adj <= 1000 && s->log_level <= 3 &&
	       s->flags <= WSETUP_TENANT && ENDS_INSIDE(s->cgroup) && (!s->cgroup[0] || s->cgroup[0] == '/') &&
	       ENDS_INSIDE(s->tenant.listen) && ENDS_INSIDE(s->tenant.password) && s->tenant.nusers <= WMSG_USERS_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wmsg m;
	static unsigned char again[sizeof(struct wmsg)];
	int n;

	if (wmsg_decode(data, size, &m) != 0)
		return 0;
	if (m.hdr.type == WMSG_SETUP && !setup_usable(&m.u.setup))
		abort();
	if (m.hdr.type == WMSG_USER && ((m.u.user_op.verb != WUSER_SET && m.u.user_op.verb != WUSER_DEL) ||
					!ENDS_INSIDE(m.u.user_op.user.name) || !ENDS_INSIDE(m.u.user_op.user.password)))
		abort();
	if (m.hdr.type == WMSG_REFLEX && (m.u.reflex.bytes % (2u << 20) || m.u.reflex.reserved))
		abort();
	n = wmsg_encode(again, sizeof(again), m.hdr.type, m.hdr.seq, &m.u);
	if (n != (int)size)
		abort();
	/* Decode zeroes a WMSG_STATS's entries past nusers: those bytes of the input need not come back. */
	if (m.hdr.type == WMSG_STATS) {
		size_t past = sizeof(struct wmsg_hdr) + offsetof(struct wmsg_stats, users) +
			      m.u.stats.nusers * sizeof(m.u.stats.users[0]);

		static const unsigned char zero[sizeof(struct wmsg_stats)];

		if (memcmp(again, data, past) || memcmp(again + past, zero, size - past))
			abort();
		return 0;
	}
	if (memcmp(again, data, size))
		abort();
	return 0;
}
