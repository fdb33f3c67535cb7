/* cgroup: finding the memory hierarchy, naming and resolving cgroups, creating, removing and joining them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "sys/cgroup_internal.h"
#include "sys/procfs.h"

#define CG_V1_ROOT "/sys/fs/cgroup/memory"
#define CG_REMOVE_WAIT_MS 1000

/* True when `path` is `dir` or lies below it; both absolute and canonical. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static int hier_set(struct cg_hier *h, const char *root, int version)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(root, real))
		return -errno;
	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	strcpy(h->root, real);
	h->version = version;
	h->ops = version == 1 ? &cg_v1_ops : &cg_v2_ops;
	return 0;
}

/* Mount points in mountinfo escape blanks, newlines and backslashes as \ooo; decodes in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static bool controllers_have_memory(const char *mount_point)
{
	char path[PATH_MAX], buf[1024];

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.controllers", mount_point) >= sizeof(path))
		return false;
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (char *save, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (!strcmp(w, "memory"))
			return true;
	return false;
}

/* Returns the mount point of a mountinfo line if it is a cgroup2 mount, else NULL. Edits the line. */
static char *cgroup2_mount_point(char *line)
{
	char *sep = strstr(line, " - "), *save, *mp = NULL;

	if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
		return NULL;
	*sep = '\0';
	/* Fields: mount id, parent id, major:minor, root, mount point. */
	mp = strtok_r(line, " ", &save);
	for (int i = 1; i < 5 && mp; i++)
		mp = strtok_r(NULL, " ", &save);
	if (!mp)
		return NULL;
	unescape_octal(mp);
	return mp;
}

static int find_v2(struct cg_hier *h)
{
	char path[PATH_MAX], line[4096];
	int err = -ENOENT;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/self/mountinfo", procfs_root()) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char *mp;
		if (!strchr(line, '\n')) {
			/* Longer than any mount we could use: skip the rest of it. */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		mp = cgroup2_mount_point(line);
		if (mp && controllers_have_memory(mp))
			err = hier_set(h, mp, 2);
	}
	fclose(f);
	return err;
}

int cg_hier_open(struct cg_hier *h, const char *root_override, int version)
{
	if (root_override) {
		if (version != 1 && version != 2)
			return -EINVAL;
		return hier_set(h, root_override, version);
	}
	if (version < 0 || version > 2)
		return -EINVAL;
	if (version != 2 && !access(CG_V1_ROOT "/memory.limit_in_bytes", F_OK))
		return hier_set(h, CG_V1_ROOT, 1);
	if (version == 1)
		return -ENOENT;
	return find_v2(h);
}

static int component_ok(const char *c, size_t n)
{
	if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
			return 0;
	return 1;
}

int cg_name_canon(const char *name, char *out, size_t len)
{
	size_t n;

	if (!name || !out || !len)
		return -EINVAL;
	while (*name == '/')
		name++;
	n = strlen(name);
	while (n && name[n - 1] == '/')
		n--;
	if (n >= len || n >= PATH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n;) {
		size_t c = strcspn(name + i, "/");
		if (c > n - i)
			c = n - i;
		if (!component_ok(name + i, c))
			return -EINVAL;
		i += c + 1;
	}
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

int cg_resolve(const struct cg_hier *h, const char *name, struct cgroup *out)
{
	char canon[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	size_t rootlen = strlen(h->root);
	struct stat st;
	int err = cg_name_canon(name, canon, sizeof(canon));

	if (err)
		return err;
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", h->root, *canon ? "/" : "", canon) >= sizeof(path))
		return -EINVAL;
	if (!realpath(path, real))
		return -errno;
	if (!path_within(real, h->root))
		return -EXDEV;
	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	out->hier = h;
	strcpy(out->path, real);
	/* The name follows the resolved path, so that cg_within compares what the kernel will see. */
	strcpy(out->name, real + rootlen + (real[rootlen] == '/'));
	return 0;
}

bool cg_within(const struct cgroup *inner, const struct cgroup *outer)
{
	return path_within(inner->path, outer->path);
}

int cg_create_child(const struct cgroup *parent, const char *leaf, struct cgroup *out)
{
	struct cgroup child = { .hier = parent->hier };
	char canon[NAME_MAX + 1];

	if (cg_name_canon(leaf, canon, sizeof(canon)) || !*canon || strcmp(canon, leaf) || strchr(canon, '/'))
		return -EINVAL;
	if ((size_t)snprintf(child.name, sizeof(child.name), "%s%s%s", parent->name, *parent->name ? "/" : "",
			     leaf) >= sizeof(child.name) ||
	    (size_t)snprintf(child.path, sizeof(child.path), "%s/%s", parent->path, leaf) >= sizeof(child.path))
		return -EINVAL;
	if (mkdir(child.path, 0755))
		return -errno;
	*out = child;
	return 0;
}

int cg_remove(const struct cgroup *cg)
{
	/* A task that just exited can keep the cgroup busy for a moment while the kernel finishes with it. */
	const uint64_t deadline = clock_ms() + CG_REMOVE_WAIT_MS;
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

	if (!*cg->name)
		return -EINVAL;
	while (rmdir(cg->path)) {
		if (errno != EBUSY)
			return -errno;
		if (clock_ms() >= deadline)
			return -EBUSY;
		nanosleep(&pause, NULL);
	}
	return 0;
}

int cg_move_pid(const struct cgroup *cg, pid_t pid)
{
	char v[16];

	if (pid < 0)
		return -EINVAL;
	snprintf(v, sizeof(v), "%d", (int)pid);
	return cg_write_file(cg, "cgroup.procs", v);
}

static void pid_store(pid_t *pids, int max, int *count, uint64_t pid)
{
	if (*count < max)
		pids[*count] = (pid_t)pid;
	(*count)++;
}

int cg_pids(const struct cgroup *cg, pid_t *pids, int max)
{
	char buf[4096];
	uint64_t cur = 0;
	bool in_num = false;
	int count = 0, err = 0, fd;

	if (max < 0 || (max && !pids))
		return -EINVAL;
	fd = cg_open_file(cg, "cgroup.procs", O_RDONLY);
	if (fd < 0)
		return fd;
	/* Streamed in chunks: a busy cgroup lists more pids than any fixed buffer holds. */
	while (!err) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		for (ssize_t i = 0; i < n && !err; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = cur * 10 + (uint64_t)(buf[i] - '0');
				in_num = true;
				if (cur > INT32_MAX)
					err = -EINVAL;
			} else if (buf[i] == '\n' && in_num) {
				pid_store(pids, max, &count, cur);
				cur = 0;
				in_num = false;
			} else {
				err = -EINVAL;
			}
		}
	}
	close(fd);
	if (!err && in_num)
		pid_store(pids, max, &count, cur);
	return err ? err : count;
}
