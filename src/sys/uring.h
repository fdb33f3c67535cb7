/*
 * uring: a batch of socket reads and writes run by one io_uring_enter instead of one system call each. Raw system
 * calls, no liburing. Every operation is issued non-blocking (MSG_DONTWAIT): it completes within the call, with
 * what recv(2)/send(2) on a non-blocking socket would have returned (bytes, or -EAGAIN, -ECONNRESET, ...), so
 * that a batch is a drop-in for a loop of those calls and no buffer stays in the kernel's hands after uring_run.
 * uring_new fails where io_uring cannot be used (kernel without it or before 5.18, kernel.io_uring_disabled,
 * a seccomp filter that refuses io_uring_setup): callers keep the plain system calls for that case.
 */
#ifndef USBD_SYS_URING_H
#define USBD_SYS_URING_H

#include <stddef.h>
#include <stdint.h>

struct uring;

/* Result of an operation uring_run could not start (the caller makes the plain system call instead). */
#define URING_NOT_RUN INT32_MIN

/* A ring for batches of at most `entries` operations (a power of two, at most 4096). 0 and *out, or -errno. */
int uring_new(unsigned entries, struct uring **out);
void uring_free(struct uring *r);

/* Queues recv(fd, buf, len, flags | MSG_DONTWAIT) or send(fd, buf, len, flags | MSG_DONTWAIT). Returns the
 * operation's index in the batch (0, 1, ...), or -ENOSPC when the batch is full. */
int uring_recv(struct uring *r, int fd, void *buf, size_t len, int flags);
int uring_send(struct uring *r, int fd, const void *buf, size_t len, int flags);
/* Operations queued and not yet run. */
unsigned uring_queued(const struct uring *r);

/*
 * Runs the batch: one io_uring_enter submits every queued operation and waits for all of them (they never block).
 * res[i] gets operation i's result (res has room for uring_queued()), URING_NOT_RUN for any the kernel did not
 * take. The batch is empty afterwards. Returns 0, or the -errno of io_uring_enter when it took none at all.
 */
int uring_run(struct uring *r, int32_t *res);

#endif
