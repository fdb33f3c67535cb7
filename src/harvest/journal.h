/*
 * harvest_journal: the record of a harvesting step in progress — which cgroup, which knob was lowered and the value
 * it had before — written durably before the knob is lowered and removed once it is restored, so that a crash
 * mid-step is repaired at the next start (harvest_open() in harvest/harvest.h).
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
#include <sys/types.h>

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

/*
 * The journal's place, owned by one process. Its directory is opened and checked once, and every later access is
 * relative to that descriptor, so no path component is looked up again and no symlink is followed at the journal,
 * its temporary file or its lock. The lock is an exclusive flock on NAME.lock beside the journal, held until
 * harvest_journal_release() or the process's end (the lock file itself stays: removing it would let two processes
 * lock two different files).
 */
struct harvest_journal_file {
	int dirfd, lockfd;            /* -1 when closed */
	uid_t dir_uid;                /* the directory's owner and mode, for messages (also when it was refused) */
	mode_t dir_mode;
	char dir[PATH_MAX];           /* the directory's path, for messages */
	char path[PATH_MAX];          /* the journal's whole path, for messages */
	char name[NAME_MAX + 1];      /* the journal's file name in dirfd */
	char tmp[NAME_MAX + 1];       /* NAME.tmp */
	char lock[NAME_MAX + 1];      /* NAME.lock */
};

/*
 * Claims the journal at `path` for this process: creates its directory (one level, 0700) if missing, checks that it
 * belongs to root or to this process's uid and that neither its group nor others may write it, then takes the lock.
 * Returns 0; -EPERM for a directory that fails the check (nothing is created in it); -EBUSY when another process
 * holds the lock; -ENAMETOOLONG; or -errno. On failure nothing stays open.
 */
int harvest_journal_claim(struct harvest_journal_file *f, const char *path);

/* Drops the lock and closes the directory; a closed f is fine. */
void harvest_journal_release(struct harvest_journal_file *f);

/* Writes the journal durably: a new temporary file next to it (a leftover one, or a link planted there, is removed,
 * never opened), fsync, rename, fsync of the directory. -EINVAL for a cgroup name with a newline; on any failure no
 * journal is left. */
int harvest_journal_write(const struct harvest_journal_file *f, const struct harvest_journal *j);

/* Reads the journal: 0, -ENOENT when there is none, -ELOOP when it is a symlink (not followed), -EINVAL when it is
 * malformed or longer than the maximum. */
int harvest_journal_read(const struct harvest_journal_file *f, struct harvest_journal *j);

/* Removes the journal (a symlink there is removed, not followed); 0 also when there was none. */
int harvest_journal_remove(const struct harvest_journal_file *f);

/* "limit" / "high". */
const char *harvest_knob_name(enum harvest_knob k);

#endif
