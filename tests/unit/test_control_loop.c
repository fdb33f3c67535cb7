/* Unit tests of src/control/loop.c on a fixture v1 domain: events only record, the loop decides once per turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <cmocka.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/size.h"
#include "control/loop.h"
#include "control/state.h"
#include "sys/procfs.h"
#include "test_sys_tree.h"

struct fixture {
	char dir[PATH_MAX];
	struct ctl c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char root[PATH_MAX + 8], proc[PATH_MAX + 8], err[256];

	if (!f || tree_make(f->dir) || tree_mkdir(f->dir, "cg") || tree_mkdir(f->dir, "cg/dom") ||
	    tree_mkdir(f->dir, "cg/dom/app") || tree_mkdir(f->dir, "proc") ||
	    tree_put(f->dir, "proc/meminfo", "MemTotal: 4194304 kB\nMemFree: 1048576 kB\nMemAvailable: 2097152 kB\n") ||
	    tree_put(f->dir, "cg/dom/memory.limit_in_bytes", "1073741824\n") ||
	    tree_put(f->dir, "cg/dom/memory.usage_in_bytes", "536870912\n") ||
	    tree_put(f->dir, "cg/dom/memory.stat", "total_rss 536870912\ntotal_cache 0\n") ||
	    tree_put(f->dir, "cg/dom/app/memory.usage_in_bytes", "536870912\n") ||
	    tree_put(f->dir, "cg/dom/app/memory.stat", "total_rss 536870912\ntotal_cache 0\n"))
		return -1;
	snprintf(proc, sizeof(proc), "%s/proc", f->dir);
	procfs_set_root(proc);
	snprintf(root, sizeof(root), "%s/cg", f->dir);
	if (domain_open(&f->c.dom, "dom", "dom/app", root, 1, err, sizeof(err)))
		return -1;
	f->c.epfd = f->c.sigfd = f->c.wk.h.fd = f->c.wk.h.pidfd = -1;
	f->c.wk.grow_seq = f->c.wk.shrink_seq = -1;
	f->c.opt.no_events = true;             /* no thresholds to arm in a fixture tree */
	f->c.wk.restart_at_ms = UINT64_MAX; /* no worker: a tick must not start one */
	policy_defaults(&f->c.params, f->c.dom.total);
	targets_defaults(&f->c.tg, f->c.dom.total);
	for (int i = 0; i < NOTIFY_SLOTS; i++)
		f->c.notify.fd[i] = -1;
	f->c.notify.fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->c.notify.kind[0] = NOTIFY_USAGE;
	f->c.timerfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->c.notify.fd[0] < 0 || f->c.timerfd < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->c.notify.fd[0]);
	close(f->c.timerfd);
	procfs_set_root(NULL);
	tree_remove(f->dir);
	free(f);
	return 0;
}

static void fire(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void a_burst_of_ten_events_in_one_turn_should_yield_one_decision(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[11];

	for (int i = 0; i < 10; i++) {
		fire(f->c.notify.fd[0]);
		ev[i].data.u32 = TAG_NOTIFY + 0;
	}
	fire(f->c.timerfd);
	ev[10].data.u32 = TAG_TIMER;
	ctl_turn(&f->c, ev, 11);
	assert_int_equal(f->c.decisions, 1);
	assert_false(f->c.due.decide);
	/* A turn with nothing that asks for a decision makes none. */
	ctl_turn(&f->c, ev, 0);
	assert_int_equal(f->c.decisions, 1);
}

static void target_changes_should_only_mark_the_decision_due(void **state)
{
	struct fixture *f = *state;
	struct targets t = f->c.tg;

	for (int i = 0; i < 10; i++) {
		t.v[TARGET_GRAB_LOWER] = (uint64_t)(i + 1) * 2 * MIB;
		ctl_set_targets(&f->c, &t);
	}
	/* The handler (here, the API's) decided nothing itself... */
	assert_int_equal(f->c.decisions, 0);
	assert_true(f->c.due.decide);
	assert_true(f->c.params.grab_lower == 20 * MIB);
	/* ...the end of the turn does, once. */
	ctl_end_turn(&f->c);
	assert_int_equal(f->c.decisions, 1);
}

static void a_pressure_event_should_reach_the_one_decision_and_be_cleared(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[3];

	f->c.notify.fd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->c.notify.kind[1] = NOTIFY_CRITICAL;
	fire(f->c.notify.fd[1]);
	fire(f->c.notify.fd[0]);
	ev[0].data.u32 = TAG_NOTIFY + 0;
	ev[1].data.u32 = TAG_NOTIFY + 1;
	ev[2].data.u32 = TAG_NOTIFY + 0;
	ctl_turn(&f->c, ev, 3);
	assert_int_equal(f->c.decisions, 1);
	assert_int_equal(f->c.due.pressure, POLICY_PRESSURE_NONE);
	assert_int_equal(f->c.pressure, POLICY_PRESSURE_CRITICAL);
	close(f->c.notify.fd[1]);
	f->c.notify.fd[1] = -1;
}

/* A grow in flight counts as held: an app that grows meanwhile gets a release at once, which also stops the grow
 * between batches, instead of waiting for the step to end. */
static void a_release_should_count_the_grow_in_flight(void **state)
{
	struct fixture *f = *state;
	struct wmsg m;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	f->c.wk.h.fd = sv[0];
	f->c.wk.h.next_seq = 2;
	f->c.wk.ready = true;
	f->c.wk.grab = 0;
	f->c.wk.grow_seq = 1;
	f->c.wk.grow_bytes = 256 * MIB;
	/* 1 GiB domain, 256 MiB headroom: 900 MiB used leaves 124 MiB free. */
	assert_int_equal(tree_put(f->dir, "cg/dom/memory.usage_in_bytes", "943718400\n"), 0);
	f->c.due.decide = true;
	ctl_end_turn(&f->c);
	assert_int_equal(wmsg_recv(sv[1], &m), 0);
	assert_int_equal(m.hdr.type, WMSG_SHRINK);
	assert_true(m.u.size.bytes >= 132 * MIB && m.u.size.bytes <= 256 * MIB);
	assert_true(f->c.wk.shrink_seq == 2);
	f->c.wk.h.fd = -1;
	close(sv[0]);
	close(sv[1]);
}

/* The app is past the edge the worker's reflex holds: the reflex is releasing, and the controller's own app-growth
 * release waits for its report (or, should the kernel never signal it, for REFLEX_WAIT_MS) instead of doubling it. */
static void an_app_growth_release_should_wait_for_a_reflex_past_its_edge(void **state)
{
	struct fixture *f = *state;
	struct wmsg m;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	f->c.wk.h.fd = sv[0];
	f->c.wk.h.next_seq = 2;
	f->c.wk.ready = true;
	f->c.wk.grab = 512 * MIB;
	f->c.wk.reflex_bytes = 64 * MIB;
	f->c.notify.usage_edge = 768 * MIB; /* 1 GiB - the 256 MiB headroom */
	assert_int_equal(tree_put(f->dir, "cg/dom/memory.usage_in_bytes", "943718400\n"), 0); /* 900 MiB */
	f->c.due.decide = true;
	ctl_end_turn(&f->c);
	assert_int_equal(wmsg_recv(sv[1], &m), -EAGAIN);
	assert_true(f->c.wk.shrink_seq < 0);
	/* The reflex never reported: the controller releases alone once the wait is over. */
	f->c.wk.reflex_past_edge_ms -= 1000;
	f->c.due.decide = true;
	ctl_end_turn(&f->c);
	assert_int_equal(wmsg_recv(sv[1], &m), 0);
	assert_int_equal(m.hdr.type, WMSG_SHRINK);
	f->c.wk.h.fd = -1;
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_burst_of_ten_events_in_one_turn_should_yield_one_decision, setup,
						teardown),
		cmocka_unit_test_setup_teardown(target_changes_should_only_mark_the_decision_due, setup, teardown),
		cmocka_unit_test_setup_teardown(a_pressure_event_should_reach_the_one_decision_and_be_cleared, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_release_should_count_the_grow_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(an_app_growth_release_should_wait_for_a_reflex_past_its_edge, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
