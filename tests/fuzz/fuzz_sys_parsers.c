/*
 * fuzz_sys_parsers: libFuzzer target over src/sys's parsers of untrusted text (meminfo, vmstat, PID status,
 * PSI, v1/v2 memory.stat) and cgroup name canonicalisation. Each gets the input NUL-terminated in a buffer
 * of exactly that size, so that ASan catches any read past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/cgroup.h"
#include "sys/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), canon[64];
	struct meminfo m;
	struct vmstat v;
	struct pid_status s;
	struct psi p;
	struct cg_stat st;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	meminfo_parse(buf, &m);
	vmstat_parse(buf, &v);
	pid_status_parse(buf, &s);
	psi_parse(buf, &p);
	cg_stat_parse_v1(buf, &st);
	cg_stat_parse_v2(buf, &st);
	if (cg_name_canon(buf, canon, sizeof(canon)) == 0 && (strstr(canon, "//") || !strcmp(canon, "..")))
		abort();
	free(buf);
	return 0;
}
