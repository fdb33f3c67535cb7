/* harvest_journal: the durable record of a harvesting step in progress (see harvest_journal.h). */
#include "harvest/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/cgroup.h"

#define MAGIC "usbd-harvest-journal 1"

static const char *const knob_names[] = { [HARVEST_KNOB_LIMIT] = "limit", [HARVEST_KNOB_HIGH] = "high" };

const char *harvest_knob_name(enum harvest_knob k)
{
	return k <= HARVEST_KNOB_HIGH ? knob_names[k] : "unknown";
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Makes a rename or creation in path's directory durable. */
static int sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
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

int harvest_journal_write(const char *path, const struct harvest_journal *j)
{
	char buf[HARVEST_JOURNAL_MAX], tmp[PATH_MAX];
	int fd, err, n = format(j, buf, sizeof(buf));

	if (n < 0)
		return n;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, (size_t)n);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* Until the directory is synced the rename may not survive a crash: without that, no journal at all. */
	if ((err = sync_dir_of(path)))
		unlink(path);
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

int harvest_journal_read(const char *path, struct harvest_journal *j)
{
	char buf[HARVEST_JOURNAL_MAX + 1];
	struct harvest_journal tmp;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	/* One read: the file is written whole by rename; a longer or NUL-bearing one is not ours. */
	if ((size_t)n >= sizeof(buf) || memchr(buf, '\0', (size_t)n))
		return -EINVAL;
	buf[n] = '\0';
	if ((err = parse(buf, &tmp)))
		return err;
	*j = tmp;
	return 0;
}

int harvest_journal_remove(const char *path)
{
	return unlink(path) && errno != ENOENT ? -errno : 0;
}
