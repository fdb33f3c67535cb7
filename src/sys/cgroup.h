/*
 * cgroup: one interface to the memory controller, with a backend per cgroup version (cgroup_v1.c,
 * cgroup_v2.c) chosen once at start, the shape of Redis's ae.c / ae_epoll.c.
 * A cgroup is named as `cgcreate -g memory:NAME` names it: a path relative to the memory hierarchy's root,
 * "" or "/" being the root itself. Names with "..", ".", empty components or that escape the hierarchy
 * through symlinks are refused.
 * Return contract: 0 (or a non-negative fd) on success, -errno on failure. Nothing here logs; callers report.
 */
#ifndef USBD_SYS_CGROUP_H
#define USBD_SYS_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_UNLIMITED UINT64_MAX

struct cg_ops;

/* The memory hierarchy: its version and mount point. */
struct cg_hier {
	int version;            /* 1 or 2 */
	char root[PATH_MAX];    /* e.g. /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2) */
	const struct cg_ops *ops;
};

struct cgroup {
	const struct cg_hier *hier;
	char name[PATH_MAX];    /* canonical, relative to root, no leading or trailing '/', "" for the root */
	char path[PATH_MAX];    /* absolute directory */
};

/* Parsed memory.stat, in bytes or counts, backend-neutral names. */
struct cg_stat {
	uint64_t anon, file, active_anon, inactive_anon, active_file, inactive_file, unevictable;
	uint64_t shmem, swapcached;  /* swapcached: pages in the swap cache, mapped or not (also counted in file) */
	uint64_t swap;          /* v1 "swap" (needs memsw), v2 from memory.swap.current */
	uint64_t pgfault, pgmajfault, workingset_refault;
	uint64_t anon_thp;
};

enum cg_pressure { CG_PRESSURE_NONE = 0, CG_PRESSURE_LOW, CG_PRESSURE_MEDIUM, CG_PRESSURE_CRITICAL };

struct cg_ops {
	int (*usage)(const struct cgroup *cg, uint64_t *bytes);
	int (*limit)(const struct cgroup *cg, uint64_t *bytes);            /* CG_UNLIMITED if none */
	int (*set_limit)(const struct cgroup *cg, uint64_t bytes);         /* CG_UNLIMITED lifts it */
	int (*swap)(const struct cgroup *cg, uint64_t *bytes);
	int (*stat)(const struct cgroup *cg, struct cg_stat *out);
	/* Notifications: each returns an fd for epoll (EPOLLIN on v1 eventfds, EPOLLPRI on v2 files); the
	 * caller owns it and closes it to unregister. Drain with cg_notify_ack(). */
	int (*pressure_open)(const struct cgroup *cg, enum cg_pressure level);
	int (*usage_threshold_open)(const struct cgroup *cg, uint64_t bytes); /* -ENOTSUP on v2 */
	int (*oom_open)(const struct cgroup *cg);
	/* Swap policy: v1 memory.swappiness; v2 memory.swap.max (0 = no swap, CG_UNLIMITED = max). */
	int (*set_swap_allowed)(const struct cgroup *cg, bool allowed);
	/* Reclaim `bytes` from the cgroup (v2 memory.reclaim). v1: -ENOTSUP (the harvester lowers the limit). */
	int (*reclaim)(const struct cgroup *cg, uint64_t bytes);
};

/* Finds the memory hierarchy. `root_override` (tests, fixtures) is used as-is when non-NULL, with
 * `version` 1 or 2; otherwise /sys/fs/cgroup/memory (v1) or a cgroup2 mount with the memory
 * controller is detected. Returns -ENOENT when there is no memory controller.
 * Detection (root_override NULL): `version` 0 tries v1 then v2; 1 or 2 looks only for that version. The v2
 * search reads <procfs root>/self/mountinfo. h->root is made canonical (realpath). */
int cg_hier_open(struct cg_hier *h, const char *root_override, int version);

/* Validates and canonicalises a cgroup name without touching the filesystem. Returns 0 or -EINVAL. */
int cg_name_canon(const char *name, char *out, size_t len);

/* Resolves an existing cgroup. -EINVAL for a bad name, -ENOENT if absent, -EXDEV if it escapes the root,
 * -ENOTDIR if it names a file. out->name and out->path follow symlinks (both canonical). */
int cg_resolve(const struct cg_hier *h, const char *name, struct cgroup *out);

/* True when `inner` is `outer` or one of its descendants. */
bool cg_within(const struct cgroup *inner, const struct cgroup *outer);

/* Creates child `leaf` (one component, no '/') of parent; -EEXIST if it exists already. */
int cg_create_child(const struct cgroup *parent, const char *leaf, struct cgroup *out);
/* Removes an empty cgroup (rmdir). Retries for up to 1 s while the kernel reports -EBUSY. -EINVAL for the
 * hierarchy's root. */
int cg_remove(const struct cgroup *cg);
/* Moves a process into the cgroup; pid 0 moves the caller. */
int cg_move_pid(const struct cgroup *cg, pid_t pid);
/* Lists the pids in cg (cgroup.procs); returns the count (may exceed max: then only max were stored).
 * -EINVAL if the file holds anything but pids, one a line. */
int cg_pids(const struct cgroup *cg, pid_t *pids, int max);

/* Reads/writes one file of the cgroup; `file` must be one plain name (-EINVAL otherwise).
 * Read returns the bytes read (buf NUL-terminated, truncated to len-1) or -errno.
 * Write writes `value` with one write(2) and returns 0, -errno from write(2), or -EIO on a short write. */
int cg_read_file(const struct cgroup *cg, const char *file, char *buf, size_t len);
int cg_write_file(const struct cgroup *cg, const char *file, const char *value);
/* "max", and v1's LONG_MAX-rounded-to-a-page ("9223372036854771712"), are CG_UNLIMITED; anything but one
 * decimal number (and trailing whitespace) is -EINVAL. */
int cg_read_u64(const struct cgroup *cg, const char *file, uint64_t *out);

/* OOM events of the cgroup so far: the sum of the "oom" and "oom_kill" counters of memory.events (v2) or
 * memory.oom_control (v1). v2's memory.events changes on any of its counters, so a notification on it is an OOM
 * only when this count grew. Returns 0 or -errno. */
int cg_oom_count(const struct cgroup *cg, uint64_t *count);

/* Consumes a notification on an fd returned by the ops (reads the eventfd counter or re-reads the file).
 * Returns 0, also when nothing was pending, or -errno. */
int cg_notify_ack(int fd);

/* Convenience dispatch to h->ops. */
static inline int cg_usage(const struct cgroup *cg, uint64_t *b) { return cg->hier->ops->usage(cg, b); }
static inline int cg_limit(const struct cgroup *cg, uint64_t *b) { return cg->hier->ops->limit(cg, b); }
static inline int cg_set_limit(const struct cgroup *cg, uint64_t b) { return cg->hier->ops->set_limit(cg, b); }
static inline int cg_swap(const struct cgroup *cg, uint64_t *b) { return cg->hier->ops->swap(cg, b); }
static inline int cg_stat(const struct cgroup *cg, struct cg_stat *s) { return cg->hier->ops->stat(cg, s); }

/* Parsers, exposed for unit tests and fuzzing. */
int cg_stat_parse_v1(const char *buf, struct cg_stat *out);
int cg_stat_parse_v2(const char *buf, struct cg_stat *out);
/* Formats a v2 PSI trigger line ("some 150000 1000000") for a level; returns length or -EINVAL. */
int cg_psi_trigger_format(enum cg_pressure level, char *buf, size_t len);

#endif
