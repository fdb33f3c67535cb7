/*
 * proto: the registration protocol between libusbd and the daemon's registry, over a SOCK_SEQPACKET Unix
 * socket (one message per packet). Every message starts with a header carrying a magic, a version, its type
 * and its length; each type has one fixed size, checked before anything else is read. The app sends
 * REGISTER, UNREGISTER and PAGEOUT; the daemon answers each with one REPLY. Shared by src/lib and
 * src/apps (the registry); header-only so both link nothing extra.
 */
#ifndef USBD_LIB_PROTO_H
#define USBD_LIB_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usbd.h"

#define UMSG_MAGIC 0x55534244u          /* "USBD" */
#define UMSG_VERSION 1u
#define UMSG_MAX_RANGES 64u             /* ranges per PAGEOUT; the library splits longer lists */

enum umsg_type { UMSG_REGISTER = 1, UMSG_UNREGISTER, UMSG_PAGEOUT, UMSG_REPLY };

struct umsg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;           /* of the whole message */
	uint32_t seq;           /* echoed in the reply */
};

struct umsg_register {
	struct umsg_hdr hdr;
	int32_t sig;            /* the SIGBALLOON number in the app's C library (SIGRTMIN..SIGRTMAX) */
	uint32_t flags;         /* 0 */
};

struct umsg_unregister {
	struct umsg_hdr hdr;
};

struct umsg_range {
	uint64_t addr, len;
};

struct umsg_pageout {
	struct umsg_hdr hdr;
	uint32_t nranges;
	uint32_t flags;         /* 0 */
	struct umsg_range ranges[UMSG_MAX_RANGES];
};

struct umsg_reply {
	struct umsg_hdr hdr;
	int32_t status;         /* 0 or -errno */
	uint32_t reason;        /* enum usbd_reason */
	uint64_t bytes;
	uint64_t free_bytes, threshold_bytes;
	char message[96];       /* NUL-terminated */
};

/* The largest message; receive buffers are this big so an oversized packet shows up as a wrong length. */
union umsg_any {
	struct umsg_hdr hdr;
	struct umsg_register reg;
	struct umsg_unregister unreg;
	struct umsg_pageout pageout;
	struct umsg_reply reply;
	char bytes[sizeof(struct umsg_pageout) + 64];
};

static inline size_t umsg_size(uint16_t type)
{
	switch (type) {
	case UMSG_REGISTER: return sizeof(struct umsg_register);
	case UMSG_UNREGISTER: return sizeof(struct umsg_unregister);
	case UMSG_PAGEOUT: return sizeof(struct umsg_pageout);
	case UMSG_REPLY: return sizeof(struct umsg_reply);
	}
	return 0;
}

static inline void umsg_init(struct umsg_hdr *h, uint16_t type, uint32_t seq)
{
	h->magic = UMSG_MAGIC;
	h->version = UMSG_VERSION;
	h->type = type;
	h->len = (uint32_t)umsg_size(type);
	h->seq = seq;
}

/*
 * Checks a received packet of `len` bytes before any field past the header is trusted.
 * Returns 0, -EBADMSG (too short, bad magic, unknown type, length not the type's size, a PAGEOUT with more
 * than UMSG_MAX_RANGES ranges or a REPLY message without its NUL) or -EPROTONOSUPPORT (another version).
 */
static inline int umsg_check(const union umsg_any *m, size_t len)
{
	if (len < sizeof(struct umsg_hdr) || m->hdr.magic != UMSG_MAGIC)
		return -EBADMSG;
	if (m->hdr.version != UMSG_VERSION)
		return -EPROTONOSUPPORT;
	if (umsg_size(m->hdr.type) == 0 || m->hdr.len != umsg_size(m->hdr.type) || len != m->hdr.len)
		return -EBADMSG;
	if (m->hdr.type == UMSG_PAGEOUT && m->pageout.nranges > UMSG_MAX_RANGES)
		return -EBADMSG;
	if (m->hdr.type == UMSG_REPLY && m->reply.message[sizeof(m->reply.message) - 1] != '\0')
		return -EBADMSG;
	return 0;
}

#endif
