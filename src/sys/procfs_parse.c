/* procfs_parse: parsers of /proc/meminfo, /proc/vmstat, /proc/PID/status and PSI files (no I/O). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "sys/kv.h"
#include "sys/procfs.h"

static const struct kv_field meminfo_fields[] = {
	KV_FIELD(struct meminfo, "MemTotal", total),
	KV_FIELD(struct meminfo, "MemFree", free),
	KV_FIELD(struct meminfo, "MemAvailable", available),
	KV_FIELD(struct meminfo, "Buffers", buffers),
	KV_FIELD(struct meminfo, "Cached", cached),
	KV_FIELD(struct meminfo, "SwapTotal", swap_total),
	KV_FIELD(struct meminfo, "SwapFree", swap_free),
	KV_FIELD(struct meminfo, "HugePages_Total", hugepages_total),
	KV_FIELD(struct meminfo, "HugePages_Free", hugepages_free),
	KV_FIELD(struct meminfo, "Hugepagesize", hugepage_size),
	KV_FIELD(struct meminfo, "AnonHugePages", anon_huge),
	KV_FIELD(struct meminfo, "SwapCached", swap_cached),
	KV_FIELD(struct meminfo, "AnonPages", anon_pages),
	KV_FIELD(struct meminfo, "Active(anon)", active_anon),
	KV_FIELD(struct meminfo, "Inactive(anon)", inactive_anon),
	KV_FIELD(struct meminfo, "Shmem", shmem),
};

int meminfo_parse(const char *buf, struct meminfo *out)
{
	struct meminfo m = { 0 };
	uint64_t seen;

	if (kv_parse(buf, meminfo_fields, KV_COUNT(meminfo_fields), &m, &seen))
		return -EINVAL;
	/* Every kernel reports MemTotal and MemFree first: without them this is not meminfo. */
	if ((seen & 3) != 3)
		return -EINVAL;
	*out = m;
	return 0;
}

static const struct kv_field vmstat_fields[] = {
	KV_FIELD(struct vmstat, "pgfault", pgfault),
	KV_FIELD(struct vmstat, "pswpin", pswpin),
	KV_FIELD(struct vmstat, "pswpout", pswpout),
	KV_FIELD(struct vmstat, "pgmajfault", pgmajfault),
	KV_FIELD(struct vmstat, "oom_kill", oom_kill),
	KV_FIELD(struct vmstat, "allocstall_*", allocstall),
	KV_FIELD(struct vmstat, "pgscan_kswapd", pgscan_kswapd),
	KV_FIELD(struct vmstat, "pgscan_direct", pgscan_direct),
	KV_FIELD(struct vmstat, "pgsteal_kswapd", pgsteal_kswapd),
	KV_FIELD(struct vmstat, "pgsteal_direct", pgsteal_direct),
	KV_FIELD(struct vmstat, "htlb_buddy_alloc_success", htlb_buddy_alloc_success),
	KV_FIELD(struct vmstat, "htlb_buddy_alloc_fail", htlb_buddy_alloc_fail),
	KV_FIELD(struct vmstat, "workingset_refault_anon", workingset_refault_anon),
	KV_FIELD(struct vmstat, "pglazyfreed", pglazyfreed),
};

int vmstat_parse(const char *buf, struct vmstat *out)
{
	struct vmstat v = { 0 };
	uint64_t seen;

	if (kv_parse(buf, vmstat_fields, KV_COUNT(vmstat_fields), &v, &seen))
		return -EINVAL;
	/* pgfault exists in every kernel's vmstat: without it this is not vmstat. */
	if (!(seen & 1))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Pid is read only to recognise the file: kernel threads have no Vm* lines but always a Pid. */
struct status_lines {
	uint64_t pid;
	struct pid_status s;
};

static const struct kv_field status_fields[] = {
	KV_FIELD(struct status_lines, "Pid", pid),
	KV_FIELD(struct status_lines, "VmRSS", s.vm_rss),
	KV_FIELD(struct status_lines, "VmSwap", s.vm_swap),
	KV_FIELD(struct status_lines, "VmLck", s.vm_locked),
};

int pid_status_parse(const char *buf, struct pid_status *out)
{
	struct status_lines st = { 0 };
	uint64_t seen;

	if (kv_parse(buf, status_fields, KV_COUNT(status_fields), &st, &seen))
		return -EINVAL;
	if (!(seen & 1))
		return -EINVAL;
	*out = st.s;
	return 0;
}

/* "12.34" -> 1234: PSI averages have two decimals; further digits are truncated. */
static int psi_avg(const char **p, uint32_t *out)
{
	uint64_t whole, frac = 0;
	unsigned digits = 0;

	if (kv_u64(p, &whole) || whole > UINT32_MAX / 100)
		return -EINVAL;
	if (**p == '.') {
		for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
			if (digits++ < 2)
				frac = frac * 10 + (uint64_t)(**p - '0');
		}
		if (!digits)
			return -EINVAL;
	}
	for (; digits < 2; digits++)
		frac *= 10;
	if (whole * 100 + frac > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)(whole * 100 + frac);
	return 0;
}

#define PSI_AVG10 1u
#define PSI_AVG60 2u
#define PSI_TOTAL 4u
#define PSI_ALL (PSI_AVG10 | PSI_AVG60 | PSI_TOTAL)

/* Parses the "key=value" tokens after "some"/"full"; returns the PSI_* bits seen or -EINVAL. */
static int psi_line(const char *p, uint32_t *avg10, uint32_t *avg60, uint64_t *total)
{
	unsigned seen = 0;

	while (*p && *p != '\n') {
		const char *key;
		size_t klen;
		int err = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		key = p;
		klen = strcspn(p, "= \t\n");
		if (klen == 0 && (*p == '\n' || !*p))
			break;
		if (p[klen] != '=') {
			p += klen;
			continue;
		}
		p += klen + 1;
		if (klen == 5 && !memcmp(key, "avg10", 5)) {
			err = psi_avg(&p, avg10);
			seen |= PSI_AVG10;
		} else if (klen == 5 && !memcmp(key, "avg60", 5)) {
			err = psi_avg(&p, avg60);
			seen |= PSI_AVG60;
		} else if (klen == 5 && !memcmp(key, "total", 5)) {
			err = kv_u64(&p, total);
			seen |= PSI_TOTAL;
		} else {
			p += strcspn(p, " \t\n");
		}
		if (err || (*p && *p != ' ' && *p != '\t' && *p != '\n'))
			return -EINVAL;
	}
	return (int)seen;
}

int psi_parse(const char *buf, struct psi *out)
{
	struct psi v = { 0 };
	bool have_some = false;

	for (const char *line = buf; *line;) {
		const char *end = strchrnul(line, '\n');
		int seen = PSI_ALL;

		if (!strncmp(line, "some ", 5)) {
			seen = psi_line(line + 5, &v.some_avg10, &v.some_avg60, &v.some_total_us);
			have_some = true;
		} else if (!strncmp(line, "full ", 5)) {
			seen = psi_line(line + 5, &v.full_avg10, &v.full_avg60, &v.full_total_us);
		}
		if (seen != PSI_ALL)
			return -EINVAL;
		line = *end ? end + 1 : end;
	}
	if (!have_some)
		return -EINVAL;
	*out = v;
	return 0;
}
