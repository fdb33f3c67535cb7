#include "sys/uring.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct uring {
	int fd;
	unsigned entries;       /* SQ size: the largest batch */
	unsigned queued;        /* operations in the batch being built */
	uint32_t gen;           /* batch number, in the upper half of user_data: a stale completion is known */
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned sq_local;      /* our tail, published by uring_run */
	struct io_uring_sqe *sqes;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
};

static int sys_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned submit, unsigned wait, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
}

/* SUBMIT_ALL (5.18) is required: a bad operation must not keep the rest of the batch from running. COOP_TASKRUN
 * (5.19) and SINGLE_ISSUER (6.0) only save work, so they are dropped when the kernel does not know them. */
static int setup(unsigned entries, struct io_uring_params *p)
{
	static const unsigned flags[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SUBMIT_ALL,
	};
	int fd = -EINVAL;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		memset(p, 0, sizeof(*p));
		p->flags = flags[i];
		fd = sys_setup(entries, p);
		if (fd >= 0 || errno != EINVAL)
			return fd >= 0 ? fd : -errno;
	}
	return -EINVAL;
}

void uring_free(struct uring *r)
{
	if (!r)
		return;
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static void *map(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);
}

int uring_new(unsigned entries, struct uring **out)
{
	struct io_uring_params p;
	struct uring *r;
	char *sq, *cq;

	if (entries == 0 || entries > 4096 || (entries & (entries - 1)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = setup(entries, &p);
	if (r->fd < 0) {
		int err = r->fd;

		free(r);
		return err;
	}
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->sq_len = r->cq_len = r->sq_len > r->cq_len ? r->sq_len : r->cq_len;
		r->sq_map = r->cq_map = map(r->fd, r->sq_len, IORING_OFF_SQ_RING);
	} else {
		r->sq_map = map(r->fd, r->sq_len, IORING_OFF_SQ_RING);
		r->cq_map = map(r->fd, r->cq_len, IORING_OFF_CQ_RING);
	}
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = map(r->fd, r->sqes_len, IORING_OFF_SQES);
	if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
		int err = -errno;

		uring_free(r);
		return err;
	}
	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_head = (unsigned *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->sq_local = *r->sq_tail;
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	*out = r;
	return 0;
}

static int queue(struct uring *r, uint8_t op, int fd, const void *buf, size_t len, int flags)
{
	unsigned idx = r->sq_local & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	if (r->queued == r->entries)
		return -ENOSPC;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)buf;
	sqe->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	sqe->msg_flags = (uint32_t)(flags | MSG_DONTWAIT);
	sqe->user_data = (uint64_t)r->gen << 32 | r->queued;
	r->sq_array[idx] = idx;
	r->sq_local++;
	return (int)r->queued++;
}

int uring_recv(struct uring *r, int fd, void *buf, size_t len, int flags)
{
	return queue(r, IORING_OP_RECV, fd, buf, len, flags);
}

int uring_send(struct uring *r, int fd, const void *buf, size_t len, int flags)
{
	return queue(r, IORING_OP_SEND, fd, buf, len, flags);
}

unsigned uring_queued(const struct uring *r) { return r->queued; }

/* Takes the completions posted so far; returns how many were this batch's. */
static unsigned reap(struct uring *r, int32_t *res)
{
	unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE), got = 0;

	for (; head != tail; head++) {
		const struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
		uint32_t i = (uint32_t)cqe->user_data;

		if ((uint32_t)(cqe->user_data >> 32) != r->gen || i >= r->queued)
			continue;
		res[i] = cqe->res;
		got++;
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	return got;
}

int uring_run(struct uring *r, int32_t *res)
{
	unsigned n = r->queued, done;
	int submitted, ret = 0;

	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		res[i] = URING_NOT_RUN;
	__atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
	do
		submitted = sys_enter(r->fd, n, 0, 0);
	while (submitted < 0 && errno == EINTR);
	if (submitted < 0) {
		ret = -errno;
		submitted = 0;
	}
	if ((unsigned)submitted < n) {
		/* What the kernel did not take is withdrawn: it must not run with the next batch. */
		r->sq_local = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
		__atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
	}
	/* Non-blocking operations complete within the submission: the wait below is for what a kernel might defer. */
	done = reap(r, res);
	while (done < (unsigned)submitted) {
		if (sys_enter(r->fd, 0, (unsigned)submitted - done, IORING_ENTER_GETEVENTS) < 0 && errno != EINTR)
			break;
		done += reap(r, res);
	}
	r->queued = 0;
	r->gen++;
	return submitted ? 0 : ret;
}
