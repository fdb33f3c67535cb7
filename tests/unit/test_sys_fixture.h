/* The fixture the v1 and v2 backend tests share: a temp cgroup tree with one cgroup "app" holding the given
 * files and a memory.stat copied from tests/fixtures. Include after test_sys_tree.h and sys/cgroup.h. */
#ifndef USBD_TEST_SYS_FIXTURE_H
#define USBD_TEST_SYS_FIXTURE_H

struct fx {
	char dir[PATH_MAX];
	struct cg_hier h;
	struct cgroup app;
};

/* cmocka setup body: returns 0 with *state set, or -1. */
static inline int fx_setup(void **state, int version, const char *const (*files)[2], size_t nfiles,
			   const char *stat_fixture)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || tree_make(fx->dir) || tree_mkdir(fx->dir, "app"))
		return -1;
	for (size_t i = 0; i < nfiles; i++)
		if (tree_put(fx->dir, files[i][0], files[i][1]))
			return -1;
	if (tree_put_fixture(fx->dir, "app/memory.stat", stat_fixture))
		return -1;
	if (cg_hier_open(&fx->h, fx->dir, version) || cg_resolve(&fx->h, "app", &fx->app))
		return -1;
	*state = fx;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *fx = *state;

	tree_remove(fx->dir);
	free(fx);
	return 0;
}

#endif
