/* Unit tests of src/control/notify.c on a fixture v1 domain: which usage thresholds are registered anew, which kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/size.h"
#include "control/notify.h"
#include "test_sys_tree.h"

#define TAGS 100

struct fixture {
	char dir[PATH_MAX];
	struct domain dom;
	struct notify nt;
	int epfd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char root[PATH_MAX + 8], err[256];

	/* A v1 tree: registering a threshold writes "EVENTFD FD LEVEL" to the (here plain) cgroup.event_control. */
	if (!f || tree_make(f->dir) || tree_mkdir(f->dir, "cg") || tree_mkdir(f->dir, "cg/dom") ||
	    tree_mkdir(f->dir, "cg/dom/app") ||
	    tree_put(f->dir, "cg/dom/memory.limit_in_bytes", "1073741824\n") ||
	    tree_put(f->dir, "cg/dom/memory.usage_in_bytes", "536870912\n") ||
	    tree_put(f->dir, "cg/dom/cgroup.event_control", "") ||
	    tree_put(f->dir, "cg/dom/app/memory.usage_in_bytes", "536870912\n"))
		return -1;
	snprintf(root, sizeof(root), "%s/cg", f->dir);
	if (domain_open(&f->dom, "dom", "dom/app", root, 1, err, sizeof(err)))
		return -1;
	memset(&f->nt, 0, sizeof(f->nt));
	for (int i = 0; i < NOTIFY_SLOTS; i++)
		f->nt.fd[i] = -1;
	f->nt.events = EPOLLIN;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	*state = f;
	return f->epfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	notify_teardown(&f->nt, f->epfd);
	close(f->epfd);
	tree_remove(f->dir);
	free(f);
	return 0;
}

/* Marks the eventfd of each registered threshold; a kept one still carries the mark afterwards, a new one does not. */
static void mark(const struct notify *nt)
{
	uint64_t one = 1;

	for (int k = 0; k < NOTIFY_USAGE_LEVELS; k++)
		if (nt->fd[k] >= 0)
			assert_int_equal(write(nt->fd[k], &one, sizeof(one)), sizeof(one));
}

static bool kept(const struct notify *nt, int k)
{
	uint64_t count = 0;

	return nt->fd[k] >= 0 && read(nt->fd[k], &count, sizeof(count)) == sizeof(count) && count == 1;
}

static void the_same_edge_should_register_only_what_is_missing(void **state)
{
	struct fixture *f = *state;
	const uint64_t edge = 512 * MIB, step = 64 * MIB;
	int handed, reflex;

	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, step, f->epfd, TAGS, NULL), 4);
	mark(&f->nt);
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, step, f->epfd, TAGS, NULL), 4);
	for (int k = 0; k < 4; k++)
		assert_true(kept(&f->nt, k));

	/* The reflex takes the first: a new registration, handed out; the deeper ones stay. */
	mark(&f->nt);
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, step, f->epfd, TAGS, &reflex), 4);
	assert_true(reflex >= 0);
	assert_true(f->nt.first_handed);
	assert_int_equal(f->nt.fd[0], -1);
	for (int k = 1; k < 4; k++)
		assert_true(kept(&f->nt, k));
	/* Asked again while the reflex holds it: nothing new. */
	mark(&f->nt);
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, step, f->epfd, TAGS, &handed), 4);
	assert_int_equal(handed, -1);
	for (int k = 1; k < 4; k++)
		assert_true(kept(&f->nt, k));

	/* The reflex fired (its fd is gone): the controller registers the first again, and only it. */
	close(reflex);
	notify_first_returned(&f->nt);
	mark(&f->nt);
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, step, f->epfd, TAGS, NULL), 4);
	assert_false(f->nt.first_handed);
	assert_true(f->nt.fd[0] >= 0 && !kept(&f->nt, 0));
	for (int k = 1; k < 4; k++)
		assert_true(kept(&f->nt, k));
}

static void a_new_edge_should_register_everything_anew(void **state)
{
	struct fixture *f = *state;
	int handed;

	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, 512 * MIB, 64 * MIB, f->epfd, TAGS, &handed), 4);
	assert_true(handed >= 0 && f->nt.first_handed);
	close(handed);
	mark(&f->nt);
	/* From 800 MiB, 4 levels still fit under the domain's 1 GiB; the reflex's threshold is the caller's to replace. */
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, 800 * MIB, 64 * MIB, f->epfd, TAGS, NULL), 4);
	assert_false(f->nt.first_handed);
	for (int k = 0; k < 4; k++)
		assert_true(f->nt.fd[k] >= 0 && !kept(&f->nt, k));
	assert_true(f->nt.usage_edge == 800 * MIB);
}

/* The level of the last registration written to the fixture's cgroup.event_control ("EVENTFD FD LEVEL"). */
static unsigned long long registered_level(const struct fixture *f)
{
	char path[PATH_MAX + 64], line[128] = "";
	unsigned long long level = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cg/dom/cgroup.event_control", f->dir);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_int_equal(sscanf(line, "%*d %*d %llu", &level), 1);
	return level;
}

/*
 * v1 checks a cgroup's thresholds only every 128 pages charged on a CPU, so a threshold at the edge itself would be
 * signalled up to 512 KiB past it: the reflex's is registered NOTIFY_ANTICIPATE below the edge, so that the kernel
 * signals a crossing by the time usage reaches the edge. The controller's own stays at the edge: woken early, it
 * would read free memory still above the headroom, do nothing, and miss the crossing.
 */
static void the_reflex_threshold_should_be_a_ratelimit_window_early(void **state)
{
	struct fixture *f = *state;
	const uint64_t edge = 992 * MIB;
	int handed;

	/* Only the first level fits under the domain's 1 GiB: the control file holds its registration. */
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, 64 * MIB, f->epfd, TAGS, NULL), 1);
	assert_true(registered_level(f) == edge && notify_first_level(&f->nt) == edge);

	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, 64 * MIB, f->epfd, TAGS, &handed), 1);
	assert_true(handed >= 0);
	assert_true(NOTIFY_ANTICIPATE >= 128 * 4096);
	assert_true(registered_level(f) == edge - NOTIFY_ANTICIPATE);
	assert_true(notify_first_level(&f->nt) == edge - NOTIFY_ANTICIPATE);
	assert_true(f->nt.usage_edge == edge);

	/* The reflex gave it back: the controller's own is registered at the edge again. */
	close(handed);
	notify_first_returned(&f->nt);
	assert_int_equal(notify_arm_usage(&f->nt, &f->dom, edge, 64 * MIB, f->epfd, TAGS, NULL), 1);
	assert_true(registered_level(f) == edge && notify_first_level(&f->nt) == edge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_same_edge_should_register_only_what_is_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_edge_should_register_everything_anew, setup, teardown),
		cmocka_unit_test_setup_teardown(the_reflex_threshold_should_be_a_ratelimit_window_early, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
