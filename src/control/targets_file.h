/*
 * targets_file: the targets set at run time (the API, usbdctl set), kept in a state file so that they survive a restart
 * (--state-file, default /var/lib/usbd/targets.json, "off": none). The file is a JSON object of the targets set at
 * run time, in bytes, by their status names: {"grab_lower_bytes": 1073741824}. Targets never set at run time are
 * absent, so the config file and the defaults still rule them.
 * Its directory must belong to root (or usbd's euid) and be writable by nobody else (sys/private_dir.h, the same
 * check as the harvest journal's); the file is replaced atomically (a new temporary file, fsync, rename, fsync of
 * the directory) and never read or written through a symlink.
 * Precedence at start: command line > state file > config file > defaults (enum target_source).
 */
#ifndef USBD_CONTROL_TARGETS_FILE_H
#define USBD_CONTROL_TARGETS_FILE_H

#include <limits.h>
#include <stddef.h>

#include "policy/targets.h"

#define STATE_MAX_BYTES 1024

/* Where a target's value came from, weakest first; shown in GET /usbd/status "sources". */
enum target_source { TARGET_SRC_DEFAULT, TARGET_SRC_CONFIG, TARGET_SRC_STATE, TARGET_SRC_FLAG, TARGET_SRC_API };

/* "default", "config-file", "state-file", "command-line", "api". */
const char *target_source_name(enum target_source s);

/* Pure: writes the JSON of the fields of t in mask to buf, NUL-terminated. Returns its length, or -ENOSPC. */
int state_format(const struct targets *t, unsigned mask, char *buf, size_t len);
/* Pure: parses a state file's text into t and *mask. Returns 0, or -EINVAL with a message naming the key. Only the
 * syntax is checked here: the values go through targets_update() with every other door's. */
int state_parse(const char *text, struct targets *t, unsigned *mask, char *err, size_t errlen);

struct state_file {
	int dirfd;                      /* -1: no state file */
	char path[PATH_MAX];            /* for messages */
	char name[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];         /* NAME.tmp */
};

/*
 * Opens path's directory (made 0700 if missing) and checks it. Returns 0; -EPERM, -ENAMETOOLONG, -EINVAL (a path
 * ending in '/') or -errno, with a message in err naming the path. path "off": sf->dirfd stays -1 and 0 is returned.
 */
int state_open(struct state_file *sf, const char *path, char *err, size_t errlen);
/* Reads the file: 0 with *mask 0 when there is none; -EINVAL (malformed, too long), -ELOOP (a symlink) or -errno,
 * with a message in err. */
int state_load(const struct state_file *sf, struct targets *t, unsigned *mask, char *err, size_t errlen);
/* Replaces the file with the fields of t in mask, durably. 0 or -errno; on failure the old file is left whole. */
int state_save(const struct state_file *sf, const struct targets *t, unsigned mask);
void state_close(struct state_file *sf);

#endif
