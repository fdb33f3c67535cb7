/* Unit tests of src/sys/cgroup (common part): names, resolving, hierarchy detection and files, on temp trees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "common/size.h"
#include "sys/cgroup.h"
#include "sys/procfs.h"
#include "test_sys_tree.h"

struct fx {
	char dir[PATH_MAX];
	struct cg_hier h;
};

/* A tree usable as a v1 or v2 root: app/web, an outside directory and links in and out of the root. */
static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char path[PATH_MAX * 2];

	if (!fx || tree_make(fx->dir))
		return -1;
	if (tree_mkdir(fx->dir, "root") || tree_mkdir(fx->dir, "root/app") || tree_mkdir(fx->dir, "root/app/web") ||
	    tree_mkdir(fx->dir, "outside") || tree_put(fx->dir, "root/app/memory.stat", "x 1\n"))
		return -1;
	snprintf(path, sizeof(path), "%s/root/escape", fx->dir);
	if (symlink("../outside", path))
		return -1;
	snprintf(path, sizeof(path), "%s/root/alias", fx->dir);
	if (symlink("app/web", path))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tree_remove(fx->dir);
	free(fx);
	procfs_set_root(NULL);
	return 0;
}

static void open_root(struct fx *fx, int version)
{
	char root[PATH_MAX * 2];

	snprintf(root, sizeof(root), "%s/root", fx->dir);
	assert_int_equal(cg_hier_open(&fx->h, root, version), 0);
	assert_int_equal(fx->h.version, version);
	assert_string_equal(fx->h.root, root);
}

static void canon_should_trim_slashes(void **state)
{
	char out[PATH_MAX];

	assert_int_equal(cg_name_canon("/app/web/", out, sizeof(out)), 0);
	assert_string_equal(out, "app/web");
	assert_int_equal(cg_name_canon("///app///", out, sizeof(out)), 0);
	assert_string_equal(out, "app");
	assert_int_equal(cg_name_canon("app", out, sizeof(out)), 0);
	assert_string_equal(out, "app");
	assert_int_equal(cg_name_canon("a.b/..c/c..", out, sizeof(out)), 0);
	assert_string_equal(out, "a.b/..c/c..");
}

static void canon_should_name_the_root_with_an_empty_string(void **state)
{
	char out[8] = "x";

	assert_int_equal(cg_name_canon("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(cg_name_canon("/", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(cg_name_canon("//", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void canon_should_refuse_dots_empty_components_and_control_chars(void **state)
{
	static const char *const bad[] = { "..", "../x", "a/../b", "a/..", ".", "./a", "a/./b", "a//b", "a\nb",
					   "a\tb", "\x01", "a/\x7f", "a\x1b[31m", NULL };
	char out[PATH_MAX];

	for (int i = 0; bad[i]; i++) {
		strcpy(out, "untouched");
		assert_int_equal(cg_name_canon(bad[i], out, sizeof(out)), -EINVAL);
		assert_string_equal(out, "untouched");
	}
	assert_int_equal(cg_name_canon(NULL, out, sizeof(out)), -EINVAL);
}

static void canon_should_refuse_names_too_long_for_the_output_or_a_component(void **state)
{
	char name[PATH_MAX + 10], out[PATH_MAX], small[4];

	assert_int_equal(cg_name_canon("abcd", small, sizeof(small)), -EINVAL);
	assert_int_equal(cg_name_canon("/abc/", small, sizeof(small)), 0);
	assert_string_equal(small, "abc");
	memset(name, 'a', 256);
	name[256] = '\0';
	assert_int_equal(cg_name_canon(name, out, sizeof(out)), -EINVAL);
	name[255] = '\0';
	assert_int_equal(cg_name_canon(name, out, sizeof(out)), 0);
	for (int i = 0; i < PATH_MAX + 8; i++)
		name[i] = i % 100 == 99 ? '/' : 'a';
	name[PATH_MAX + 8] = '\0';
	assert_int_equal(cg_name_canon(name, out, sizeof(out)), -EINVAL);
}

static void resolve_should_find_nested_cgroups_in_both_versions(void **state)
{
	struct fx *fx = *state;
	struct cgroup cg;
	char want[PATH_MAX * 2];

	for (int v = 1; v <= 2; v++) {
		open_root(fx, v);
		assert_int_equal(cg_resolve(&fx->h, "/app/web/", &cg), 0);
		assert_string_equal(cg.name, "app/web");
		snprintf(want, sizeof(want), "%s/root/app/web", fx->dir);
		assert_string_equal(cg.path, want);
		assert_ptr_equal(cg.hier, &fx->h);
		assert_int_equal(cg_resolve(&fx->h, "", &cg), 0);
		assert_string_equal(cg.name, "");
		assert_string_equal(cg.path, fx->h.root);
	}
}

static void resolve_should_refuse_a_symlink_escaping_the_root(void **state)
{
	struct fx *fx = *state;
	struct cgroup cg;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "escape", &cg), -EXDEV);
	open_root(fx, 1);
	assert_int_equal(cg_resolve(&fx->h, "escape", &cg), -EXDEV);
}

static void resolve_should_follow_a_symlink_inside_the_root_to_its_real_name(void **state)
{
	struct fx *fx = *state;
	struct cgroup cg;

	open_root(fx, 1);
	assert_int_equal(cg_resolve(&fx->h, "alias", &cg), 0);
	assert_string_equal(cg.name, "app/web");
}

static void resolve_should_report_missing_bad_and_non_directory_names(void **state)
{
	struct fx *fx = *state;
	struct cgroup cg;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "nothere", &cg), -ENOENT);
	assert_int_equal(cg_resolve(&fx->h, "app/nothere", &cg), -ENOENT);
	assert_int_equal(cg_resolve(&fx->h, "../outside", &cg), -EINVAL);
	assert_int_equal(cg_resolve(&fx->h, "app//web", &cg), -EINVAL);
	assert_int_equal(cg_resolve(&fx->h, "app/memory.stat", &cg), -ENOTDIR);
}

static void hier_open_should_refuse_bad_arguments(void **state)
{
	struct fx *fx = *state;
	struct cg_hier h;
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/root", fx->dir);
	assert_int_equal(cg_hier_open(&h, path, 3), -EINVAL);
	assert_int_equal(cg_hier_open(&h, path, 0), -EINVAL);
	snprintf(path, sizeof(path), "%s/none", fx->dir);
	assert_int_equal(cg_hier_open(&h, path, 2), -ENOENT);
	snprintf(path, sizeof(path), "%s/root/app/memory.stat", fx->dir);
	assert_int_equal(cg_hier_open(&h, path, 2), -ENOTDIR);
	assert_int_equal(cg_hier_open(&h, NULL, 7), -EINVAL);
}

/* mountinfo with a cgroup2 mount lacking the memory controller first, then one (with a blank, escaped in
 * its name) that has it. */
static void hier_open_should_find_a_cgroup2_mount_with_memory_in_mountinfo(void **state)
{
	struct fx *fx = *state;
	char mountinfo[PATH_MAX * 6], want[PATH_MAX * 2];
	struct cg_hier h;

	assert_int_equal(tree_mkdir(fx->dir, "proc"), 0);
	assert_int_equal(tree_mkdir(fx->dir, "proc/self"), 0);
	assert_int_equal(tree_mkdir(fx->dir, "no mem"), 0);
	assert_int_equal(tree_mkdir(fx->dir, "with mem"), 0);
	assert_int_equal(tree_put(fx->dir, "no mem/cgroup.controllers", "cpu io pids\n"), 0);
	assert_int_equal(tree_put(fx->dir, "with mem/cgroup.controllers", "cpuset cpu io memory pids\n"), 0);
	snprintf(mountinfo, sizeof(mountinfo),
		 "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
		 "30 22 0:27 / %s/root rw,relatime - tmpfs tmpfs rw\n"
		 "40 30 0:37 / %s/no\\040mem rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
		 "41 30 0:38 / %s/with\\040mem rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n",
		 fx->dir, fx->dir, fx->dir);
	assert_int_equal(tree_put(fx->dir, "proc/self/mountinfo", mountinfo), 0);
	snprintf(want, sizeof(want), "%s/proc", fx->dir);
	procfs_set_root(want);
	assert_int_equal(cg_hier_open(&h, NULL, 2), 0);
	snprintf(want, sizeof(want), "%s/with mem", fx->dir);
	assert_string_equal(h.root, want);
	assert_int_equal(h.version, 2);

	assert_int_equal(tree_put(fx->dir, "with mem/cgroup.controllers", "cpu memoryless\n"), 0);
	assert_int_equal(cg_hier_open(&h, NULL, 2), -ENOENT);
	procfs_set_root(NULL);
}

static void hier_open_should_find_this_machines_hierarchy(void **state)
{
	struct cg_hier h;
	int err = cg_hier_open(&h, NULL, 0);

	/* Whichever version the machine has, the detected root must carry that version's files. */
	if (err == -ENOENT)
		skip();
	assert_int_equal(err, 0);
	assert_int_equal(access(h.root, F_OK), 0);
	if (h.version == 1)
		assert_string_equal(h.root, "/sys/fs/cgroup/memory");
	else
		assert_int_equal(h.version, 2);
}

static void within_should_compare_whole_components(void **state)
{
	struct fx *fx = *state;
	struct cgroup root, app, web, apple;

	assert_int_equal(tree_mkdir(fx->dir, "root/apple"), 0);
	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "", &root), 0);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(cg_resolve(&fx->h, "app/web", &web), 0);
	assert_int_equal(cg_resolve(&fx->h, "apple", &apple), 0);
	assert_true(cg_within(&web, &app));
	assert_true(cg_within(&app, &app));
	assert_true(cg_within(&web, &root));
	assert_false(cg_within(&app, &web));
	assert_false(cg_within(&apple, &app));
	assert_false(cg_within(&root, &app));
}

static void create_child_should_make_one_directory_and_refuse_paths(void **state)
{
	struct fx *fx = *state;
	struct cgroup app, child, again;
	char want[PATH_MAX * 2];

	open_root(fx, 1);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(cg_create_child(&app, "job1", &child), 0);
	assert_string_equal(child.name, "app/job1");
	snprintf(want, sizeof(want), "%s/root/app/job1", fx->dir);
	assert_string_equal(child.path, want);
	assert_int_equal(cg_resolve(&fx->h, "app/job1", &again), 0);
	assert_int_equal(cg_create_child(&app, "job1", &again), -EEXIST);
	static const char *const bad[] = { "", "a/b", "/a", "a/", "..", ".", "x\ny", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(cg_create_child(&app, bad[i], &again), -EINVAL);
	assert_int_equal(cg_remove(&child), 0);
	assert_int_equal(cg_resolve(&fx->h, "app/job1", &again), -ENOENT);
	assert_int_equal(cg_remove(&child), -ENOENT);
}

static void create_child_of_the_root_should_have_a_plain_name(void **state)
{
	struct fx *fx = *state;
	struct cgroup root, child;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "/", &root), 0);
	assert_int_equal(cg_create_child(&root, "top", &child), 0);
	assert_string_equal(child.name, "top");
	assert_int_equal(cg_remove(&child), 0);
	assert_int_equal(cg_remove(&root), -EINVAL);
}

static void move_pid_should_write_the_pid_to_cgroup_procs(void **state)
{
	struct fx *fx = *state;
	struct cgroup app;
	char buf[64];

	open_root(fx, 1);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(cg_move_pid(&app, 1234), -ENOENT);   /* never creates files */
	assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", "old content that is longer\n"), 0);
	assert_int_equal(cg_move_pid(&app, 1234), 0);
	assert_int_equal(tree_get(fx->dir, "root/app/cgroup.procs", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "1234");
	assert_int_equal(cg_move_pid(&app, 0), 0);
	assert_int_equal(tree_get(fx->dir, "root/app/cgroup.procs", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(cg_move_pid(&app, -5), -EINVAL);
}

static void pids_should_count_all_and_store_at_most_max(void **state)
{
	struct fx *fx = *state;
	struct cgroup app;
	static char big[16 * 4096];
	pid_t pids[2];
	char *p = big;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", "12\n345\n6789\n"), 0);
	assert_int_equal(cg_pids(&app, pids, 2), 3);
	assert_int_equal(pids[0], 12);
	assert_int_equal(pids[1], 345);
	assert_int_equal(cg_pids(&app, NULL, 0), 3);
	assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", ""), 0);
	assert_int_equal(cg_pids(&app, pids, 2), 0);
	assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", "7"), 0);
	assert_int_equal(cg_pids(&app, pids, 2), 1);
	assert_int_equal(pids[0], 7);
	/* Numbers straddling the 4 KiB read chunks. */
	for (int i = 0; i < 5000; i++)
		p += sprintf(p, "%d\n", 100000 + i);
	assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", big), 0);
	assert_int_equal(cg_pids(&app, pids, 2), 5000);
	assert_int_equal(pids[1], 100001);
}

static void pids_should_refuse_garbage(void **state)
{
	static const char *const bad[] = { "12\nx\n", "-1\n", "1 2\n", "99999999999\n", NULL };
	struct fx *fx = *state;
	struct cgroup app;
	pid_t pids[4];

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(tree_put(fx->dir, "root/app/cgroup.procs", bad[i]), 0);
		assert_int_equal(cg_pids(&app, pids, 4), -EINVAL);
	}
	assert_int_equal(cg_pids(&app, pids, -1), -EINVAL);
}

static void read_u64_should_map_max_and_v1_unlimited_to_cg_unlimited(void **state)
{
	struct fx *fx = *state;
	struct cgroup app;
	uint64_t v = 0;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(tree_put(fx->dir, "root/app/f", "max\n"), 0);
	assert_int_equal(cg_read_u64(&app, "f", &v), 0);
	assert_true(v == CG_UNLIMITED);
	assert_int_equal(tree_put(fx->dir, "root/app/f", "9223372036854771712\n"), 0);
	assert_int_equal(cg_read_u64(&app, "f", &v), 0);
	assert_true(v == CG_UNLIMITED);
	assert_int_equal(tree_put(fx->dir, "root/app/f", "268435456\n"), 0);
	assert_int_equal(cg_read_u64(&app, "f", &v), 0);
	assert_true(v == 256 * MIB);
	assert_int_equal(tree_put(fx->dir, "root/app/f", "0"), 0);
	assert_int_equal(cg_read_u64(&app, "f", &v), 0);
	assert_true(v == 0);
}

static void read_u64_should_refuse_anything_but_one_number(void **state)
{
	static const char *const bad[] = { "", "\n", "maxx\n", "12 13\n", "-1\n", "0x10\n", " 5\n",
					   "18446744073709551616\n", "1k\n", NULL };
	struct fx *fx = *state;
	struct cgroup app;
	uint64_t v = 77;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(tree_put(fx->dir, "root/app/f", bad[i]), 0);
		assert_int_equal(cg_read_u64(&app, "f", &v), -EINVAL);
	}
	assert_true(v == 77);
	assert_int_equal(cg_read_u64(&app, "missing", &v), -ENOENT);
}

static void files_should_be_plain_names(void **state)
{
	struct fx *fx = *state;
	struct cgroup app;
	char buf[16];

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(cg_read_file(&app, "web/../memory.stat", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_read_file(&app, "..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_read_file(&app, "", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cg_write_file(&app, "../escape", "1"), -EINVAL);
	assert_int_equal(cg_read_file(&app, "memory.stat", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "x 1\n");
}

static void write_file_should_report_the_errno_of_open_and_write(void **state)
{
	struct fx *fx = *state;
	struct cgroup app;

	open_root(fx, 2);
	assert_int_equal(cg_resolve(&fx->h, "app", &app), 0);
	assert_int_equal(cg_write_file(&app, "nothere", "1"), -ENOENT);
	assert_int_equal(cg_write_file(&app, "web", "1"), -EISDIR);
	strcpy(app.path, "/dev");
	assert_int_equal(cg_write_file(&app, "full", "1"), -ENOSPC);
}

static void notify_ack_should_drain_an_eventfd_and_reread_a_file(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX * 2];
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), fd;

	assert_true(efd >= 0);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(cg_notify_ack(efd), 0);
	/* Drained: a second read would block. */
	assert_int_equal(read(efd, &one, sizeof(one)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(cg_notify_ack(efd), 0);
	close(efd);

	snprintf(path, sizeof(path), "%s/root/app/memory.stat", fx->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(cg_notify_ack(fd), 0);
	assert_int_equal(cg_notify_ack(fd), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 4);   /* re-read from the start, not from where it was */
	close(fd);
	assert_int_equal(cg_notify_ack(fd), -EBADF);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canon_should_trim_slashes),
		cmocka_unit_test(canon_should_name_the_root_with_an_empty_string),
		cmocka_unit_test(canon_should_refuse_dots_empty_components_and_control_chars),
		cmocka_unit_test(canon_should_refuse_names_too_long_for_the_output_or_a_component),
		T(resolve_should_find_nested_cgroups_in_both_versions),
		T(resolve_should_refuse_a_symlink_escaping_the_root),
		T(resolve_should_follow_a_symlink_inside_the_root_to_its_real_name),
		T(resolve_should_report_missing_bad_and_non_directory_names),
		T(hier_open_should_refuse_bad_arguments),
		T(hier_open_should_find_a_cgroup2_mount_with_memory_in_mountinfo),
		cmocka_unit_test(hier_open_should_find_this_machines_hierarchy),
		T(within_should_compare_whole_components),
		T(create_child_should_make_one_directory_and_refuse_paths),
		T(create_child_of_the_root_should_have_a_plain_name),
		T(move_pid_should_write_the_pid_to_cgroup_procs),
		T(pids_should_count_all_and_store_at_most_max),
		T(pids_should_refuse_garbage),
		T(read_u64_should_map_max_and_v1_unlimited_to_cg_unlimited),
		T(read_u64_should_refuse_anything_but_one_number),
		T(files_should_be_plain_names),
		T(write_file_should_report_the_errno_of_open_and_write),
		T(notify_ack_should_drain_an_eventfd_and_reread_a_file),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
