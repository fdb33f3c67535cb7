#include "lib/sigballoon.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/size.h"
#include "lib/usbd.h"

static _Atomic uint64_t count;
static _Atomic int32_t deficit_mib;
static int efd = -1;
static struct sigaction old_action;

int usbd_sigballoon(void) { return SIGRTMIN + USBD_SIGBALLOON_OFFSET; }

uint64_t usbd_sigballoon_count(void) { return atomic_load(&count); }

uint64_t sigballoon_deficit(void)
{
	int32_t v = atomic_load(&deficit_mib);
	return v > 0 ? (uint64_t)v * MIB : 0;
}

/* Signal context: atomics and one write(2) only; the callback runs elsewhere. */
static void on_sigballoon(int sig, siginfo_t *si, void *uc)
{
	uint64_t one = 1;
	int saved = errno;

	atomic_fetch_add(&count, 1);
	/* The daemon queues the deficit in MiB; a plain kill(1) carries none. */
	atomic_store(&deficit_mib, si->si_code == SI_QUEUE ? si->si_value.sival_int : 0);
	/* Its only possible failure, EAGAIN on a full counter, means the fd is readable already: nothing lost. */
	(void)!write(efd, &one, sizeof(one));
	errno = saved;
}

int sigballoon_install(void)
{
	struct sigaction sa;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigballoon;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(usbd_sigballoon(), &sa, &old_action) < 0) {
		int err = -errno;
		close(efd);
		efd = -1;
		return err;
	}
	return efd;
}

void sigballoon_uninstall(void)
{
	sigaction(usbd_sigballoon(), &old_action, NULL);
	close(efd);
	efd = -1;
}
