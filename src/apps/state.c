/* state: the registry's record of its changes, repaired at the next start (see state.h). */
#include "apps/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "sys/sdunit.h"

#define MAGIC "usbd-registry-state 1"
#define MAX_LINE (PATH_MAX + 64)

int state_path(const char *sock_path, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%s.state", sock_path) >= len ? -ENAMETOOLONG : 0;
}

static int print(FILE *f, const struct scheme *s, const struct app *apps)
{
	unsigned i;

	fprintf(f, MAGIC "\nregistered %s\n", s->reg_cg.name);
	for (i = 0; i < s->nsaved; i++) {
		if (strchr(s->saved[i].name, '\n'))
			return -EINVAL;
		fprintf(f, "swap %s %s\n", s->saved[i].old, s->saved[i].name);
	}
	for (; apps; apps = apps->next) {
		if (!apps->registered)
			continue;
		if (strchr(apps->from, '\n'))
			return -EINVAL;
		fprintf(f, "app %d %s\n", (int)apps->pid, apps->from);
	}
	return 0;
}

int state_write(const char *path, const struct scheme *s, const struct app *apps)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	err = print(f, s, apps);
	if (fflush(f) && !err)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int state_remove(const char *path)
{
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

struct recorded_app {
	pid_t pid;
	char *from;
};

struct parsed {
	char registered[PATH_MAX];
	struct recorded_app *apps;
	unsigned napps, nswaps;
};

/* Reads one line without its newline: 1, 0 at the end, -EINVAL for a line too long, unterminated or with a NUL. */
static int take_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, f))
		return ferror(f) ? -EIO : 0;
	n = strlen(buf);
	if (!n || buf[n - 1] != '\n')
		return -EINVAL;
	buf[n - 1] = '\0';
	return 1;
}

/* "OLD NAME": splits at the first space; OLD is digits or "max". */
static int split_swap(char *rest, char **old, char **name)
{
	char *sp = strchr(rest, ' ');

	if (!sp || sp == rest || sp - rest > 20)
		return -EINVAL;
	*sp = '\0';
	if (strcmp(rest, "max") && strspn(rest, "0123456789") != strlen(rest))
		return -EINVAL;
	*old = rest;
	*name = sp + 1;
	return **name ? 0 : -EINVAL;
}

static int add_app(struct parsed *p, char *rest)
{
	char *end;
	long pid;

	if (p->napps == STATE_MAX_APPS)
		return -EINVAL;
	errno = 0;
	pid = strtol(rest, &end, 10);
	if (errno || end == rest || *end != ' ' || pid <= 0 || pid > INT32_MAX)
		return -EINVAL;
	p->apps[p->napps].from = strdup(end + 1);
	if (!p->apps[p->napps].from)
		return -ENOMEM;
	p->apps[p->napps++].pid = (pid_t)pid;
	return 0;
}

/* Checks every line (no change yet) and keeps the header and the apps. */
static int parse(FILE *f, struct parsed *p, char *line)
{
	const char *leaf;
	char *old, *name;
	int rc;

	if (take_line(f, line, MAX_LINE) != 1 || strcmp(line, MAGIC) || take_line(f, line, MAX_LINE) != 1 ||
	    strncmp(line, "registered ", 11) || strlen(line + 11) >= sizeof(p->registered))
		return -EINVAL;
	strcpy(p->registered, line + 11);
	/* It names the registered cgroup of an app cgroup: nothing else is ever emptied and removed. */
	leaf = strrchr(p->registered, '/');
	if (!leaf || leaf == p->registered || strcmp(leaf + 1, REGISTRY_CGROUP))
		return -EINVAL;
	while ((rc = take_line(f, line, MAX_LINE)) == 1) {
		if (!strncmp(line, "swap ", 5)) {
			if (++p->nswaps > STATE_MAX_SWAPS || split_swap(line + 5, &old, &name))
				return -EINVAL;
		} else if (strncmp(line, "app ", 4)) {
			return -EINVAL;
		} else if ((rc = add_app(p, line + 4)) < 0) {
			return rc;
		}
	}
	return rc;
}

static const char *from_of(const struct parsed *p, pid_t pid)
{
	unsigned i;

	for (i = 0; i < p->napps; i++)
		if (p->apps[i].pid == pid)
			return p->apps[i].from;
	return NULL;
}

/* Moves one process out of the registered cgroup: where it came from, else into parent. */
static void move_back(const struct cg_hier *h, const struct parsed *p, const struct cgroup *parent, pid_t pid)
{
	const char *from = from_of(p, pid);
	struct cgroup to;
	int err;

	if (!from || cg_resolve(h, from, &to) < 0)
		to = *parent;
	err = cg_move_pid(&to, pid);
	if (err < 0 && err != -ESRCH)
		log_err("registry: cannot move pid %d back to %s: %s", (int)pid, to.path, strerror(-err));
	else if (!err)
		log_info("registry: pid %d moved back to %s", (int)pid, to.name[0] ? to.name : "/");
}

static void empty_registered(const struct cg_hier *h, const struct parsed *p)
{
	static pid_t pids[STATE_MAX_APPS];
	struct cgroup reg, parent;
	char name[PATH_MAX];
	int i, n, err;

	if (cg_resolve(h, p->registered, &reg) < 0)
		return; /* gone already */
	snprintf(name, sizeof(name), "%s", p->registered);
	*strrchr(name, '/') = '\0';
	if ((err = cg_resolve(h, name, &parent)) < 0) {
		log_err("registry: cannot resolve %s: %s", name, strerror(-err));
		return;
	}
	n = cg_pids(&reg, pids, STATE_MAX_APPS);
	for (i = 0; i < n && i < STATE_MAX_APPS; i++)
		move_back(h, p, &parent, pids[i]);
	if ((err = cg_remove(&reg)) < 0)
		log_err("registry: cannot remove %s: %s", reg.path, strerror(-err));
	else
		scheme_unwrap_v2(&parent);
}

/* Puts back every recorded swap setting (the lines were checked by parse). */
static void restore_swaps(const struct cg_hier *h, FILE *f, char *line)
{
	char *old, *name;
	struct cgroup cg;
	int err;

	while (take_line(f, line, MAX_LINE) == 1) {
		if (strncmp(line, "swap ", 5) || split_swap(line + 5, &old, &name))
			continue;
		err = cg_resolve(h, name, &cg);
		if (err == 0)
			err = cg_knob_write(&cg, scheme_swap_file(&cg), old); /* through systemd for a unit's */
		if (err < 0 && err != -ENOENT)
			log_err("registry: cannot restore %s of %s to %s: %s", scheme_swap_file(&cg), name, old,
				strerror(-err));
	}
}

static int repair(const struct cg_hier *h, FILE *f, const char *path)
{
	struct parsed p = { .apps = calloc(STATE_MAX_APPS, sizeof(*p.apps)) };
	char *line = malloc(MAX_LINE);
	int err = !p.apps || !line ? -ENOMEM : parse(f, &p, line);

	if (err == -EINVAL) {
		log_err("registry: %s is malformed: removed, nothing repaired from it", path);
	} else if (!err) {
		log_warn("registry: %s: undoing what a usbd that did not exit cleanly left (%u apps, %u swap settings)",
			 path, p.napps, p.nswaps);
		empty_registered(h, &p);
		rewind(f);
		restore_swaps(h, f, line);
	}
	while (p.apps && p.napps > 0)
		free(p.apps[--p.napps].from);
	free(p.apps);
	free(line);
	return err;
}

int state_repair(const struct cg_hier *hier, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), err;
	FILE *f;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = repair(hier, f, path);
	fclose(f);
	if (err == 0 || err == -EINVAL)
		state_remove(path);
	return err;
}
