/*
 * bench_lib_policy: one run of the libusbd policy benchmark (bench/bench_lib.sh runs the matrix). It registers
 * with usbd, maps SIZE, writes it, then runs a workload over it while usbd signals it under memory pressure, and
 * answers each SIGBALLOON with one page-out policy:
 *   lib     the library's tracker and selector (usbd_balloon: cold memory first, then in-use memory behind
 *           the scan front)
 *   lib-late  lib, registered after the fill (the classic exercise's order) instead of before the mmap; with
 *           --late-limit BYTES the app, once its region is tracked (and so re-charged), writes BYTES to
 *           DIR/memory.limit_in_bytes (bench_lib.sh raises the domain's limit by the region for the fill,
 *           which cannot swap before the app registers)
 *   lib-cold  the tracker's cold memory only (usbd_tracker_select): the kernel takes the shortfall at the limit
 *   kernel  none: the app ignores SIGBALLOON and the kernel's own reclaim picks what goes to swap
 *   random  resident blocks picked at random
 *   fifo    resident blocks in address order, a hand sweeping the region round and round
 * Workloads (one access reads every cache line of a 64 KiB unit):
 *   hot     scans of the first half; cyclic  scans of all of it; skew  random units, 80% of them from a
 *   scattered 20% of the units; phase  scans of the first half, then of the second half.
 * --huge maps MADV_HUGEPAGE memory (the library tracks it in 2 MiB blocks; random and fifo pick 2 MiB blocks).
 * Before the measured phase, every policy runs the same warm-up: one pass of the workload (the first half-region
 * for hot and phase, the whole region for cyclic, as many accesses as units for skew), unmeasured, with SIGBALLOONs
 * answered only when it ends, so the tracker has seen one full pass before it is asked to pick (--warmup 0: none).
 * While the workload runs, a sampler thread reads, every 100 ms, the app's resident size (RssAnon, in blocks)
 * and, with --dom DIR, the v1 cgroup's memory.usage_in_bytes; it prints their means and peaks, and DIR's memory.failcnt
 * delta over the workload (did the hard limit reclaim?), for bench_lib.sh's fair capacities and pressure check.
 * It writes the access trace at the tracker's granularity, and the blocks resident when the workload starts, to
 * --trace FILE for bench_lib_belady, and what the region held at each sample (mincore: mapped pages and pages
 * still in the swap cache, which read back without a swap-in) with the trace position it was taken at to
 * FILE.sched (bench_lib_belady --schedule: the bound on this run's own memory over time); for skew, each block's
 * probability under the workload's generator to FILE.weights (bench_lib_belady --weights: the online oracle). Prints one line of "key value" pairs.
 *   bench_lib_policy --policy P --workload W --size MIB --apps-sock PATH [--huge] [--passes N]
 *                    [--accesses N] [--margin MIB] [--tick-ms N] [--trace FILE] [--warmup 0|1] [--dom DIR]
 *                    [--late-limit BYTES]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/size.h"
#include "lib/usbd.h"

#define UNIT (64 * KIB)
#define HUGE_BLOCK (2 * MIB)
#define MAX_RANGES 4096

enum policy { P_LIB, P_KERNEL, P_RANDOM, P_FIFO, P_LIB_COLD };

static struct {
	enum policy policy;
	uint8_t *mem;
	size_t size, block;           /* block: the tracker's granularity, and random/fifo's */
	uint64_t margin;
	struct usbd_tracker *t;
	atomic_bool armed;            /* policies act only in the workload phase */
	atomic_bool warm;             /* the warm-up is over: an answer held back during it goes ahead */
	_Atomic uint64_t calls, honoured, empty;
	size_t hand;                  /* fifo */
	uint64_t rng;                 /* random (the callback thread only) */
	const char *dom;              /* cgroup dir to sample, or NULL */
	atomic_bool stop;             /* sampler */
	_Atomic size_t pos;           /* the workload's position in the trace, for the sampler */
	uint64_t samples, sum_blocks, peak_blocks, sum_usage, peak_usage; /* sampler; read after join */
	uint32_t (*sched)[2];         /* sampler: (trace position, resident blocks) at each sample */
	size_t nsched, cap_sched;
} b;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Blocks with at least one resident page, from mincore (the memory is never handed to it while protected: mincore
 * reads page tables, not the memory). Returns the count, or -errno. */
static long resident_blocks(bool *res)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), per = b.block / page, nb = b.size / b.block, i, j;
	unsigned char *v = malloc(b.size / page);
	long n = 0;

	if (!v)
		return -ENOMEM;
	if (mincore(b.mem, b.size, v) < 0) {
		free(v);
		return -errno;
	}
	for (i = 0; i < nb; i++) {
		res[i] = false;
		for (j = 0; j < per && !res[i]; j++)
			res[i] = v[i * per + j] & 1;
		n += res[i];
	}
	free(v);
	return n;
}

/* random and fifo: picks resident blocks until `want` bytes, as merged ranges. */
static size_t pick_naive(uint64_t want, struct usbd_range *r)
{
	size_t nb = b.size / b.block, n = 0, i, k;
	bool *res = calloc(nb, sizeof(*res)), *pick = calloc(nb, sizeof(*pick));
	long nres = res && pick ? resident_blocks(res) : -ENOMEM;
	uint64_t got = 0;

	for (k = 0; nres > 0 && got < want && k < 4 * nb; k++) {
		i = b.policy == P_RANDOM ? xorshift(&b.rng) % nb : (b.hand + k) % nb;
		if (!res[i] || pick[i])
			continue;
		pick[i] = true;
		got += b.block;
		if (b.policy == P_FIFO)
			b.hand = (i + 1) % nb;
	}
	for (i = 0; nres > 0 && i < nb; i++) {
		if (!pick[i])
			continue;
		if (n > 0 && (uint8_t *)r[n - 1].addr + r[n - 1].len == b.mem + i * b.block)
			r[n - 1].len += b.block;
		else if (n < MAX_RANGES)
			r[n++] = (struct usbd_range){ b.mem + i * b.block, b.block };
	}
	free(res);
	free(pick);
	return n;
}

static void on_balloon(struct usbd *h, uint64_t deficit, void *arg)
{
	static struct usbd_range r[MAX_RANGES];
	struct usbd_pageout_result res = { 0 };
	uint64_t want = deficit + b.margin;
	size_t n;
	int err;

	if (b.policy == P_KERNEL)
		return;
	/* A SIGBALLOON during the warm-up is answered when it ends (usbd signals again only after 1 s). */
	while (!atomic_load(&b.warm))
		usleep(5 * 1000);
	if (!atomic_load(&b.armed))
		return;
	if (b.policy == P_LIB) {
		err = usbd_balloon(h, b.t, want, &res);
	} else if (b.policy == P_LIB_COLD) {
		/* The tracker's cold memory only: what is short, the kernel takes at the limit. */
		n = usbd_tracker_select(b.t, want, r, MAX_RANGES);
		err = n ? usbd_pageout(h, r, n, &res) : -ENOENT;
		if (err == 0)
			usbd_tracker_mark_out(b.t, r, n);
	} else {
		n = pick_naive(want, r);
		err = n ? usbd_pageout(h, r, n, &res) : -ENOENT;
	}
	atomic_fetch_add(&b.calls, 1);
	if (err == 0) {
		atomic_fetch_add(&b.honoured, res.bytes);
	} else if (err == -ENOENT) {
		atomic_fetch_add(&b.empty, 1);
	}
}

static uint64_t read_u64(const char *dir, const char *file)
{
	char path[512];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* The process's resident anonymous memory in bytes (RssAnon: mapped pages only, so pages paged out but still in
 * the swap cache do not count, while mincore would count them), or -1. */
static long long rss_anon(void)
{
	char line[256];
	long long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

/* What the region holds without needing a swap-in to read it, in blocks (its resident pages, rounded up): mapped
 * pages, and pages paged out but still in the swap cache (mincore counts them; a touch maps them back with a minor
 * fault). */
static uint64_t held_blocks(unsigned char *vec)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), np = b.size / page, i;
	uint64_t res = 0;

	if (!vec || mincore(b.mem, b.size, vec) < 0)
		return 0;
	for (i = 0; i < np; i++)
		res += vec[i] & 1;
	return (res * page + b.block - 1) / b.block;
}

/* Samples the resident size in blocks, rounded up (and the cgroup's usage) every 100 ms until b.stop; and for the
 * schedule, what the region holds (held_blocks) at each sample. */
static void *sampler(void *arg)
{
	unsigned char *vec = malloc(b.size / (size_t)sysconf(_SC_PAGESIZE));

	(void)arg;
	while (!atomic_load(&b.stop)) {
		long long rss = rss_anon();
		if (rss >= 0) {
			uint64_t n = ((uint64_t)rss + b.block - 1) / b.block;
			uint64_t u = b.dom ? read_u64(b.dom, "memory.usage_in_bytes") : 0;
			b.samples++;
			b.sum_blocks += n;
			b.peak_blocks = n > b.peak_blocks ? n : b.peak_blocks;
			b.sum_usage += u;
			b.peak_usage = u > b.peak_usage ? u : b.peak_usage;
			if (b.nsched == b.cap_sched) {
				size_t c = b.cap_sched ? 2 * b.cap_sched : 1024;
				void *p = realloc(b.sched, c * sizeof(*b.sched));
				if (p) {
					b.sched = p;
					b.cap_sched = c;
				}
			}
			if (b.nsched < b.cap_sched) {
				b.sched[b.nsched][0] = (uint32_t)atomic_load_explicit(&b.pos, memory_order_relaxed);
				b.sched[b.nsched++][1] = (uint32_t)held_blocks(vec);
			}
		}
		usleep(100 * 1000);
	}
	free(vec);
	return NULL;
}

static uint32_t *build_trace(const char *w, uint64_t passes, uint64_t accesses, size_t *len)
{
	size_t units = b.size / UNIT, half = units / 2, n, i, k = 0;
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	uint32_t *tr;

	if (strcmp(w, "hot") == 0 || strcmp(w, "phase") == 0)
		n = passes * half;
	else if (strcmp(w, "cyclic") == 0)
		n = passes * units;
	else if (strcmp(w, "skew") == 0)
		n = accesses;
	else
		return NULL;
	if (n == 0 || n > (UINT64_C(1) << 28) || !(tr = malloc(n * sizeof(*tr))))
		return NULL;
	for (i = 0; i < n; i++) {
		if (w[0] == 'h')
			tr[k++] = (uint32_t)(i % half);
		else if (w[0] == 'c')
			tr[k++] = (uint32_t)(i % units);
		else if (w[0] == 'p')
			tr[k++] = (uint32_t)(i % half + (i < n / 2 ? 0 : half));
		else {
			/* The hot fifth is scattered (every fifth unit), so that address order says nothing. */
			uint64_t x = xorshift(&rng);
			size_t u = x % 10 < 8 ? (x >> 8) % (units / 5) * 5 : (x >> 8) % units;
			tr[k++] = (uint32_t)u;
		}
	}
	*len = k;
	return tr;
}

/* The resident-size schedule for bench_lib_belady --schedule: (position in the folded trace, resident blocks)
 * pairs, one per sample, positions ascending. */
static int write_schedule(const char *path, const uint32_t *fold)
{
	FILE *f = fopen(path, "w");
	bool ok = true;

	if (!f)
		return -errno;
	for (size_t k = 0; ok && k < b.nsched; k++) {
		uint32_t v[2] = { fold[k], b.sched[k][1] };
		ok = fwrite(v, 4, 2, f) == 2;
	}
	if (fclose(f) != 0 || !ok)
		return -EIO;
	return 0;
}

/* For the skew workload, the probability its generator (build_trace) gives each block, for bench_lib_belady's
 * online oracle (--weights). Other workloads are loops, not independent accesses: no file. */
static int write_weights(const char *path, const char *wl)
{
	size_t units = b.size / UNIT, per = b.block / UNIT, nb = b.size / b.block, i;
	double *w = calloc(nb, sizeof(*w));
	FILE *f;
	bool ok;

	if (strcmp(wl, "skew") != 0) {
		free(w);
		return 0;
	}
	if (!w || !(f = fopen(path, "w"))) {
		free(w);
		return -ENOMEM;
	}
	for (i = 0; i < units; i++)
		w[i / per] += 0.2 / (double)units + (i % 5 == 0 && i / 5 < units / 5 ? 0.8 / (double)(units / 5) : 0);
	ok = fwrite(w, sizeof(*w), nb, f) == nb;
	free(w);
	return fclose(f) == 0 && ok ? 0 : -EIO;
}

/* The trace at block granularity for bench_lib_belady: nblocks, ninit, the blocks resident at the start, the
 * accesses with repeats of the same block folded; and PATH.sched, the resident-size schedule on that trace. */
static int write_trace(const char *path, const uint32_t *tr, size_t n, const bool *res)
{
	uint32_t nb = (uint32_t)(b.size / b.block), per = (uint32_t)(b.block / UNIT), ninit = 0, last = UINT32_MAX;
	uint32_t *fold = calloc(b.nsched + 1, sizeof(*fold)), nf = 0;
	FILE *f = fopen(path, "w");
	char spath[4096];
	size_t i, k = 0;
	bool ok;

	if (!f || !fold) {
		if (f)
			fclose(f);
		free(fold);
		return f ? -ENOMEM : -errno;
	}
	for (i = 0; i < nb; i++)
		ninit += res[i];
	ok = fwrite(&nb, 4, 1, f) == 1 && fwrite(&ninit, 4, 1, f) == 1;
	for (i = 0; ok && i < nb; i++)
		if (res[i]) {
			uint32_t v = (uint32_t)i;
			ok = fwrite(&v, 4, 1, f) == 1;
		}
	for (i = 0; ok && i < n; i++) {
		uint32_t blk = tr[i] / per;
		for (; k < b.nsched && b.sched[k][0] <= i; k++)
			fold[k] = nf;
		if (blk != last) {
			ok = fwrite(&blk, 4, 1, f) == 1;
			nf++;
		}
		last = blk;
	}
	for (; k < b.nsched; k++)
		fold[k] = nf;
	if (fclose(f) != 0 || !ok) {
		free(fold);
		return -EIO;
	}
	snprintf(spath, sizeof(spath), "%s.sched", path);
	ok = write_schedule(spath, fold) == 0;
	free(fold);
	return ok ? 0 : -EIO;
}

static uint64_t vmstat(const char *key)
{
	char k[64];
	unsigned long long v;
	uint64_t out = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fscanf(f, "%63s %llu", k, &v) == 2)
		if (strcmp(k, key) == 0)
			out = v;
	if (f)
		fclose(f);
	return out;
}

static const char *const policies[] = { "lib", "kernel", "random", "fifo", "lib-cold", "lib-late" };

static int connect_usbd(const char *sock, struct usbd **h)
{
	int err;

	if ((err = usbd_open(sock, h)) || (err = usbd_register(*h))) {
		fprintf(stderr, "usbd: %s\n", strerror(-err));
		return -1;
	}
	usbd_set_callback(*h, on_balloon, NULL);
	return usbd_start_thread(*h) ? -1 : 0;
}

/* Lowers the domain's limit back once the app is registered: the kernel must reclaim the excess, from the
 * registered app's memory (nothing else may swap). Tries for 10 s; returns the tries it took, or -1. */
static int lower_limit(uint64_t limit)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", b.dom);
	for (int i = 1; i <= 100; i++) {
		FILE *f = fopen(path, "w");
		bool ok = f && fprintf(f, "%llu\n", (unsigned long long)limit) > 0;
		if (f && fclose(f) != 0)
			ok = false;
		if (ok)
			return i;
		usleep(100 * 1000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", 1, NULL, 'p' }, { "workload", 1, NULL, 'w' }, { "size", 1, NULL, 's' },
		{ "apps-sock", 1, NULL, 'a' }, { "huge", 0, NULL, 'H' }, { "passes", 1, NULL, 'n' },
		{ "accesses", 1, NULL, 'x' }, { "margin", 1, NULL, 'm' }, { "tick-ms", 1, NULL, 'k' },
		{ "trace", 1, NULL, 'T' }, { "warmup", 1, NULL, 'W' }, { "dom", 1, NULL, 'D' },
		{ "late-limit", 1, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *wl = "hot", *sock = NULL, *trace = NULL;
	uint64_t passes = 20, accesses = 0, t0, scan_ns, in0, out0, sig0, fail0, sum = 0;
	bool warmup = true, late = false;
	uint64_t late_limit = 0;
	int late_tries = 0;
	size_t nwarm = 0;
	pthread_t smp;
	unsigned tick = 250;
	bool huge = false, *res;
	struct usbd_tracker_stats ts = { 0 };
	struct rusage r0, r1;
	struct usbd *h;
	uint32_t *tr;
	size_t n = 0, i, j;
	uint8_t *raw;
	int c, err;

	b.size = 512 * MIB;
	b.margin = 32 * MIB;
	b.rng = 0x9e3779b97f4a7c15ULL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			for (i = 0; i < 6 && strcmp(optarg, policies[i]); i++)
				;
			if (i == 6)
				return 2;
			late = i == 5;
			b.policy = late ? P_LIB : (enum policy)i;
			break;
		case 'w': wl = optarg; break;
		case 's': b.size = strtoull(optarg, NULL, 10) * MIB; break;
		case 'a': sock = optarg; break;
		case 'H': huge = true; break;
		case 'n': passes = strtoull(optarg, NULL, 10); break;
		case 'x': accesses = strtoull(optarg, NULL, 10); break;
		case 'm': b.margin = strtoull(optarg, NULL, 10) * MIB; break;
		case 'k': tick = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': trace = optarg; break;
		case 'W': warmup = strtoul(optarg, NULL, 10) != 0; break;
		case 'D': b.dom = optarg; break;
		case 'L': late_limit = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	b.block = huge ? HUGE_BLOCK : UNIT;
	if (b.size < 2 * HUGE_BLOCK || b.size % HUGE_BLOCK) {
		fprintf(stderr, "--size: a multiple of 2 MiB, at least 4 MiB\n");
		return 2;
	}
	if (late_limit && (!late || !b.dom)) {
		fprintf(stderr, "--late-limit: with --policy lib-late and --dom\n");
		return 2;
	}
	/* Registered before allocating (on v1 the charges then land in the registered-apps cgroup), or, lib-late,
	 * after the fill. */
	if (!late && connect_usbd(sock, &h) < 0)
		return 1;
	tr = build_trace(wl, passes, accesses, &n);
	res = calloc(b.size / b.block, sizeof(*res));
	raw = mmap(NULL, b.size + HUGE_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!tr || !res || raw == MAP_FAILED) {
		fprintf(stderr, "bad workload or out of memory\n");
		return 2;
	}
	b.mem = (uint8_t *)round_up((uintptr_t)raw, HUGE_BLOCK);
	if (madvise(b.mem, b.size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
		return 1;
	memset(b.mem, 1, b.size);
	if (late && connect_usbd(sock, &h) < 0)
		return 1;
	if ((b.policy == P_LIB || b.policy == P_LIB_COLD) &&
	    ((err = usbd_tracker_new(&b.t, NULL)) || (err = usbd_tracker_add(b.t, b.mem, b.size, huge ? USBD_TRACK_HUGE : 0)) ||
	     (err = usbd_tracker_start(b.t, tick)))) {
		fprintf(stderr, "tracker: %s\n", strerror(-err));
		return 1;
	}
	/* Written back once the region is tracked: registered after the fill, the library re-charged it as it added it,
	 * so the kernel may now swap it to get under the limit. */
	if (late_limit && (late_tries = lower_limit(late_limit)) < 0) {
		fprintf(stderr, "%s: cannot lower the limit to %llu: %s\n", b.dom, (unsigned long long)late_limit,
			strerror(errno));
		return 3;
	}
	/* The warm-up pass: the same for every policy, unmeasured, SIGBALLOONs not yet answered. */
	if (warmup)
		nwarm = wl[0] == 'h' || wl[0] == 'p' ? b.size / UNIT / 2 : b.size / UNIT;
	for (i = 0; i < nwarm && i < n; i++) {
		const volatile uint64_t *p = (const uint64_t *)(b.mem + (size_t)tr[i] * UNIT);
		for (j = 0; j < UNIT / 8; j += 8)
			sum += p[j];
	}
	/* The trace array itself was written long ago and may have been swapped out while the region was written:
	 * read it through now, so that the workload's swap-ins are the region's, not the bench's own. */
	for (i = 0; i < n; i++)
		sum += tr[i];
	if (resident_blocks(res) < 0)
		return 1;
	fail0 = b.dom ? read_u64(b.dom, "memory.failcnt") : 0;
	if (pthread_create(&smp, NULL, sampler, NULL) != 0)
		return 1;
	getrusage(RUSAGE_SELF, &r0);
	in0 = vmstat("pswpin");
	out0 = vmstat("pswpout");
	sig0 = usbd_sigballoon_count();
	atomic_store(&b.armed, true);
	atomic_store(&b.warm, true);
	t0 = clock_ns();
	for (i = 0; i < n; i++) {
		const volatile uint64_t *p = (const uint64_t *)(b.mem + (size_t)tr[i] * UNIT);
		atomic_store_explicit(&b.pos, i, memory_order_relaxed);
		for (j = 0; j < UNIT / 8; j += 8)
			sum += p[j];
	}
	scan_ns = clock_ns() - t0;
	atomic_store(&b.armed, false);
	atomic_store(&b.stop, true);
	pthread_join(smp, NULL);
	if (b.samples == 0)
		b.samples = 1;
	getrusage(RUSAGE_SELF, &r1);
	if (b.t)
		usbd_tracker_stats(b.t, &ts);
	printf("policy %s workload %s%s size_mib %zu scan_ms %.0f pswpin %llu pswpout %llu majflt %ld signals %llu "
	       "calls %llu honoured_mib %llu empty %llu faults %llu ticks %llu tick_ms %.1f mean_blocks %llu "
	       "peak_blocks %llu mean_usage_mib %llu peak_usage_mib %llu failcnt %llu warmup %zu late_tries %d "
	       "check %llu\n",
	       late ? "lib-late" : policies[b.policy], wl, huge ? "-thp" : "", b.size >> 20, scan_ns / 1e6,
	       (unsigned long long)(vmstat("pswpin") - in0), (unsigned long long)(vmstat("pswpout") - out0),
	       r1.ru_majflt - r0.ru_majflt, (unsigned long long)(usbd_sigballoon_count() - sig0),
	       (unsigned long long)atomic_load(&b.calls), (unsigned long long)(atomic_load(&b.honoured) >> 20),
	       (unsigned long long)atomic_load(&b.empty), (unsigned long long)ts.faults,
	       (unsigned long long)ts.ticks, ts.tick_ns / 1e6, (unsigned long long)(b.sum_blocks / b.samples),
	       (unsigned long long)b.peak_blocks, (unsigned long long)((b.sum_usage / b.samples) >> 20),
	       (unsigned long long)(b.peak_usage >> 20),
	       (unsigned long long)(b.dom ? read_u64(b.dom, "memory.failcnt") - fail0 : 0), nwarm, late_tries,
	       (unsigned long long)(sum & 0xff));
	fflush(stdout);
	usbd_tracker_free(b.t);
	usbd_close(h);
	if (trace) {
		char wpath[4096];
		snprintf(wpath, sizeof(wpath), "%s.weights", trace);
		if ((err = write_weights(wpath, wl)) == 0)
			err = write_trace(trace, tr, n, res);
	}
	if (trace && err) {
		fprintf(stderr, "%s: %s\n", trace, strerror(-err));
		return 1;
	}
	free(b.sched);
	return 0;
}
