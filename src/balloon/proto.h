/*
 * proto: the controller <-> worker messages. Small, fixed-size, versioned and length-checked before any
 * copy, sent over a SOCK_SEQPACKET socketpair (one message per datagram). The first message on a new worker's
 * socket is WMSG_SETUP (its settings: it is exec'd from a clean image and inherits nothing else).
 * Return contract: 0 on success, -errno on failure; decode returns -EPROTO for a bad version, type or length, or
 * a WMSG_SETUP whose fields are out of range (see struct wmsg_setup).
 */
#ifndef USBD_BALLOON_PROTO_H
#define USBD_BALLOON_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balloon/tenant.h"

/* 2: WMSG_SETUP, the worker is exec'd rather than forked. 3: the spot store's tenants (in WMSG_SETUP, and
 * WMSG_USER), and WMSG_STATS carries struct tenant_stats. 4: and one struct tenant_user_stats per spot user.
 * 5: the reflex (WMSG_REFLEX with a notification fd, WMSG_REFLEXED), and WMSG_DONE says when the worker began. */
#define WPROTO_VERSION 5

enum wmsg_type {
	WMSG_GROW = 1,   /* controller -> worker: grow by `bytes` (multiple of 2 MiB); reply WMSG_DONE */
	WMSG_SHRINK,     /* controller -> worker: release `bytes` (UINT64_MAX: everything); reply WMSG_DONE */
	WMSG_STATS_REQ,  /* controller -> worker: reply WMSG_STATS */
	WMSG_DONE,       /* worker -> controller: result of a grow or shrink */
	WMSG_STATS,      /* worker -> controller: counters */
	WMSG_HELLO,      /* worker -> controller: ready, once, after start-up */
	WMSG_SETUP,      /* controller -> worker: its settings, once, first, before the worker does anything */
	WMSG_USER,       /* controller -> worker: add, change or remove a spot tenant (struct wmsg_user_op); no reply */
	WMSG_REFLEX,     /* controller -> worker: arm, re-size or disarm the reflex (struct wmsg_reflex); no reply */
	WMSG_REFLEXED,   /* worker -> controller: the reflex fired and released (struct wmsg_done); the seq of the
	                  * WMSG_REFLEX that armed it */
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
	uint64_t started_ns; /* CLOCK_MONOTONIC when the worker began the operation (or the reflex woke it) */
};

/*
 * WMSG_REFLEX. Sent with one fd (SCM_RIGHTS): arms the reflex with that notification fd, replacing any armed one;
 * the worker releases `bytes` the moment the fd becomes readable (an eventfd: it reads it first), closes it (one
 * shot) and reports WMSG_REFLEXED. Without an fd: `bytes` becomes the armed reflex's amount, or, when 0, disarms
 * it (an fd sent with 0 is closed at once). Decode refuses bytes that are not a multiple of WREFLEX_UNIT, and
 * reserved != 0.
 */
#define WREFLEX_UNIT (UINT64_C(2) << 20)   /* = CHUNK_SIZE */
struct wmsg_reflex {
	uint64_t bytes;
	uint64_t reserved;      /* 0 */
};

struct wmsg_stats {
	uint64_t grab, chunks;
	uint64_t resident;      /* bytes of the grab still resident (reclaimable mode can lose some) */
	struct tenant_stats spot; /* the tenant's (the spot store's) totals; zeros without one */
	/* Per user (default first): decode refuses nusers > TENANT_USERS_MAX, reserved != 0, or a name among the first
	 * nusers that is empty, unterminated or repeated; it zeroes the entries past nusers. */
	uint32_t nusers;
	uint32_t reserved;
	struct tenant_user_stats users[TENANT_USERS_MAX];
};

/*
 * The tenant's settings: in usbd the spot store's (src/spot/spot.h, struct spot_config, minus `reclaimable`, which
 * follows the balloon's mode, and `plain_io`, for tests). Strings end with a NUL inside their arrays.
 */
#define WMSG_USERS_MAX 16u     /* = SPOT_MAX_TENANTS */
_Static_assert(TENANT_USERS_MAX == 1 + WMSG_USERS_MAX, "the stats carry the default user and every tenant");
struct wmsg_user {
	char name[64];          /* ends with a NUL; "" past nusers */
	char password[128];
	uint64_t quota;         /* bytes; 0: none */
};

struct wmsg_tenant {
	char listen[64];
	char password[128];     /* the secret travels only here, on the socket: never argv or the environment */
	uint32_t max_clients;
	uint32_t nusers;        /* the spot store's tenants (users besides default): 0..WMSG_USERS_MAX */
	uint64_t max_keys, max_query, max_output;
	struct wmsg_user users[WMSG_USERS_MAX];
};

enum wmsg_user_verb { WUSER_SET = 1, WUSER_DEL = 2 };

/* WMSG_USER: WUSER_SET adds the tenant or changes its password and quota; WUSER_DEL removes it (its connections
 * are closed, its keys gone). Decode refuses another verb or a string without its NUL. */
struct wmsg_user_op {
	uint32_t verb;          /* enum wmsg_user_verb */
	uint32_t reserved;      /* 0 */
	struct wmsg_user user;  /* the password travels only here and in WMSG_SETUP */
};

#define WSETUP_TENANT 1u        /* flags: the worker creates its tenant from `tenant` */

/* Decode refuses (-EPROTO) anything outside the ranges below. */
struct wmsg_setup {
	uint32_t mode;          /* enum balloon_mode: 0 pinned, 1 reclaimable */
	int32_t oom_score_adj;  /* -1000..1000 */
	uint32_t log_level;     /* enum log_level, 0..3 */
	uint32_t flags;         /* WSETUP_TENANT or 0 */
	char cgroup[PATH_MAX];  /* absolute directory of the cgroup to join, or "" to stay where it was started */
	struct wmsg_tenant tenant; /* ignored without WSETUP_TENANT (strings still checked) */
};

struct wmsg {
	struct wmsg_hdr hdr;
	union {
		struct wmsg_size size;
		struct wmsg_done done;
		struct wmsg_stats stats;
		struct wmsg_setup setup;
		struct wmsg_user_op user_op;
		struct wmsg_reflex reflex;
	} u;
};

/* Payload size for a type, or -1 for an unknown type. */
int wmsg_payload_len(uint16_t type);
/* True when a WMSG_STATS's per-user part is well-formed (see struct wmsg_stats). */
bool wmsg_stats_valid(const struct wmsg_stats *s);
/* True when a WMSG_USER is well-formed (see struct wmsg_user_op). */
bool wmsg_user_op_valid(const struct wmsg_user_op *op);
/* True when every field of a WMSG_SETUP is in range (see struct wmsg_setup). */
bool wmsg_setup_valid(const struct wmsg_setup *s);
/* True when a WMSG_REFLEX is well-formed (see struct wmsg_reflex). */
bool wmsg_reflex_valid(const struct wmsg_reflex *r);
/* Validates a received datagram (and a WMSG_SETUP's fields) and copies it into *out. */
int wmsg_decode(const void *buf, size_t n, struct wmsg *out);
/* Encodes type/seq/payload into buf (>= sizeof(struct wmsg)); returns the length or -EINVAL (also for a
 * WMSG_SETUP that decode would refuse). */
int wmsg_encode(void *buf, size_t len, uint16_t type, uint64_t seq, const void *payload);
/* send(2)/recv(2) of one message; recv returns -EAGAIN when nothing is pending, -ECONNRESET on EOF. A descriptor
 * that came with the datagram is closed: only wmsg_recv_fd takes one. */
int wmsg_send(int fd, uint16_t type, uint64_t seq, const void *payload);
int wmsg_recv(int fd, struct wmsg *out);
/* The same with one descriptor passed (SCM_RIGHTS): send passes pass_fd (>= 0) along with the message (the caller
 * keeps its copy); recv sets *got_fd to the received one (close-on-exec) or -1. A descriptor that comes with a
 * malformed datagram, or beyond the first, is closed. */
int wmsg_send_fd(int fd, uint16_t type, uint64_t seq, const void *payload, int pass_fd);
int wmsg_recv_fd(int fd, struct wmsg *out, int *got_fd);

#endif
