/*
 * procfs: readers of /proc/meminfo, /proc/vmstat, /proc/PID/status and /proc/pressure/memory.
 * Every path goes through one redirectable root so that tests point it at a fixture tree.
 * Parsers are separate from file reading and take a NUL-terminated buffer.
 * Return contract: 0 on success, -errno on failure (-EINVAL for unparsable content).
 * Parsers ignore lines they do not know; a known line whose number is missing or does not fit in 64 bits,
 * or a buffer without the file's mandatory lines (MemTotal/MemFree, pgfault, Pid, "some"), is -EINVAL,
 * and leaves *out untouched. Readers return -EFBIG when the file fills their fixed stack buffer.
 * The per-process readers of procfs_pid.c (memory cgroup, maps) are listed last.
 */
#ifndef USBD_SYS_PROCFS_H
#define USBD_SYS_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default "/proc". The string is copied. */
void procfs_set_root(const char *root);
const char *procfs_root(void);

/* /proc/meminfo, in bytes. Fields the kernel does not report stay 0. */
struct meminfo {
	uint64_t total, free, available, buffers, cached, swap_total, swap_free;
	uint64_t hugepages_total, hugepages_free, hugepage_size, anon_huge;
	uint64_t swap_cached, anon_pages, active_anon, inactive_anon, shmem;
};
int meminfo_parse(const char *buf, struct meminfo *out);
int meminfo_read(struct meminfo *out);

/* /proc/vmstat counters usbd reports (Firecracker's statistics) and reacts to. */
struct vmstat {
	uint64_t pswpin, pswpout, pgmajfault, pgfault, oom_kill;
	uint64_t allocstall;          /* sum of allocstall_* */
	uint64_t pgscan_kswapd, pgscan_direct, pgsteal_kswapd, pgsteal_direct;
	uint64_t htlb_buddy_alloc_success, htlb_buddy_alloc_fail;
	uint64_t workingset_refault_anon, pglazyfreed;
};
int vmstat_parse(const char *buf, struct vmstat *out);
int vmstat_read(struct vmstat *out);

/* /proc/PID/status, in bytes. */
struct pid_status {
	uint64_t vm_rss, vm_swap, vm_locked;
};
int pid_status_parse(const char *buf, struct pid_status *out);
/* pid <= 0 reads <root>/self/status. */
int pid_status_read(pid_t pid, struct pid_status *out);

/* PSI: "some avg10=.. avg60=.. avg300=.. total=.." / "full ...". avg values are percent x 100. */
struct psi {
	uint32_t some_avg10, some_avg60, full_avg10, full_avg60;
	uint64_t some_total_us, full_total_us;
};
int psi_parse(const char *buf, struct psi *out);
/* Reads a PSI file: "" or NULL means <procfs root>/pressure/memory; otherwise the given path. */
int psi_read(const char *path, struct psi *out);

/*
 * The memory cgroup of a process, relative to the hierarchy root ("" for the root), from /proc/PID/cgroup: on v1
 * (version 1) the line whose controller list holds "memory" ("N:cpu,memory:/path"), on v2 the "0::/path" line.
 * -ENOENT without such a line, -ENAMETOOLONG when name cannot hold it.
 */
int pid_memcg_parse(const char *buf, int version, char *name, size_t len);
int pid_memcg_read(pid_t pid, int version, char *name, size_t len);

/* /proc/PID/maps whole, in a malloc'd NUL-terminated buffer the caller frees: -E2BIG beyond max bytes. */
int pid_maps_read(pid_t pid, size_t max, char **out);

/* Reads a whole small file into buf (NUL-terminated, truncated to len-1). Returns bytes read or -errno. */
ssize_t read_small_file(const char *path, char *buf, size_t len);

#endif
