/* scheme: the swap scheme of the registered apps (see scheme.h). */
#include "apps/scheme.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sys/sdunit.h"

#define MAX_SWAP_CGROUPS 4096   /* cgroups of the domain kept out of swap */
#define MAX_WALK_DEPTH 32

const char *scheme_swap_file(const struct cgroup *cg)
{
	return cg->hier->version == 1 ? "memory.swappiness" : "memory.swap.max";
}

int scheme_init(struct scheme *s, const struct cgroup *domain, const struct cgroup *app)
{
	memset(s, 0, sizeof(*s));
	s->domain = *domain;
	s->app_cg = *app;
	s->reg_cg.hier = app->hier;
	if (snprintf(s->reg_cg.name, sizeof(s->reg_cg.name), "%s/%s", app->name, REGISTRY_CGROUP) >=
	    (int)sizeof(s->reg_cg.name))
		return -ENAMETOOLONG;
	s->saved = calloc(MAX_SWAP_CGROUPS, sizeof(*s->saved));
	return s->saved ? 0 : -ENOMEM;
}

static int save(struct scheme *s, const struct cgroup *cg)
{
	struct swap_saved *sv;
	int n;

	if (s->nsaved == MAX_SWAP_CGROUPS)
		return -E2BIG;
	sv = &s->saved[s->nsaved];
	/* A unit's own cgroup: its MemorySwapMax= as systemd has it (sys/sdunit.h), in the file's form. */
	n = cg_knob_read(cg, scheme_swap_file(cg), sv->old, sizeof(sv->old));
	if (n < 0)
		return n;
	sv->name = strdup(cg->name);
	if (!sv->name)
		return -ENOMEM;
	s->nsaved++;
	return 0;
}

/* v2: cg is the registered cgroup's ancestor (its limits bind it: left alone), or the unregistered leaf (usbd's). */
static bool v2_not_saved(const struct scheme *s, const struct cgroup *cg)
{
	size_t n = strlen(cg->name);
	char unreg[PATH_MAX + sizeof(UNREGISTERED_CGROUP) + 1];

	if (cg->hier->version != 2)
		return false;
	snprintf(unreg, sizeof(unreg), "%s/%s", s->app_cg.name, UNREGISTERED_CGROUP);
	if (!strcmp(cg->name, unreg))
		return true;
	return !strncmp(s->reg_cg.name, cg->name, n) && s->reg_cg.name[n] == '/';
}

/* Saves the swap setting of cg and its descendants, except the registered cgroup and the hierarchy root (and on
 * v2 the registered cgroup's ancestors and the unregistered leaf). */
static int save_tree(struct scheme *s, const struct cgroup *cg, int depth)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	if (depth > MAX_WALK_DEPTH)
		return -ELOOP;
	if (strcmp(cg->name, s->reg_cg.name) == 0)
		return 0;
	if (cg->name[0] != '\0' && !v2_not_saved(s, cg) && (err = save(s, cg)) < 0) {
		log_err("registry: cannot read the swap setting of %s: %s", cg->path, strerror(-err));
		return err;
	}
	dir = opendir(cg->path);
	if (!dir)
		return -errno;
	while (err == 0 && (de = readdir(dir))) {
		struct cgroup child;
		char name[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(name, sizeof(name), "%s%s%s", cg->name, cg->name[0] ? "/" : "", de->d_name) >=
		    (int)sizeof(name))
			err = -ENAMETOOLONG;
		else if ((err = cg_resolve(cg->hier, name, &child)) == 0)
			err = save_tree(s, &child, depth + 1);
		else if (err == -ENOENT)
			err = 0; /* removed meanwhile */
	}
	closedir(dir);
	return err;
}

static void forget(struct scheme *s)
{
	while (s->nsaved > 0)
		free(s->saved[--s->nsaved].name);
}

static void restore(struct scheme *s)
{
	while (s->nsaved > 0) {
		struct swap_saved *sv = &s->saved[--s->nsaved];
		struct cgroup cg;
		int err = cg_resolve(s->domain.hier, sv->name, &cg);

		if (err == 0)
			err = cg_knob_write(&cg, scheme_swap_file(&cg), sv->old);
		if (err < 0 && err != -ENOENT)
			log_err("registry: cannot restore %s of %s to %s: %s", scheme_swap_file(&s->domain), sv->name,
				sv->old, strerror(-err));
		free(sv->name);
	}
}

#define MOVE_ROUNDS 100     /* a cgroup emptied while its processes fork: rounds before giving up */
#define MOVE_BATCH 256

/* Moves every process of from into to, again while new ones appear. 0, or -errno (-EBUSY: still not empty). */
static int move_all(const struct cgroup *from, const struct cgroup *to)
{
	pid_t pids[MOVE_BATCH];
	int round, i, n;

	for (round = 0; round < MOVE_ROUNDS; round++) {
		if ((n = cg_pids(from, pids, MOVE_BATCH)) <= 0)
			return n;
		for (i = 0; i < n && i < MOVE_BATCH; i++) {
			int err = cg_move_pid(to, pids[i]);
			if (err < 0 && err != -ESRCH)
				return err;
		}
	}
	return -EBUSY;
}

static bool memory_enabled(const struct cgroup *cg)
{
	char ctl[256], *tok, *save = NULL;

	if (cg_read_file(cg, "cgroup.subtree_control", ctl, sizeof(ctl)) < 0)
		return false;
	for (tok = strtok_r(ctl, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, "memory"))
			return true;
	return false;
}

/* cgroup v2: APP's own processes into APP/usbd-unregistered, and the memory controller on for APP's children. */
static int make_unregistered_v2(struct scheme *s)
{
	char name[PATH_MAX + sizeof(UNREGISTERED_CGROUP) + 1];
	struct cgroup unreg;
	pid_t pid;
	int err = cg_pids(&s->app_cg, &pid, 1);

	if (err > 0) {
		snprintf(name, sizeof(name), "%s/%s", s->app_cg.name, UNREGISTERED_CGROUP);
		err = cg_create_child(&s->app_cg, UNREGISTERED_CGROUP, &unreg);
		if (err == -EEXIST)
			err = cg_resolve(s->app_cg.hier, name, &unreg);
		if (err == 0 && (err = move_all(&s->app_cg, &unreg)) == 0)
			log_info("registry: the processes of %s moved into %s (cgroup v2 keeps processes out of a cgroup "
				 "whose children have the memory controller)", s->app_cg.name, name);
	}
	if (err == 0 && !memory_enabled(&s->app_cg))
		err = cg_write_file(&s->app_cg, "cgroup.subtree_control", "+memory");
	if (err < 0)
		log_err("registry: cannot make room for %s/%s on cgroup v2: %s", s->app_cg.path, REGISTRY_CGROUP,
			strerror(-err));
	return err;
}

void scheme_unwrap_v2(const struct cgroup *app)
{
	char name[PATH_MAX + sizeof(UNREGISTERED_CGROUP) + 1];
	struct cgroup unreg;
	struct dirent *de;
	bool alone = true;
	DIR *dir;
	int err;

	snprintf(name, sizeof(name), "%s/%s", app->name, UNREGISTERED_CGROUP);
	if (app->hier->version != 2 || cg_resolve(app->hier, name, &unreg) < 0)
		return;
	if ((dir = opendir(app->path))) {
		while ((de = readdir(dir)))
			if (de->d_type == DT_DIR && de->d_name[0] != '.' && strcmp(de->d_name, UNREGISTERED_CGROUP))
				alone = false;
		closedir(dir);
	}
	if (alone && memory_enabled(app) && (err = cg_write_file(app, "cgroup.subtree_control", "-memory")) < 0)
		log_err("registry: cannot turn the memory controller off for the children of %s: %s", app->path,
			strerror(-err));
	if ((err = move_all(&unreg, app)) < 0)
		log_err("registry: cannot move the processes of %s back into %s: %s", unreg.path, app->path,
			strerror(-err));
	else if ((err = cg_remove(&unreg)) < 0)
		log_err("registry: cannot remove %s: %s", unreg.path, strerror(-err));
}

/* Makes APP/usbd-registered, or takes over the one a killed usbd left (it is removed at scheme_undo). */
static int make_registered(struct scheme *s)
{
	struct cgroup made;
	int err = s->app_cg.hier->version == 2 ? make_unregistered_v2(s) : 0;

	if (err == 0)
		err = cg_create_child(&s->app_cg, REGISTRY_CGROUP, &made);

	if (err == -EEXIST)
		err = cg_resolve(s->app_cg.hier, s->reg_cg.name, &made);
	if (err < 0) {
		log_err("registry: cannot create %s/%s: %s", s->app_cg.path, REGISTRY_CGROUP, strerror(-err));
		return err;
	}
	s->reg_cg = made;
	/* v1 charges stay with the old cgroup unless moved; best effort, the knob is deprecated. */
	if (made.hier->version == 1 && cg_write_file(&made, "memory.move_charge_at_immigrate", "3") < 0)
		log_debug("registry: memory.move_charge_at_immigrate not available");
	return 0;
}

/* v2 through systemd for a unit's own cgroup (MemorySwapMax=), so that systemd does not undo it; v1 swappiness. */
static int set_swap(const struct cgroup *cg, bool allowed)
{
	if (cg->hier->version == 2)
		return cg_knob_write(cg, "memory.swap.max", allowed ? "max" : "0");
	return cg->hier->ops->set_swap_allowed(cg, allowed);
}

static int forbid_saved(struct scheme *s)
{
	unsigned i;
	int err = 0;

	for (i = 0; i < s->nsaved && !err; i++) {
		struct cgroup cg;

		err = cg_resolve(s->domain.hier, s->saved[i].name, &cg);
		if (err == 0)
			err = set_swap(&cg, false);
		else if (err == -ENOENT)
			err = 0; /* removed meanwhile */
		if (err < 0)
			log_err("registry: cannot keep %s out of swap: %s", s->saved[i].name, strerror(-err));
	}
	if (err == 0 && s->reg_cg.hier->version == 2) {
		/* The unregistered leaf is usbd's (removed at scheme_undo): kept out of swap, nothing to save. */
		char name[PATH_MAX + sizeof(UNREGISTERED_CGROUP) + 1];
		struct cgroup unreg;

		snprintf(name, sizeof(name), "%s/%s", s->app_cg.name, UNREGISTERED_CGROUP);
		if (cg_resolve(s->app_cg.hier, name, &unreg) == 0 && (err = set_swap(&unreg, false)) < 0)
			log_err("registry: cannot keep %s out of swap: %s", name, strerror(-err));
	}
	return err ? err : set_swap(&s->reg_cg, true);
}

int scheme_apply(struct scheme *s, int (*record)(void *ctx), void *ctx)
{
	int err;

	if (s->applied)
		return 0;
	err = save_tree(s, &s->domain, 0);
	if (err == 0 && (err = record(ctx)) < 0)
		log_err("registry: cannot record the swap settings before changing them: %s", strerror(-err));
	if (err < 0) {
		forget(s);
		return err;
	}
	s->applied = true;
	err = make_registered(s);
	if (err == 0)
		err = forbid_saved(s);
	if (err < 0) {
		log_err("registry: swap scheme not applied: %s", strerror(-err));
		scheme_undo(s);
	}
	return err;
}

void scheme_undo(struct scheme *s)
{
	int err;

	if (!s->applied)
		return;
	restore(s);
	if (s->reg_cg.path[0] && (err = cg_remove(&s->reg_cg)) < 0 && err != -ENOENT)
		log_err("registry: cannot remove %s: %s", s->reg_cg.path, strerror(-err));
	s->reg_cg.path[0] = '\0';
	scheme_unwrap_v2(&s->app_cg);
	s->applied = false;
}

void scheme_free(struct scheme *s)
{
	forget(s);
	free(s->saved);
	s->saved = NULL;
}
