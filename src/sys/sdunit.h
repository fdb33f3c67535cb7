/*
 * sdunit: systemd units as usbd meets them on a systemd host (docs/USAGE.md "usbd and systemd"), spoken to through
 * `systemctl` (show -P, set-property --runtime) rather than libsystemd's sd-bus: a few calls at start, at the first
 * registration and at stop, with no new build or run-time dependency (sd_notify.h keeps libsystemd out for the
 * same reason). $USBD_SYSTEMCTL names another program (tests); when set, the host counts as booted with systemd.
 * Return contract: 0 (or 1 for yes) / -errno; nothing here logs except systemctl's own errors on stderr.
 */
#ifndef USBD_SYS_SDUNIT_H
#define USBD_SYS_SDUNIT_H

#include <stdbool.h>
#include <stddef.h>

#include "sys/cgroup.h"

/* True when systemd is the init system (/run/systemd/system exists, as sd_booted() checks), or $USBD_SYSTEMCTL. */
bool sdunit_booted(void);

/* `systemctl show -P PROP -- UNIT` into out, without its newline. -EIO when systemctl fails, -E2BIG if too long. */
int sdunit_show(const char *unit, const char *prop, char *out, size_t len);

/* `systemctl set-property --runtime -- UNIT PROP=VALUE`: -EIO when systemctl refuses (its message is on stderr). */
int sdunit_set_runtime(const char *unit, const char *prop, const char *value);

/*
 * The unit's cgroup as a name relative to the hierarchy's root ("system.slice/postgresql.service"): its ControlGroup
 * property. -ENOENT when the unit has none (not loaded, or not running), -EINVAL for a name that is no unit name.
 */
int sdunit_cgroup(const char *unit, char *cgname, size_t len);

/*
 * Whether cg is a systemd unit's own cgroup (the cgroup v2 hierarchy, systemd booted, a last component with a unit
 * suffix, and that unit's ControlGroup is cg): 1 with the unit's name in unit, 0 if not, -errno if systemctl failed.
 */
int sdunit_of_cgroup(const struct cgroup *cg, char *unit, size_t len);

/*
 * The memory knobs of a cgroup, as usbd changes them: memory.max, memory.high, memory.swap.max, memory.low and
 * memory.min of a unit's own cgroup (sdunit_of_cgroup) are read and set as the unit's runtime properties MemoryMax=,
 * MemoryHigh=, MemorySwapMax=, MemoryLow=, MemoryMin=, so that systemd neither undoes nor fights the change; every
 * other file, and every cgroup no unit owns, is read and written directly. Values are in the files' form: a number
 * of bytes or "max" (systemd's "infinity"). cg_knob_read strips the newline.
 */
int cg_knob_read(const struct cgroup *cg, const char *file, char *buf, size_t len);
int cg_knob_write(const struct cgroup *cg, const char *file, const char *value);

/* The systemd property behind a cgroup v2 memory file ("memory.swap.max" -> "MemorySwapMax"), or NULL. */
const char *sdunit_memory_property(const char *file);

/*
 * usbd's own unit when it delegates its cgroup to usbd: the cgroup v2 hierarchy, systemd booted, this process in
 * the unit's own cgroup (not a sub-cgroup of it), Delegate=yes. 1 with its cgroup name in cgname, 0 if not.
 */
int sdunit_self_delegated(const struct cg_hier *h, char *cgname, size_t len);

#endif
