/* app: the registry's replies to an app (see app.h). */
#include "apps/app.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "lib/proto.h"

void app_reply(const struct app *a, uint32_t seq, int status, enum usbd_reason reason, uint64_t bytes,
	       uint64_t free_bytes, uint64_t threshold, const char *msg)
{
	struct umsg_reply m;

	memset(&m, 0, sizeof(m));
	umsg_init(&m.hdr, UMSG_REPLY, seq);
	m.status = status;
	m.reason = reason;
	m.bytes = bytes;
	m.free_bytes = free_bytes;
	m.threshold_bytes = threshold;
	snprintf(m.message, sizeof(m.message), "%s", msg);
	/* One packet on a SEQPACKET socket: whole or nothing. A full socket means the app is not reading. */
	if (send(a->fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(m))
		log_warn("registry: reply to pid %d lost: %s", (int)a->pid, strerror(errno));
}
