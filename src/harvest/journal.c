/* harvest_journal: the durable record of a harvesting step in progress (see harvest/journal.h). */
#include "harvest/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/cgroup.h"
#include "sys/private_dir.h"

#define MAGIC "usbd-harvest-journal 1"

static const char *const knob_names[] = { [HARVEST_KNOB_LIMIT] = "limit", [HARVEST_KNOB_HIGH] = "high" };

const char *harvest_knob_name(enum harvest_knob k)
{
	return k <= HARVEST_KNOB_HIGH ? knob_names[k] : "unknown";
}

static int format(const struct harvest_journal *j, char *buf, size_t len)
{
	char prev[24];
	int n;

	if (strchr(j->cgroup, '\n') || j->knob > HARVEST_KNOB_HIGH)
		return -EINVAL;
	if (j->previous == CG_UNLIMITED)
		snprintf(prev, sizeof(prev), "max");
	else
		snprintf(prev, sizeof(prev), "%" PRIu64, j->previous);
	n = snprintf(buf, len, MAGIC "\ncgroup %s\nknob %s\nprevious %s\n", j->cgroup, knob_names[j->knob], prev);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

/* Splits path into f->dir and f->name and derives f->tmp and f->lock; -ENAMETOOLONG, or -EINVAL for a path ending
 * in '/'. */
static int split_path(struct harvest_journal_file *f, const char *path)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	size_t dirlen = slash ? (size_t)(slash - path) : 0;

	if (!*name)
		return -EINVAL;
	if (strlen(path) >= sizeof(f->path) || strlen(name) + sizeof(".lock") > sizeof(f->name))
		return -ENAMETOOLONG;
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", name);
	snprintf(f->lock, sizeof(f->lock), "%s.lock", name);
	if (!slash)
		snprintf(f->dir, sizeof(f->dir), ".");
	else
		snprintf(f->dir, sizeof(f->dir), "%.*s", dirlen ? (int)dirlen : 1, path);
	return 0;
}

/* Opens f->dir (made 0700 if missing) and checks it: whoever else may write in it could plant links or journals. */
static int open_dir(struct harvest_journal_file *f)
{
	struct stat st = { 0 };
	int fd = private_dir_open(f->dir, 0700, &st);

	f->dir_uid = st.st_uid;
	f->dir_mode = st.st_mode & 07777;
	if (fd < 0)
		return fd;
	f->dirfd = fd;
	return 0;
}

static int take_lock(struct harvest_journal_file *f)
{
	f->lockfd = openat(f->dirfd, f->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (f->lockfd < 0)
		return -errno;
	if (flock(f->lockfd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

int harvest_journal_claim(struct harvest_journal_file *f, const char *path)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->dirfd = f->lockfd = -1;
	if ((err = split_path(f, path)) || (err = open_dir(f)) || (err = take_lock(f)))
		harvest_journal_release(f);
	return err;
}

void harvest_journal_release(struct harvest_journal_file *f)
{
	if (f->lockfd >= 0)
		close(f->lockfd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->dirfd = f->lockfd = -1;
}

int harvest_journal_write(const struct harvest_journal_file *f, const struct harvest_journal *j)
{
	char buf[HARVEST_JOURNAL_MAX];
	int err, n = format(j, buf, sizeof(buf));

	if (n < 0)
		return n;
	if ((err = private_dir_replace(f->dirfd, f->name, f->tmp, buf, (size_t)n)))
		return err;
	/* Until the directory is synced the rename may not survive a crash: without that, no journal at all. */
	if (fsync(f->dirfd)) {
		err = -errno;
		unlinkat(f->dirfd, f->name, 0);
	}
	return err;
}

/* Takes the next line of *s (NUL-terminating it) if it starts with `key`; returns its value or NULL. */
static char *take_line(char **s, const char *key)
{
	char *line = *s, *nl = strchr(line, '\n');
	size_t klen = strlen(key);

	if (!nl)
		return NULL;
	*nl = '\0';
	*s = nl + 1;
	return strncmp(line, key, klen) ? NULL : line + klen;
}

static int parse_previous(const char *v, uint64_t *out)
{
	char *end;

	if (!strcmp(v, "max")) {
		*out = CG_UNLIMITED;
		return 0;
	}
	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int parse(char *s, struct harvest_journal *j)
{
	char *magic = take_line(&s, MAGIC), *cg = take_line(&s, "cgroup "), *knob, *prev;

	if (!magic || *magic || !cg || strlen(cg) >= sizeof(j->cgroup))
		return -EINVAL;
	knob = take_line(&s, "knob ");
	prev = take_line(&s, "previous ");
	if (!knob || !prev || *s)
		return -EINVAL;
	if (!strcmp(knob, knob_names[HARVEST_KNOB_LIMIT]))
		j->knob = HARVEST_KNOB_LIMIT;
	else if (!strcmp(knob, knob_names[HARVEST_KNOB_HIGH]))
		j->knob = HARVEST_KNOB_HIGH;
	else
		return -EINVAL;
	strcpy(j->cgroup, cg);
	return parse_previous(prev, &j->previous);
}

int harvest_journal_read(const struct harvest_journal_file *f, struct harvest_journal *j)
{
	char buf[HARVEST_JOURNAL_MAX + 1];
	struct harvest_journal tmp;
	int n = private_dir_read(f->dirfd, f->name, buf, sizeof(buf)), err;

	if (n < 0)
		return n == -EFBIG ? -EINVAL : n;
	if ((err = parse(buf, &tmp)))
		return err;
	*j = tmp;
	return 0;
}

int harvest_journal_remove(const struct harvest_journal_file *f)
{
	return unlinkat(f->dirfd, f->name, 0) && errno != ENOENT ? -errno : 0;
}
