/*
 * proto: the controller <-> worker messages. Small, fixed-size, versioned and length-checked before any
 * copy, sent over a SOCK_SEQPACKET socketpair (one message per datagram).
 * Return contract: 0 on success, -errno on failure; decode returns -EPROTO for a bad version, type or length.
 */
#ifndef USBD_BALLOON_PROTO_H
#define USBD_BALLOON_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define WPROTO_VERSION 1

enum wmsg_type {
	WMSG_GROW = 1,   /* controller -> worker: grow by `bytes` (multiple of 2 MiB); reply WMSG_DONE */
	WMSG_SHRINK,     /* controller -> worker: release `bytes` (UINT64_MAX: everything); reply WMSG_DONE */
	WMSG_STATS_REQ,  /* controller -> worker: reply WMSG_STATS */
	WMSG_DONE,       /* worker -> controller: result of a grow or shrink */
	WMSG_STATS,      /* worker -> controller: counters */
	WMSG_HELLO,      /* worker -> controller: ready, once, after start-up */
	WMSG_TYPE_MAX
};

struct wmsg_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t len;     /* payload length in bytes, must equal the type's payload size */
	uint64_t seq;     /* request sequence number; replies echo it */
};

struct wmsg_size { uint64_t bytes; };

struct wmsg_done {
	int32_t err;      /* 0 or -errno (e.g. -ENOMEM when populate failed part-way) */
	uint32_t reserved;
	uint64_t changed; /* bytes actually grown or released */
	uint64_t grab;    /* bytes held after the operation */
	uint64_t elapsed_ns;
};

struct wmsg_stats {
	uint64_t grab, chunks;
	uint64_t resident;      /* bytes of the grab still resident (reclaimable mode can lose some) */
	uint64_t store_used, store_keys, store_evictions, store_deflation_losses;
	uint64_t clients;
};

struct wmsg {
	struct wmsg_hdr hdr;
	union {
		struct wmsg_size size;
		struct wmsg_done done;
		struct wmsg_stats stats;
	} u;
};

/* Payload size for a type, or -1 for an unknown type. */
int wmsg_payload_len(uint16_t type);
/* Validates a received datagram and copies it into *out. */
int wmsg_decode(const void *buf, size_t n, struct wmsg *out);
/* Encodes type/seq/payload into buf (>= sizeof(struct wmsg)); returns the length or -EINVAL. */
int wmsg_encode(void *buf, size_t len, uint16_t type, uint64_t seq, const void *payload);
/* send(2)/recv(2) of one message; recv returns -EAGAIN when nothing is pending, -ECONNRESET on EOF. */
int wmsg_send(int fd, uint16_t type, uint64_t seq, const void *payload);
int wmsg_recv(int fd, struct wmsg *out);

#endif
