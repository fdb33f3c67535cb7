#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "balloon/proto.h"

#define HDR sizeof(struct wmsg_hdr)

static const struct wmsg_done sample_done = { .err = -ENOMEM, .changed = 64 << 20, .grab = 128 << 20, .elapsed_ns = 7,
						.started_ns = 8 };
/* Every field distinct, so that a field dropped or swapped by the encoding shows in the round trip. */
static const struct wmsg_stats sample_stats = {
	.grab = 1, .chunks = 2, .resident = 3,
	.spot = { .used = 4, .keys = 5, .clients = 6, .commands = 7, .hits = 8, .misses = 9, .evictions = 10,
		  .lost_keys = 11, .lost_bytes = 12 },
	.nusers = 2,
	.users = { { .name = "default", .quota = 13, .refused = 14, .s = { .used = 15, .hits = 16, .misses = 17 } },
		   { .name = "alice", .quota = 18, .refused = 19, .s = { .keys = 20, .commands = 21, .clients = 22,
									  .evictions = 23, .lost_keys = 24,
									  .lost_bytes = 25 } } },
};
static const struct wmsg_size sample_size = { .bytes = UINT64_MAX };
static const struct wmsg_setup sample_setup = {
	.mode = 1, .oom_score_adj = -1000, .log_level = 3, .flags = WSETUP_TENANT,
	.cgroup = "/sys/fs/cgroup/memory/domain/usbd-balloon",
	.tenant = { .listen = "127.0.0.1:6390", .password = "secret", .max_clients = 9, .max_keys = 10,
		    .max_query = 11, .max_output = 12, .nusers = 1,
		    .users = { { .name = "alice", .password = "pw", .quota = 64 << 20 } } },
};
static const struct wmsg_reflex sample_reflex = { .bytes = 130 << 20 };
static const struct wmsg_user_op sample_user = { .verb = WUSER_SET, .user = { "bob", "pw-b", 1 << 20 } };

static const void *sample(uint16_t type)
{
	switch (type) {
	case WMSG_GROW:
	case WMSG_SHRINK:
		return &sample_size;
	case WMSG_DONE:
	case WMSG_REFLEXED:
		return &sample_done;
	case WMSG_REFLEX:
		return &sample_reflex;
	case WMSG_STATS:
		return &sample_stats;
	case WMSG_SETUP:
		return &sample_setup;
	case WMSG_USER:
		return &sample_user;
	default:
		return NULL;
	}
}

/*
 * Copies a datagram so that it ends right before an inaccessible page: a decoder that reads past the
 * datagram crashes instead of passing.
 */
static size_t guarded_len(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n / page + 2) * page;
}

static void *before_guard(const void *data, size_t n, void **map)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = guarded_len(n);
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + len - page, page, PROT_NONE), 0);
	*map = m;
	return memcpy(m + len - page - n, data, n);
}

static int decode_guarded(const void *data, size_t n, struct wmsg *out)
{
	void *map;
	int err = wmsg_decode(before_guard(data, n, &map), n, out);

	munmap(map, guarded_len(n));
	return err;
}

static void payload_len_should_match_each_type_and_refuse_unknown_ones(void **state)
{
	assert_int_equal(wmsg_payload_len(WMSG_GROW), 8);
	assert_int_equal(wmsg_payload_len(WMSG_SHRINK), 8);
	assert_int_equal(wmsg_payload_len(WMSG_STATS_REQ), 0);
	assert_int_equal(wmsg_payload_len(WMSG_DONE), sizeof(struct wmsg_done));
	assert_int_equal(wmsg_payload_len(WMSG_STATS), sizeof(struct wmsg_stats));
	assert_int_equal(wmsg_payload_len(WMSG_HELLO), 0);
	assert_int_equal(wmsg_payload_len(WMSG_SETUP), sizeof(struct wmsg_setup));
	assert_int_equal(wmsg_payload_len(WMSG_USER), sizeof(struct wmsg_user_op));
	assert_int_equal(wmsg_payload_len(WMSG_REFLEX), 16);
	assert_int_equal(wmsg_payload_len(WMSG_REFLEXED), sizeof(struct wmsg_done));
	assert_int_equal(wmsg_payload_len(0), -1);
	assert_int_equal(wmsg_payload_len(WMSG_TYPE_MAX), -1);
	assert_int_equal(wmsg_payload_len(UINT16_MAX), -1);
}

static void encode_then_decode_should_round_trip_every_type(void **state)
{
	for (uint16_t t = WMSG_GROW; t < WMSG_TYPE_MAX; t++) {
		unsigned char buf[sizeof(struct wmsg)];
		struct wmsg out;
		int n = wmsg_encode(buf, sizeof(buf), t, 1000 + t, sample(t));

		assert_int_equal(n, HDR + wmsg_payload_len(t));
		memset(&out, 0xa5, sizeof(out));
		assert_int_equal(decode_guarded(buf, n, &out), 0);
		assert_int_equal(out.hdr.version, WPROTO_VERSION);
		assert_int_equal(out.hdr.type, t);
		assert_int_equal(out.hdr.len, wmsg_payload_len(t));
		assert_true(out.hdr.seq == 1000u + t);
		if (sample(t))
			assert_memory_equal(&out.u, sample(t), wmsg_payload_len(t));
	}
}

static void encode_should_refuse_unknown_types_small_buffers_and_missing_payloads(void **state)
{
	unsigned char buf[sizeof(struct wmsg)];

	assert_int_equal(wmsg_encode(buf, sizeof(buf), 0, 1, NULL), -EINVAL);
	assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_TYPE_MAX, 1, &sample_stats), -EINVAL);
	assert_int_equal(wmsg_encode(buf, HDR + 7, WMSG_GROW, 1, &sample_size), -EINVAL);
	assert_int_equal(wmsg_encode(buf, HDR - 1, WMSG_HELLO, 1, NULL), -EINVAL);
	assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_DONE, 1, NULL), -EINVAL);
	assert_int_equal(wmsg_encode(buf, HDR, WMSG_HELLO, 1, NULL), (int)HDR);
}

/* Each way a WMSG_SETUP can be out of range, applied to the valid sample. */
static void break_setup(struct wmsg_setup *s, int how)
{
	switch (how) {
	case 0: s->mode = 2; break;
	case 1: s->oom_score_adj = 1001; break;
	case 2: s->oom_score_adj = -1001; break;
	case 3: s->log_level = 4; break;
	case 4: s->flags = 2; break;
	case 5: memset(s->cgroup, 'a', sizeof(s->cgroup)); break;          /* no NUL */
	case 6: snprintf(s->cgroup, sizeof(s->cgroup), "relative/path"); break;
	case 7: memset(s->tenant.listen, 'a', sizeof(s->tenant.listen)); break;
	case 8: memset(s->tenant.password, 'a', sizeof(s->tenant.password)); break;
	case 9: s->tenant.nusers = WMSG_USERS_MAX + 1; break;
	case 10: memset(s->tenant.users[3].name, 'a', sizeof(s->tenant.users[3].name)); break;
	case 11: memset(s->tenant.users[0].password, 'a', sizeof(s->tenant.users[0].password)); break;
	}
}
#define SETUP_BREAKS 12

static void user_op_should_be_refused_by_encode_and_decode_when_malformed(void **state)
{
	unsigned char buf[sizeof(struct wmsg)];
	struct wmsg out;
	int n;

	(void)state;
	for (int how = 0; how < 5; how++) {
		struct wmsg_user_op bad = sample_user;

		switch (how) {
		case 0: bad.verb = 0; break;
		case 1: bad.verb = WUSER_DEL + 1; break;
		case 2: bad.reserved = 1; break;
		case 3: memset(bad.user.name, 'a', sizeof(bad.user.name)); break;
		case 4: memset(bad.user.password, 'a', sizeof(bad.user.password)); break;
		}
		assert_false(wmsg_user_op_valid(&bad));
		assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_USER, 1, &bad), -EINVAL);
		/* Encoded by hand as a valid one, then broken: decode refuses it. */
		n = wmsg_encode(buf, sizeof(buf), WMSG_USER, 1, &sample_user);
		memcpy(buf + HDR, &bad, sizeof(bad));
		assert_int_equal(decode_guarded(buf, n, &out), -EPROTO);
	}
}

static void setup_should_be_refused_by_encode_and_decode_when_out_of_range(void **state)
{
	static unsigned char buf[sizeof(struct wmsg)];
	struct wmsg_hdr hdr;
	struct wmsg out;
	int n = wmsg_encode(buf, sizeof(buf), WMSG_SETUP, 0, &sample_setup);

	assert_int_equal(n, HDR + sizeof(struct wmsg_setup));
	assert_true(wmsg_setup_valid(&sample_setup));
	/* The edges themselves are fine, and so is no cgroup and no tenant. */
	for (int edge = 0; edge < 2; edge++) {
		struct wmsg_setup ok = { .mode = (uint32_t)edge, .oom_score_adj = edge ? 1000 : -1000,
					 .log_level = edge ? 3 : 0 };

		assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_SETUP, 0, &ok), n);
		assert_int_equal(decode_guarded(buf, n, &out), 0);
	}
	for (int how = 0; how < SETUP_BREAKS; how++) {
		struct wmsg_setup bad = sample_setup;

		break_setup(&bad, how);
		assert_false(wmsg_setup_valid(&bad));
		assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_SETUP, 0, &bad), -EINVAL);
		/* Built by hand, as a hostile or broken peer would send it. */
		hdr = (struct wmsg_hdr){ .version = WPROTO_VERSION, .type = WMSG_SETUP, .len = sizeof(bad) };
		memcpy(buf, &hdr, HDR);
		memcpy(buf + HDR, &bad, sizeof(bad));
		memset(&out, 0xa5, sizeof(out));
		assert_int_equal(decode_guarded(buf, n, &out), -EPROTO);
		/* Nothing of the refused secret is left in out. */
		assert_null(memmem(&out, sizeof(out), "secret", 6));
	}
}

/* Sends stats as a hostile or broken worker would (encode refuses what decode refuses): decode's result. */
static int decode_stats(const struct wmsg_stats *st, struct wmsg *out)
{
	static unsigned char buf[sizeof(struct wmsg)];
	struct wmsg_hdr hdr = { .version = WPROTO_VERSION, .type = WMSG_STATS, .len = sizeof(*st) };

	memcpy(buf, &hdr, HDR);
	memcpy(buf + HDR, st, sizeof(*st));
	memset(out, 0xa5, sizeof(*out));
	return decode_guarded(buf, HDR + sizeof(*st), out);
}

static void stats_should_be_refused_by_encode_and_decode_when_malformed(void **state)
{
	unsigned char buf[sizeof(struct wmsg)];
	struct wmsg_stats full = sample_stats;
	struct wmsg out;

	(void)state;
	/* The most there can be: the default user and 16 tenants. */
	full.nusers = TENANT_USERS_MAX;
	for (uint32_t i = 0; i < TENANT_USERS_MAX; i++)
		snprintf(full.users[i].name, sizeof(full.users[i].name), "user%u", i);
	assert_true(wmsg_stats_valid(&full));
	assert_int_equal(decode_stats(&full, &out), 0);
	assert_memory_equal(&out.u.stats, &full, sizeof(full));
	/* No users at all (a worker without a tenant). */
	full.nusers = 0;
	assert_int_equal(decode_stats(&full, &out), 0);
	for (int how = 0; how < 6; how++) {
		struct wmsg_stats bad = sample_stats;

		switch (how) {
		case 0: bad.nusers = TENANT_USERS_MAX + 1; break;
		case 1: bad.nusers = UINT32_MAX; break;
		case 2: bad.reserved = 1; break;
		case 3: bad.users[1].name[0] = '\0'; break;
		case 4: memset(bad.users[1].name, 'a', sizeof(bad.users[1].name)); break;
		case 5: memcpy(bad.users[1].name, "default", sizeof("default")); break;
		}
		assert_false(wmsg_stats_valid(&bad));
		assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_STATS, 1, &bad), -EINVAL);
		assert_int_equal(decode_stats(&bad, &out), -EPROTO);
	}
}

static void stats_decode_should_zero_the_entries_past_nusers(void **state)
{
	struct wmsg_stats st = sample_stats;
	struct wmsg out;

	(void)state;
	/* Garbage past nusers (no NUL, a repeated name) is not looked at, and not passed on. */
	memset(st.users[2].name, 'x', sizeof(st.users[2].name));
	memcpy(st.users[3].name, "alice", sizeof("alice"));
	st.users[3].s.keys = 99;
	assert_true(wmsg_stats_valid(&st));
	assert_int_equal(decode_stats(&st, &out), 0);
	assert_memory_equal(&out.u.stats, &sample_stats, sizeof(sample_stats));
}

static void decode_should_refuse_short_datagrams(void **state)
{
	unsigned char buf[sizeof(struct wmsg)];
	struct wmsg out;
	int n = wmsg_encode(buf, sizeof(buf), WMSG_STATS, 9, &sample_stats);

	for (int cut = 0; cut < n; cut++)
		assert_int_equal(decode_guarded(buf, cut, &out), -EPROTO);
}

static void decode_should_refuse_long_datagrams(void **state)
{
	unsigned char buf[sizeof(struct wmsg) + 16] = { 0 };
	struct wmsg out;
	int n = wmsg_encode(buf, sizeof(buf), WMSG_GROW, 9, &sample_size);

	assert_int_equal(decode_guarded(buf, n + 1, &out), -EPROTO);
	assert_int_equal(decode_guarded(buf, n + 8, &out), -EPROTO);
	assert_int_equal(decode_guarded(buf, sizeof(buf), &out), -EPROTO);
}

static void decode_should_refuse_a_bad_version(void **state)
{
	unsigned char buf[sizeof(struct wmsg)];
	struct wmsg_hdr hdr;
	struct wmsg out;
	int n = wmsg_encode(buf, sizeof(buf), WMSG_HELLO, 0, NULL);

	memcpy(&hdr, buf, HDR);
	for (uint16_t v = 0; v < 4; v++) {
		if (v == WPROTO_VERSION)
			continue;
		hdr.version = v;
		memcpy(buf, &hdr, HDR);
		assert_int_equal(decode_guarded(buf, n, &out), -EPROTO);
	}
}

static void decode_should_refuse_unknown_types(void **state)
{
	static const uint16_t bad[] = { 0, WMSG_TYPE_MAX, WMSG_TYPE_MAX + 1, UINT16_MAX };
	struct wmsg_hdr hdr = { .version = WPROTO_VERSION, .len = 0 };
	struct wmsg out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hdr.type = bad[i];
		assert_int_equal(decode_guarded(&hdr, HDR, &out), -EPROTO);
	}
}

static void decode_should_refuse_a_len_that_does_not_match_the_type(void **state)
{
	unsigned char buf[sizeof(struct wmsg)] = { 0 };
	struct wmsg_hdr hdr = { .version = WPROTO_VERSION, .type = WMSG_STATS_REQ, .len = 8 };
	struct wmsg out;

	/* The len agrees with the datagram's size but not with the type. */
	memcpy(buf, &hdr, HDR);
	assert_int_equal(decode_guarded(buf, HDR + 8, &out), -EPROTO);
	/* The len agrees with the type but not with the datagram's size. */
	hdr.type = WMSG_GROW;
	memcpy(buf, &hdr, HDR);
	assert_int_equal(decode_guarded(buf, HDR + 16, &out), -EPROTO);
	/* A len that would run past the buffer. */
	hdr.len = UINT32_MAX;
	memcpy(buf, &hdr, HDR);
	assert_int_equal(decode_guarded(buf, HDR + 8, &out), -EPROTO);
}

static void reflex_should_be_refused_by_encode_and_decode_when_malformed(void **state)
{
	const struct wmsg_reflex bad[] = { { .bytes = (2 << 20) + 1 }, { .bytes = 1 }, { .bytes = 2 << 20, .reserved = 1 },
					   { .bytes = UINT64_MAX } };
	unsigned char buf[sizeof(struct wmsg)];
	struct wmsg_hdr hdr = { .version = WPROTO_VERSION, .type = WMSG_REFLEX, .len = sizeof(struct wmsg_reflex) };
	struct wmsg out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(wmsg_reflex_valid(&bad[i]));
		assert_int_equal(wmsg_encode(buf, sizeof(buf), WMSG_REFLEX, 1, &bad[i]), -EINVAL);
		memcpy(buf, &hdr, HDR);
		memcpy(buf + HDR, &bad[i], sizeof(bad[i]));
		assert_int_equal(decode_guarded(buf, HDR + sizeof(bad[i]), &out), -EPROTO);
	}
	/* 0 disarms: well-formed. */
	assert_true(wmsg_reflex_valid(&(struct wmsg_reflex){ 0 }));
}

static void socketpair_seqpacket(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void recv_should_get_what_send_sent_over_a_socketpair(void **state)
{
	struct wmsg out;
	int sv[2];

	socketpair_seqpacket(sv);
	assert_int_equal(wmsg_send(sv[0], WMSG_DONE, 42, &sample_done), 0);
	assert_int_equal(wmsg_send(sv[0], WMSG_STATS_REQ, 43, NULL), 0);
	assert_int_equal(wmsg_recv(sv[1], &out), 0);
	assert_int_equal(out.hdr.type, WMSG_DONE);
	assert_true(out.hdr.seq == 42);
	assert_memory_equal(&out.u.done, &sample_done, sizeof(sample_done));
	assert_int_equal(wmsg_recv(sv[1], &out), 0);
	assert_int_equal(out.hdr.type, WMSG_STATS_REQ);
	assert_true(out.hdr.seq == 43);
	assert_int_equal(wmsg_recv(sv[1], &out), -EAGAIN);
	close(sv[0]);
	assert_int_equal(wmsg_recv(sv[1], &out), -ECONNRESET);
	close(sv[1]);
}

/* Whether fd is open in this process. */
static bool open_fd(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void recv_fd_should_get_the_descriptor_sent_with_a_message(void **state)
{
	uint64_t one = 1, got;
	struct wmsg out;
	int sv[2], efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), passed = 5;

	assert_true(efd >= 0);
	socketpair_seqpacket(sv);
	assert_int_equal(wmsg_send_fd(sv[0], WMSG_REFLEX, 7, &sample_reflex, efd), 0);
	assert_int_equal(wmsg_send(sv[0], WMSG_STATS_REQ, 8, NULL), 0);
	assert_int_equal(wmsg_recv_fd(sv[1], &out, &passed), 0);
	assert_int_equal(out.hdr.type, WMSG_REFLEX);
	assert_true(out.u.reflex.bytes == sample_reflex.bytes);
	assert_true(passed >= 0 && passed != efd);
	assert_true(fcntl(passed, F_GETFD) & FD_CLOEXEC);
	/* the same eventfd: what one side writes the other reads */
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(read(passed, &got, sizeof(got)), sizeof(got));
	assert_true(got == 1);
	close(passed);
	assert_int_equal(wmsg_recv_fd(sv[1], &out, &passed), 0);
	assert_int_equal(out.hdr.type, WMSG_STATS_REQ);
	assert_int_equal(passed, -1);
	close(efd);
	close(sv[0]);
	close(sv[1]);
}

static void recv_should_close_a_descriptor_nobody_asked_for(void **state)
{
	unsigned char bad[sizeof(struct wmsg)];
	struct wmsg out;
	int sv[2], efd = eventfd(0, EFD_CLOEXEC), passed, probe;

	assert_true(efd >= 0);
	socketpair_seqpacket(sv);
	/* plain recv: the descriptor is closed */
	assert_int_equal(wmsg_send_fd(sv[0], WMSG_REFLEX, 1, &sample_reflex, efd), 0);
	probe = dup(efd);
	close(probe); /* the number the received descriptor would take */
	assert_int_equal(wmsg_recv(sv[1], &out), 0);
	assert_false(open_fd(probe));
	/* a malformed datagram with a descriptor: refused, and the descriptor closed */
	assert_int_equal(wmsg_encode(bad, sizeof(bad), WMSG_REFLEX, 2, &sample_reflex), HDR + 16);
	bad[0] ^= 0xff; /* the version */
	{
		union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } ctl = { 0 };
		struct iovec iov = { .iov_base = bad, .iov_len = HDR + 16 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &efd, sizeof(int));
		assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)(HDR + 16));
	}
	passed = 5;
	assert_int_equal(wmsg_recv_fd(sv[1], &out, &passed), -EPROTO);
	assert_int_equal(passed, -1);
	assert_false(open_fd(probe));
	close(efd);
	close(sv[0]);
	close(sv[1]);
}

static void send_should_refuse_an_unknown_type_without_sending(void **state)
{
	struct wmsg out;
	int sv[2];

	socketpair_seqpacket(sv);
	assert_int_equal(wmsg_send(sv[0], WMSG_TYPE_MAX, 1, &sample_stats), -EINVAL);
	assert_int_equal(wmsg_recv(sv[1], &out), -EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

static void recv_should_refuse_malformed_datagrams_and_keep_reading(void **state)
{
	unsigned char good[sizeof(struct wmsg)], bad[sizeof(struct wmsg) + 64] = { 0 };
	int n = wmsg_encode(good, sizeof(good), WMSG_GROW, 5, &sample_size);
	struct wmsg_hdr hdr;
	struct wmsg out;
	int sv[2];

	socketpair_seqpacket(sv);
	/* short */
	assert_int_equal(send(sv[0], good, HDR - 1, 0), (ssize_t)HDR - 1);
	assert_int_equal(send(sv[0], good, n - 1, 0), n - 1);
	/* long, also longer than struct wmsg, which recv must notice despite its buffer */
	memcpy(bad, good, n);
	assert_int_equal(send(sv[0], bad, n + 1, 0), n + 1);
	assert_int_equal(send(sv[0], bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	/* bad version */
	memcpy(&hdr, good, HDR);
	hdr.version = WPROTO_VERSION + 1;
	memcpy(bad, &hdr, HDR);
	assert_int_equal(send(sv[0], bad, n, 0), n);
	/* bad type */
	memcpy(&hdr, good, HDR);
	hdr.type = WMSG_TYPE_MAX;
	memcpy(bad, &hdr, HDR);
	assert_int_equal(send(sv[0], bad, n, 0), n);
	/* len mismatch */
	memcpy(&hdr, good, HDR);
	hdr.len = 16;
	memcpy(bad, &hdr, HDR);
	assert_int_equal(send(sv[0], bad, n, 0), n);
	/* and a good one last: each malformed datagram is consumed, not left blocking the socket */
	assert_int_equal(send(sv[0], good, n, 0), n);
	for (int i = 0; i < 7; i++)
		assert_int_equal(wmsg_recv(sv[1], &out), -EPROTO);
	assert_int_equal(wmsg_recv(sv[1], &out), 0);
	assert_int_equal(out.hdr.type, WMSG_GROW);
	assert_true(out.u.size.bytes == UINT64_MAX);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payload_len_should_match_each_type_and_refuse_unknown_ones),
		cmocka_unit_test(encode_then_decode_should_round_trip_every_type),
		cmocka_unit_test(encode_should_refuse_unknown_types_small_buffers_and_missing_payloads),
		cmocka_unit_test(setup_should_be_refused_by_encode_and_decode_when_out_of_range),
		cmocka_unit_test(user_op_should_be_refused_by_encode_and_decode_when_malformed),
		cmocka_unit_test(stats_should_be_refused_by_encode_and_decode_when_malformed),
		cmocka_unit_test(stats_decode_should_zero_the_entries_past_nusers),
		cmocka_unit_test(decode_should_refuse_short_datagrams),
		cmocka_unit_test(decode_should_refuse_long_datagrams),
		cmocka_unit_test(decode_should_refuse_a_bad_version),
		cmocka_unit_test(decode_should_refuse_unknown_types),
		cmocka_unit_test(decode_should_refuse_a_len_that_does_not_match_the_type),
		cmocka_unit_test(recv_should_get_what_send_sent_over_a_socketpair),
		cmocka_unit_test(send_should_refuse_an_unknown_type_without_sending),
		cmocka_unit_test(reflex_should_be_refused_by_encode_and_decode_when_malformed),
		cmocka_unit_test(recv_fd_should_get_the_descriptor_sent_with_a_message),
		cmocka_unit_test(recv_should_close_a_descriptor_nobody_asked_for),
		cmocka_unit_test(recv_should_refuse_malformed_datagrams_and_keep_reading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
