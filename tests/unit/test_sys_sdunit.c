/*
 * Unit tests of src/sys/sdunit.c: a unit's cgroup from `systemctl show`, and the memory knobs of a unit's own cgroup
 * set as runtime properties (never the file) while other cgroups' files are written, against a fake systemctl
 * ($USBD_SYSTEMCTL, a shell script that logs its arguments) and a fixture cgroup v2 tree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "sys/cgroup.h"
#include "sys/sdunit.h"
#include "test_sys_tree.h"

/* show -P PROP -- UNIT is $1 $2 $3 $4 $5; show -p ControlGroup -p B -- UNIT is $1 ... $7 (KEY=VALUE lines, systemd's order:
 * the property before ControlGroup here). demo.service owns system.slice/demo.service; other.service's cgroup is
 * elsewhere; broken.service makes systemctl fail. */
#define FAKE "#!/bin/sh\n" \
	"echo \"$*\" >> \"$(dirname \"$0\")/calls\"\n" \
	"prop() { case $1 in ControlGroup) echo /system.slice/demo.service;;\n" \
	"  MemorySwapMax) echo infinity;; MemoryHigh) echo 268435456;; Delegate) echo yes;; esac; }\n" \
	"if [ \"$1 $2\" = 'show -p' ]; then case $7 in\n" \
	"  demo.service) echo \"$5=$(prop $5)\"; echo \"ControlGroup=$(prop ControlGroup)\";;\n" \
	"  other.service) echo \"$5=infinity\"; echo ControlGroup=/elsewhere/other.service;;\n" \
	"  broken.service) exit 1;; esac; exit 0; fi\n" \
	"case \"$1 $5\" in\n" \
	"'show demo.service') prop $3;;\n" \
	"'show other.service') [ $3 = ControlGroup ] && echo /elsewhere/other.service;;\n" \
	"'show gone.service') echo;;\n" \
	"'show broken.service') exit 1;;\n" \
	"esac\n" \
	"case \"$6\" in broken.service) exit 1;; esac\n" \
	"exit 0\n"

struct fx {
	char dir[PATH_MAX];
	char calls[PATH_MAX + 8];
	struct cg_hier h;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char fake[PATH_MAX + 16], root[PATH_MAX + 8];

	if (!f || tree_make(f->dir) || tree_put(f->dir, "systemctl", FAKE) || tree_mkdir(f->dir, "cg") ||
	    tree_mkdir(f->dir, "cg/system.slice") || tree_mkdir(f->dir, "cg/system.slice/demo.service") ||
	    tree_mkdir(f->dir, "cg/system.slice/plain") || tree_mkdir(f->dir, "cg/system.slice/other.service") ||
	    tree_put(f->dir, "cg/system.slice/demo.service/memory.swap.max", "12345\n") ||
	    tree_put(f->dir, "cg/system.slice/plain/memory.swap.max", "max\n") ||
	    tree_put(f->dir, "cg/system.slice/other.service/memory.swap.max", "max\n"))
		return -1;
	snprintf(fake, sizeof(fake), "%s/systemctl", f->dir);
	snprintf(f->calls, sizeof(f->calls), "%s/calls", f->dir);
	snprintf(root, sizeof(root), "%s/cg", f->dir);
	if (chmod(fake, 0755) || setenv("USBD_SYSTEMCTL", fake, 1) || cg_hier_open(&f->h, root, 2))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("USBD_SYSTEMCTL");
	tree_remove(f->dir);
	free(f);
	return 0;
}

static void calls(struct fx *f, char *buf, size_t len)
{
	if (tree_get(f->dir, "calls", buf, len) < 0)
		buf[0] = '\0';
	remove(f->calls);
}

static void unit_cgroup_should_be_its_control_group_without_the_slash(void **state)
{
	struct fx *f = *state;
	char cg[PATH_MAX], log[1024];

	assert_true(sdunit_booted());
	assert_int_equal(sdunit_cgroup("demo.service", cg, sizeof(cg)), 0);
	assert_string_equal(cg, "system.slice/demo.service");
	calls(f, log, sizeof(log));
	assert_string_equal(log, "show -P ControlGroup -- demo.service\n");
	assert_int_equal(sdunit_cgroup("gone.service", cg, sizeof(cg)), -ENOENT);
	assert_int_equal(sdunit_cgroup("broken.service", cg, sizeof(cg)), -EIO);
	/* Never an option, never a path: refused before systemctl runs. */
	calls(f, log, sizeof(log));
	assert_int_equal(sdunit_cgroup("--all", cg, sizeof(cg)), -EINVAL);
	assert_int_equal(sdunit_cgroup("../x.service", cg, sizeof(cg)), -EINVAL);
	assert_int_equal(sdunit_cgroup("noservice", cg, sizeof(cg)), -EINVAL);
	assert_int_equal(sdunit_cgroup("", cg, sizeof(cg)), -EINVAL);
	calls(f, log, sizeof(log));
	assert_string_equal(log, "");
}

static void a_units_knob_should_be_set_through_systemd_and_its_file_left_alone(void **state)
{
	struct fx *f = *state;
	struct cgroup cg;
	char log[1024], v[32];

	assert_int_equal(cg_resolve(&f->h, "system.slice/demo.service", &cg), 0);
	assert_int_equal(sdunit_of_cgroup(&cg, v, sizeof(v)), 1);
	assert_string_equal(v, "demo.service");
	calls(f, log, sizeof(log));
	assert_int_equal(cg_knob_write(&cg, "memory.swap.max", "0"), 0);
	assert_int_equal(cg_knob_write(&cg, "memory.swap.max", "max"), 0);
	calls(f, log, sizeof(log));
	assert_string_equal(log, "show -P ControlGroup -- demo.service\n"
			    "set-property --runtime --no-ask-password -- demo.service MemorySwapMax=0\n"
			    "show -P ControlGroup -- demo.service\n"
			    "set-property --runtime --no-ask-password -- demo.service MemorySwapMax=infinity\n");
	/* The file (here unlike systemd's value) is neither written nor read. */
	assert_true(tree_get(f->dir, "cg/system.slice/demo.service/memory.swap.max", v, sizeof(v)) > 0);
	assert_string_equal(v, "12345\n");
	/* Read as systemd has it, in the file's form, with one systemctl call. */
	assert_int_equal(cg_knob_read(&cg, "memory.swap.max", v, sizeof(v)), 0);
	assert_string_equal(v, "max");
	calls(f, log, sizeof(log));
	assert_string_equal(log, "show -p ControlGroup -p MemorySwapMax -- demo.service\n");
	assert_int_equal(cg_knob_read(&cg, "memory.high", v, sizeof(v)), 0);
	assert_string_equal(v, "268435456");
	assert_string_equal(sdunit_memory_property("memory.max"), "MemoryMax");
	assert_null(sdunit_memory_property("cgroup.procs"));
}

static void other_cgroups_knobs_should_be_their_files(void **state)
{
	struct fx *f = *state;
	struct cgroup plain, other;
	char log[1024], v[32];

	/* No unit suffix: systemctl is not even asked. */
	assert_int_equal(cg_resolve(&f->h, "system.slice/plain", &plain), 0);
	calls(f, log, sizeof(log));
	assert_int_equal(cg_knob_write(&plain, "memory.swap.max", "0"), 0);
	calls(f, log, sizeof(log));
	assert_string_equal(log, "");
	assert_true(tree_get(f->dir, "cg/system.slice/plain/memory.swap.max", v, sizeof(v)) > 0);
	assert_string_equal(v, "0");
	assert_int_equal(cg_knob_read(&plain, "memory.swap.max", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	/* A unit's name, but the unit's cgroup is another: the file. */
	assert_int_equal(cg_resolve(&f->h, "system.slice/other.service", &other), 0);
	assert_int_equal(cg_knob_read(&other, "memory.swap.max", v, sizeof(v)), 0);
	assert_string_equal(v, "max");
	assert_int_equal(cg_knob_write(&other, "memory.swap.max", "0"), 0);
	assert_true(tree_get(f->dir, "cg/system.slice/other.service/memory.swap.max", v, sizeof(v)) > 0);
	assert_string_equal(v, "0");
}

static void a_failing_systemctl_should_write_nothing(void **state)
{
	struct fx *f = *state;
	struct cgroup cg;
	char v[32];

	assert_int_equal(tree_mkdir(f->dir, "cg/system.slice/broken.service"), 0);
	assert_int_equal(tree_put(f->dir, "cg/system.slice/broken.service/memory.swap.max", "max\n"), 0);
	assert_int_equal(cg_resolve(&f->h, "system.slice/broken.service", &cg), 0);
	assert_int_equal(cg_knob_write(&cg, "memory.swap.max", "0"), -EIO);
	assert_true(tree_get(f->dir, "cg/system.slice/broken.service/memory.swap.max", v, sizeof(v)) > 0);
	assert_string_equal(v, "max\n");
}

static void v1_knobs_should_always_be_files(void **state)
{
	struct fx *f = *state;
	struct cg_hier h1;
	struct cgroup cg;
	char root[PATH_MAX + 8], log[1024], v[32];

	snprintf(root, sizeof(root), "%s/cg", f->dir);
	assert_int_equal(cg_hier_open(&h1, root, 1), 0);
	assert_int_equal(cg_resolve(&h1, "system.slice/demo.service", &cg), 0);
	calls(f, log, sizeof(log));
	assert_int_equal(sdunit_of_cgroup(&cg, v, sizeof(v)), 0);
	assert_int_equal(cg_knob_write(&cg, "memory.swap.max", "0"), 0);
	calls(f, log, sizeof(log));
	assert_string_equal(log, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unit_cgroup_should_be_its_control_group_without_the_slash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_units_knob_should_be_set_through_systemd_and_its_file_left_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(other_cgroups_knobs_should_be_their_files, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failing_systemctl_should_write_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_knobs_should_always_be_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
