#include "control/targets_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys/private_dir.h"

const char *target_source_name(enum target_source s)
{
	static const char *const names[] = {
		[TARGET_SRC_DEFAULT] = "default", [TARGET_SRC_CONFIG] = "config-file", [TARGET_SRC_STATE] = "state-file",
		[TARGET_SRC_FLAG] = "command-line", [TARGET_SRC_API] = "api",
	};
	return (unsigned)s <= TARGET_SRC_API ? names[s] : "default";
}

int state_format(const struct targets *t, unsigned mask, char *buf, size_t len)
{
	json_t *o = json_object();
	size_t n;

	for (int f = 0; o && f < TARGET_COUNT; f++)
		if ((mask & TARGET_BIT(f)) && json_object_set_new(o, target_descs[f].bytes_key,
								  json_integer((json_int_t)t->v[f]))) {
			json_decref(o);
			o = NULL;
		}
	if (!o)
		return -ENOMEM;
	/* Bytes are at most a domain's size: they fit json_int_t. */
	n = json_dumpb(o, buf, len, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!n || n + 2 > len)
		return -ENOSPC;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return (int)n + 1;
}

static int field_of(const char *key)
{
	for (int f = 0; f < TARGET_COUNT; f++)
		if (!strcmp(key, target_descs[f].bytes_key))
			return f;
	return -1;
}

int state_parse(const char *text, struct targets *t, unsigned *mask, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je), *v;
	struct targets got = { { 0 } };
	unsigned m = 0;
	const char *key;
	int r = 0;

	if (!root) {
		snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		r = -EINVAL;
	}
	json_object_foreach(r ? NULL : root, key, v) {
		int f = field_of(key);

		if (f < 0) {
			snprintf(err, errlen, "unknown key '%s'", key);
			r = -EINVAL;
			break;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errlen, "%s must be a number of bytes", key);
			r = -EINVAL;
			break;
		}
		got.v[f] = (uint64_t)json_integer_value(v);
		m |= TARGET_BIT(f);
	}
	json_decref(root);
	if (!r) {
		*t = got;
		*mask = m;
	}
	return r;
}

static int split(struct state_file *sf, const char *path)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;

	if (!*name)
		return -EINVAL;
	if (strlen(path) >= sizeof(sf->path) || strlen(name) + sizeof(".tmp") > sizeof(sf->name))
		return -ENAMETOOLONG;
	snprintf(sf->path, sizeof(sf->path), "%s", path);
	snprintf(sf->name, sizeof(sf->name), "%s", name);
	snprintf(sf->tmp, sizeof(sf->tmp), "%s.tmp", name);
	return 0;
}

int state_open(struct state_file *sf, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st = { 0 };
	int r;

	sf->dirfd = -1;
	if (!strcmp(path, "off"))
		return 0;
	if ((r = split(sf, path))) {
		snprintf(err, errlen, "--state-file %s: %s", path, r == -EINVAL ? "names a directory, not a file" :
			 strerror(-r));
		return r;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
	if ((r = private_dir_open(dir, 0700, &st)) == -EPERM)
		snprintf(err, errlen, "--state-file %s: its directory %s belongs to uid %u with mode %04o: it must belong "
			 "to root and be writable by nobody else", path, dir, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
	else if (r < 0)
		snprintf(err, errlen, "--state-file %s: %s: %s", path, dir, strerror(-r));
	else
		sf->dirfd = r;
	return r < 0 ? r : 0;
}

int state_load(const struct state_file *sf, struct targets *t, unsigned *mask, char *err, size_t errlen)
{
	char buf[STATE_MAX_BYTES + 1], msg[256];
	int n = private_dir_read(sf->dirfd, sf->name, buf, sizeof(buf)), r;

	*mask = 0;
	if (n == -ENOENT)
		return 0;
	if (n < 0) {
		snprintf(err, errlen, "state file %s: %s", sf->path, n == -EFBIG ? "longer than its maximum" :
			 n == -ELOOP ? "is a symlink (not followed)" : strerror(-n));
		return n == -EFBIG ? -EINVAL : n;
	}
	if ((r = state_parse(buf, t, mask, msg, sizeof(msg))))
		snprintf(err, errlen, "state file %s: %s (fix or remove it)", sf->path, msg);
	return r;
}

int state_save(const struct state_file *sf, const struct targets *t, unsigned mask)
{
	char buf[STATE_MAX_BYTES];
	int n = state_format(t, mask, buf, sizeof(buf)), r;

	if (n < 0)
		return n;
	if ((r = private_dir_replace(sf->dirfd, sf->name, sf->tmp, buf, (size_t)n)))
		return r;
	/* Until the directory is synced the rename may not survive a crash. */
	return fsync(sf->dirfd) ? -errno : 0;
}

void state_close(struct state_file *sf)
{
	if (sf->dirfd >= 0)
		close(sf->dirfd);
	sf->dirfd = -1;
}
