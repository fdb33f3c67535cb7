/*
 * harvest_journal: the record of a harvesting step in progress — which cgroup, which knob was lowered and the value
 * it had before — written durably before the knob is lowered and removed once it is restored, so that a crash
 * mid-step is repaired at the next start (harvest_repair() in harvest/harvest.h).
 * File format (text, at most HARVEST_JOURNAL_MAX bytes):
 *   usbd-harvest-journal 1
 *   cgroup NAME
 *   knob limit|high
 *   previous BYTES|max
 * Return contract: 0 or -errno; nothing here logs.
 */
#ifndef USBD_HARVEST_JOURNAL_H
#define USBD_HARVEST_JOURNAL_H

#include <limits.h>
#include <stdint.h>

#define HARVEST_JOURNAL_MAX (PATH_MAX + 256)

enum harvest_knob {
	HARVEST_KNOB_LIMIT = 0,   /* the backend's hard limit: v1 memory.limit_in_bytes */
	HARVEST_KNOB_HIGH,        /* v2 memory.high */
};

struct harvest_journal {
	char cgroup[PATH_MAX];    /* the cgroup's canonical name; no newline */
	enum harvest_knob knob;
	uint64_t previous;        /* CG_UNLIMITED for "max" */
};

/* Writes the journal at `path` durably: a temporary file next to it, fsync, rename, fsync of the directory.
 * -EINVAL for a cgroup name with a newline; on any failure no journal is left at path. */
int harvest_journal_write(const char *path, const struct harvest_journal *j);

/* Reads the journal: 0, -ENOENT when there is none, -EINVAL when it is malformed or longer than the maximum. */
int harvest_journal_read(const char *path, struct harvest_journal *j);

/* Removes the journal; 0 also when there was none. */
int harvest_journal_remove(const char *path);

/* "limit" / "high". */
const char *harvest_knob_name(enum harvest_knob k);

#endif
