#include "balloon/proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int wmsg_payload_len(uint16_t type)
{
	switch (type) {
	case WMSG_GROW:
	case WMSG_SHRINK:
		return sizeof(struct wmsg_size);
	case WMSG_DONE:
	case WMSG_REFLEXED:
		return sizeof(struct wmsg_done);
	case WMSG_REFLEX:
		return sizeof(struct wmsg_reflex);
	case WMSG_STATS:
		return sizeof(struct wmsg_stats);
	case WMSG_SETUP:
		return sizeof(struct wmsg_setup);
	case WMSG_USER:
		return sizeof(struct wmsg_user_op);
	case WMSG_STATS_REQ:
	case WMSG_HELLO:
		return 0;
	default:
		return -1;
	}
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

bool wmsg_stats_valid(const struct wmsg_stats *s)
{
	if (s->nusers > TENANT_USERS_MAX || s->reserved)
		return false;
	for (uint32_t i = 0; i < s->nusers; i++) {
		const char *name = s->users[i].name;

		if (!name[0] || !terminated(name, sizeof(s->users[i].name)))
			return false;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(s->users[j].name, name))
				return false;
	}
	return true;
}

bool wmsg_user_op_valid(const struct wmsg_user_op *op)
{
	return (op->verb == WUSER_SET || op->verb == WUSER_DEL) && op->reserved == 0 &&
	       terminated(op->user.name, sizeof(op->user.name)) &&
	       terminated(op->user.password, sizeof(op->user.password));
}

bool wmsg_reflex_valid(const struct wmsg_reflex *r)
{
	return r->bytes % WREFLEX_UNIT == 0 && r->reserved == 0;
}

/* The settings a worker acts on before anything else: each in range, each string ending inside its array. */
bool wmsg_setup_valid(const struct wmsg_setup *s)
{
	const struct wmsg_tenant *t = &s->tenant;

	if (t->nusers > WMSG_USERS_MAX)
		return false;
	for (uint32_t i = 0; i < WMSG_USERS_MAX; i++)
		if (!terminated(t->users[i].name, sizeof(t->users[i].name)) ||
		    !terminated(t->users[i].password, sizeof(t->users[i].password)))
			return false;
	return s->mode <= 1 && s->oom_score_adj >= -1000 && s->oom_score_adj <= 1000 && s->log_level <= 3 &&
	       (s->flags & ~WSETUP_TENANT) == 0 && terminated(s->cgroup, sizeof(s->cgroup)) &&
	       (s->cgroup[0] == '\0' || s->cgroup[0] == '/') && terminated(t->listen, sizeof(t->listen)) &&
	       terminated(t->password, sizeof(t->password));
}

int wmsg_decode(const void *buf, size_t n, struct wmsg *out)
{
	struct wmsg_hdr hdr;
	int plen;

	if (n < sizeof(hdr))
		return -EPROTO;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.version != WPROTO_VERSION)
		return -EPROTO;
	plen = wmsg_payload_len(hdr.type);
	if (plen < 0 || hdr.len != (uint32_t)plen || n != sizeof(hdr) + (size_t)plen)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->hdr = hdr;
	memcpy(&out->u, (const char *)buf + sizeof(hdr), plen);
	if ((hdr.type == WMSG_SETUP && !wmsg_setup_valid(&out->u.setup)) ||
	    (hdr.type == WMSG_USER && !wmsg_user_op_valid(&out->u.user_op)) ||
	    (hdr.type == WMSG_REFLEX && !wmsg_reflex_valid(&out->u.reflex)) ||
	    (hdr.type == WMSG_STATS && !wmsg_stats_valid(&out->u.stats))) {
		explicit_bzero(out, sizeof(*out));
		return -EPROTO;
	}
	if (hdr.type == WMSG_STATS)
		memset(&out->u.stats.users[out->u.stats.nusers], 0,
		       sizeof(out->u.stats.users[0]) * (TENANT_USERS_MAX - out->u.stats.nusers));
	return 0;
}

int wmsg_encode(void *buf, size_t len, uint16_t type, uint64_t seq, const void *payload)
{
	struct wmsg_hdr hdr = { .version = WPROTO_VERSION, .type = type, .seq = seq };
	int plen = wmsg_payload_len(type);

	if (plen < 0 || len < sizeof(hdr) + (size_t)plen || (plen > 0 && !payload))
		return -EINVAL;
	if ((type == WMSG_SETUP && !wmsg_setup_valid(payload)) || (type == WMSG_USER && !wmsg_user_op_valid(payload)) ||
	    (type == WMSG_REFLEX && !wmsg_reflex_valid(payload)) || (type == WMSG_STATS && !wmsg_stats_valid(payload)))
		return -EINVAL;
	hdr.len = plen;
	memcpy(buf, &hdr, sizeof(hdr));
	if (plen > 0)
		memcpy((char *)buf + sizeof(hdr), payload, plen);
	return sizeof(hdr) + plen;
}

int wmsg_send_fd(int fd, uint16_t type, uint64_t seq, const void *payload, int pass_fd)
{
	struct wmsg msg;
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { .iov_base = &msg };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int n = wmsg_encode(&msg, sizeof(msg), type, seq, payload);
	ssize_t sent;

	if (n < 0)
		return n;
	iov.iov_len = (size_t)n;
	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do {
		sent = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (sent < 0 && errno == EINTR);
	/* A WMSG_SETUP or WMSG_USER carries passwords: leave no copy of them on the stack. */
	if (type == WMSG_SETUP || type == WMSG_USER)
		explicit_bzero(&msg, sizeof(msg));
	if (sent < 0)
		return -errno;
	/* A SOCK_SEQPACKET send is all or nothing; anything else means the socket is not one. */
	return sent == n ? 0 : -EPROTO;
}

int wmsg_send(int fd, uint16_t type, uint64_t seq, const void *payload)
{
	return wmsg_send_fd(fd, type, seq, payload, -1);
}

/* Takes the first descriptor of SCM_RIGHTS into *got (when got is not NULL) and closes every other one. */
static void take_fds(struct msghdr *mh, int *got)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int one;

			memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got && *got < 0)
				*got = one;
			else
				close(one);
		}
	}
}

int wmsg_recv_fd(int fd, struct wmsg *out, int *got_fd)
{
	struct wmsg buf;
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * 4)]; } ctl;
	struct iovec iov = { .iov_base = &buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	int err, passed = -1;
	ssize_t n;

	if (got_fd)
		*got_fd = -1;
	do {
		/* MSG_TRUNC makes recv report a datagram's real length, so an over-long one is seen as such. */
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	take_fds(&mh, &passed);
	if (n == 0) {
		if (passed >= 0)
			close(passed);
		return -ECONNRESET;
	}
	err = (size_t)n > sizeof(buf) ? -EPROTO : wmsg_decode(&buf, n, out);
	/* Likewise for the received copy of a WMSG_SETUP (out holds the one the caller asked for). */
	if ((size_t)n >= sizeof(buf.hdr) && buf.hdr.type == WMSG_SETUP)
		explicit_bzero(&buf, sizeof(buf));
	if (passed >= 0 && (err || !got_fd))
		close(passed);
	else if (got_fd)
		*got_fd = passed;
	return err;
}

int wmsg_recv(int fd, struct wmsg *out)
{
	return wmsg_recv_fd(fd, out, NULL);
}
