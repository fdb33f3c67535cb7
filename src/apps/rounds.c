/* rounds: the SIGBALLOON rounds (see rounds.h). */
#include "apps/rounds.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"
#include "policy/pageout.h"
#include "sys/procfs.h"

#define SETTLE_MS 250       /* no SIGBALLOON this soon after an honoured page-out */

/* Each registered app's resident memory (0 if unreadable), and their sum: the weights of the deficit's split. */
static uint64_t read_rss(struct app *apps)
{
	struct pid_status ps;
	uint64_t all = 0;
	struct app *a;

	for (a = apps; a; a = a->next) {
		a->rss = 0;
		if (a->registered && pid_status_read(a->pid, &ps) == 0)
			a->rss = ps.vm_rss;
		all = sat_add(all, a->rss);
	}
	return all;
}

static void signal_app(struct rounds *ro, struct app *a, siginfo_t *si, uint64_t deficit, uint64_t all)
{
	si->si_signo = a->sig;
	si->si_value.sival_int = (int)min_u64(pageout_share(deficit, a->rss, all) / MIB, INT32_MAX);
	if (pidfd_send_signal(a->pidfd, a->sig, si, 0) == 0)
		ro->signals++;
	else if (errno == ESRCH)
		a->gone = true;
	else /* EAGAIN: the app's real-time queue is full, it has signals to handle already. */
		log_debug("registry: SIGBALLOON to pid %d: %s", (int)a->pid, strerror(errno));
}

void rounds_tick(struct rounds *ro, struct app *apps, uint64_t now_ms, uint64_t free_bytes, uint64_t threshold)
{
	uint64_t deficit, all;
	struct app *a;
	siginfo_t si;

	if (free_bytes >= threshold) {
		ro->below = false;
		return;
	}
	if (ro->below && now_ms - ro->last_signal_ms < ro->resignal_ms)
		return;
	ro->below = true;
	ro->last_signal_ms = now_ms;
	deficit = threshold - free_bytes;
	all = read_rss(apps);
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	for (a = apps; a; a = a->next) {
		/* An app honoured a page-out less than SETTLE_MS ago is not asked this round: right after a page-out
		 * the counters can show a deficit that is gone a moment later, and answering it gives twice. */
		if (a->registered && !(a->pageout_ms && now_ms - a->pageout_ms < SETTLE_MS))
			signal_app(ro, a, &si, deficit, all);
	}
}
