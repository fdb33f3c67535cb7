/* Unit tests of src/control/domain.c on fixture trees: free memory and idle swap cache in a v1, v2 and host domain. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/size.h"
#include "sys/domain.h"
#include "sys/procfs.h"
#include "test_sys_tree.h"

#define MEMINFO_HEAD "MemTotal: 4194304 kB\nMemFree: 1048576 kB\n"

struct tree {
	char dir[PATH_MAX];
	char proc[PATH_MAX + 8];
};

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t || tree_make(t->dir) || tree_mkdir(t->dir, "cg") || tree_mkdir(t->dir, "cg/dom") ||
	    tree_mkdir(t->dir, "cg/dom/app") || tree_mkdir(t->dir, "proc"))
		return -1;
	snprintf(t->proc, sizeof(t->proc), "%s/proc", t->dir);
	procfs_set_root(t->proc);
	/* 4 GiB of RAM: a domain's limit must be below it. */
	if (tree_put(t->dir, "proc/meminfo", MEMINFO_HEAD "MemAvailable: 2097152 kB\n"))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;

	procfs_set_root(NULL);
	tree_remove(t->dir);
	free(t);
	return 0;
}

static void idle_swapcache_should_be_the_unmapped_anon_lru_at_most_the_swap_cache(void **state)
{
	(void)state;
	/* 256 MiB on the anon LRU, 128 MiB of it mapped: the other 128 MiB is swap cache nobody maps. */
	assert_true(domain_idle_swapcache(256 * MIB, 256 * MIB, 128 * MIB, 0) == 128 * MIB);
	/* Shmem is on the anon LRU too, and is not swap cache. */
	assert_true(domain_idle_swapcache(256 * MIB, 256 * MIB, 128 * MIB, 100 * MIB) == 28 * MIB);
	/* Never more than the swap cache, whatever else sits unmapped on the LRU. */
	assert_true(domain_idle_swapcache(10 * MIB, 256 * MIB, 0, 0) == 10 * MIB);
	/* Mlocked anon is mapped but on no LRU: the difference goes negative, which is 0, not a wrap. */
	assert_true(domain_idle_swapcache(64 * MIB, 10 * MIB, 18 * MIB, 9 * MIB) == 0);
	assert_true(domain_idle_swapcache(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX) == 0);
	assert_true(domain_idle_swapcache(0, 256 * MIB, 0, 0) == 0);
}

static void open_and_read(struct tree *t, const char *dom, int version, struct domain_reading *r)
{
	char root[PATH_MAX + 8], err[256];
	struct domain d;

	snprintf(root, sizeof(root), "%s/cg", t->dir);
	assert_int_equal(domain_open(&d, dom, dom ? "dom/app" : "dom", root, version, err, sizeof(err)), 0);
	assert_int_equal(domain_read(&d, r), 0);
}

static void v1_should_read_idle_swap_cache_apart_from_free(void **state)
{
	struct tree *t = *state;
	struct domain_reading r;

	assert_int_equal(tree_put(t->dir, "cg/dom/memory.limit_in_bytes", "1073741824\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.usage_in_bytes", "1002438656\n"), 0); /* 956 MiB */
	/* 680 MiB of a hog + 128 MiB an app maps; the app's other 128 MiB was paged out and sits in the swap cache. */
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.stat",
				  "rss 0\ncache 0\ntotal_rss 847249408\ntotal_cache 285212672\ntotal_shmem 0\n"
				  "total_swapcached 268435456\ntotal_active_anon 536870912\ntotal_inactive_anon 444596224\n"
				  "total_inactive_file 16777216\ntotal_active_file 0\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/app/memory.usage_in_bytes", "0\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/app/memory.stat", "total_rss 0\ntotal_cache 0\n"), 0);
	open_and_read(t, "dom", 1, &r);
	assert_true(r.total == GIB);
	assert_true(r.idle_swapcache == 128 * MIB);
	/* Free counts inactive page cache, not swap cache: the registry credits its apps' part of it. */
	assert_true(r.free == GIB - (956 - 16) * MIB);
	/* The same domain with the pages mapped again (read back): no idle swap cache. */
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.stat",
				  "total_rss 981467136\ntotal_cache 285212672\ntotal_swapcached 268435456\n"
				  "total_active_anon 536870912\ntotal_inactive_anon 444596224\ntotal_inactive_file 16777216\n"),
			 0);
	open_and_read(t, "dom", 1, &r);
	assert_true(r.idle_swapcache == 0);
	assert_true(r.free == GIB - (956 - 16) * MIB);
}

static void v2_should_read_idle_swap_cache_apart_from_free(void **state)
{
	struct tree *t = *state;
	struct domain_reading r;

	assert_int_equal(tree_put(t->dir, "cg/dom/memory.max", "1073741824\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.current", "1002438656\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.swap.current", "134217728\n"), 0);
	/* As in the v1 case, with 8 MiB of shmem on the anon LRU as well. */
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.stat",
				  "anon 847249408\nfile 293601280\nshmem 8388608\nswapcached 268435456\n"
				  "active_anon 545259520\ninactive_anon 444596224\ninactive_file 16777216\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/app/memory.current", "0\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/app/memory.swap.current", "0\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/app/memory.stat", "anon 0\nfile 0\n"), 0);
	open_and_read(t, "dom", 2, &r);
	assert_true(r.idle_swapcache == 128 * MIB);
	assert_true(r.free == GIB - (956 - 16) * MIB);
}

static void host_should_read_idle_swap_cache_apart_from_mem_available(void **state)
{
	struct tree *t = *state;
	struct domain_reading r;

	assert_int_equal(tree_put(t->dir, "cg/dom/memory.usage_in_bytes", "0\n"), 0);
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.stat", "total_rss 0\ntotal_cache 0\n"), 0);
	/* 2 GiB available; 300 MiB on the anon LRU, 100 MiB mapped, 50 MiB shmem, 120 MiB swap cache: 120 idle. */
	assert_int_equal(tree_put(t->dir, "proc/meminfo", MEMINFO_HEAD "MemAvailable: 2097152 kB\n"
				  "SwapCached: 122880 kB\nActive(anon): 204800 kB\nInactive(anon): 102400 kB\n"
				  "AnonPages: 102400 kB\nShmem: 51200 kB\n"), 0);
	open_and_read(t, NULL, 1, &r);
	assert_true(r.idle_swapcache == 120 * MIB);
	assert_true(r.free == 2 * GIB);
	assert_true(r.usage == 2 * GIB);
}

static void an_unlimited_domain_should_be_refused_with_the_hierarchys_own_hint(void **state)
{
	struct tree *t = *state;
	struct domain d;
	char root[PATH_MAX + 8], err[512];

	snprintf(root, sizeof(root), "%s/cg", t->dir);
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.max", "max\n"), 0);
	assert_int_equal(domain_open(&d, "dom", "dom/app", root, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "has no memory limit below the machine's memory"));
	assert_non_null(strstr(err, "`echo 2G > "));
	assert_non_null(strstr(err, "/cg/dom/memory.max`"));
	assert_null(strstr(err, "cgset"));
	assert_int_equal(tree_put(t->dir, "cg/dom/memory.limit_in_bytes", "9223372036854771712\n"), 0);
	assert_int_equal(domain_open(&d, "dom", "dom/app", root, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "`cgset -r memory.limit_in_bytes=2G dom`"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(idle_swapcache_should_be_the_unmapped_anon_lru_at_most_the_swap_cache),
		cmocka_unit_test_setup_teardown(v1_should_read_idle_swap_cache_apart_from_free, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_should_read_idle_swap_cache_apart_from_free, setup, teardown),
		cmocka_unit_test_setup_teardown(host_should_read_idle_swap_cache_apart_from_mem_available, setup, teardown),
		cmocka_unit_test_setup_teardown(an_unlimited_domain_should_be_refused_with_the_hierarchys_own_hint, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
