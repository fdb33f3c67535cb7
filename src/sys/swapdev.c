/* swapdev: whether the active swap can take huge pages whole (see swapdev.h). */
#include "sys/swapdev.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sys/procfs.h"

/* /proc/swaps escapes blanks in names as \040: undone in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int swapdev_judge(const char *swaps, swapdev_rotational_fn nonrot, char *why, size_t len)
{
	const char *line = strchr(swaps, '\n');
	bool first = true;

	if (strncmp(swaps, "Filename", 8) != 0 || !line)
		return -EINVAL;
	snprintf(why, len, "no swap");
	for (line++; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char copy[PATH_MAX + 64], name[PATH_MAX], type[32];
		int r;

		if (n >= sizeof(copy))
			return -EINVAL;
		memcpy(copy, line, n);
		copy[n] = '\0';
		line += n + (nl != NULL);
		if (copy[0] == '\0')
			continue;
		if (sscanf(copy, "%4095s %31s", name, type) != 2)
			return -EINVAL;
		unescape(name);
		if (strcmp(type, "partition") != 0) {
			if (first)
				snprintf(why, len, "%s is a swap %s", name, type);
		} else if ((r = nonrot(name)) == 1) {
			snprintf(why, len, "%s is a non-rotational block device", name);
			return 1;
		} else if (first) {
			snprintf(why, len, "%s is %s", name, r == 0 ? "a rotational disk" : "a block device of unknown kind");
		}
		first = false;
	}
	return 0;
}

static int read_flag(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v < 0 ? -EINVAL : v;
}

static int sys_nonrot(const char *dev)
{
	char path[128];
	struct stat st;
	int r;

	if (stat(dev, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	/* A whole disk has queue/ itself; a partition's is its disk's, one level up. */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/rotational", major(st.st_rdev), minor(st.st_rdev));
	r = read_flag(path);
	if (r == -ENOENT) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/rotational", major(st.st_rdev),
			 minor(st.st_rdev));
		r = read_flag(path);
	}
	return r < 0 ? r : r == 0;
}

int swapdev_thp_whole(char *why, size_t len)
{
	char path[PATH_MAX], buf[16384];
	FILE *f;
	size_t n;

	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strstr(buf, "[never]")) {
			snprintf(why, len, "transparent huge pages are off");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/swaps", procfs_root());
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return swapdev_judge(buf, sys_nonrot, why, len);
}
