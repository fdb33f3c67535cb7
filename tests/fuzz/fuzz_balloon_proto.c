/* fuzz_balloon_proto: libFuzzer target over the controller <-> worker datagrams; a decoded message must
 * re-encode to the same bytes, and a decoded WMSG_SETUP (what a new worker acts on before anything else) must
 * hold only what the worker can use as is: numbers in range, strings ending inside their arrays. */
#include <stdbool.h>
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
	n = wmsg_encode(again, sizeof(again), m.hdr.type, m.hdr.seq, &m.u);
	if (n != (int)size || memcmp(again, data, size))
		abort();
	return 0;
}
