/*
 * lib_scan_app: the libusbd test app, in the spirit of the classic exercise. It registers, maps SIZE, writes it
 * all with known values, then scans its hot part (the first half, or HOT) again and again, checking every value it
 * reads. SIGBALLOON runs the library's answer (select cold blocks, page them out); nothing else in the app knows
 * about swap.
 *   lib_scan_app --size SIZE [--hot HOT] [--huge] [--apps-sock PATH] [--status FILE] [--margin SIZE] [--tick-ms N]
 * Before tracking it asks for a page-out of the cold rest: refused, nothing swapped, while free memory is above
 * the threshold. On SIGUSR1 it asks for memory it does not own (refused), reads every page back, prints the
 * summary and exits: 0 if all held, 3 if a request was wrongly honoured, 4 on a wrong value, 1 on errors.
 * The status file (rewritten after every pass): "signals N", "calls N", "honoured BYTES", "out BYTES",
 * "vmswap BYTES", "passes N", "thp BYTES".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/size.h"
#include "lib/usbd.h"

#define SEED UINT64_C(0x9e3779b97f4a7c15)

static volatile sig_atomic_t finish;
static _Atomic uint64_t calls, honoured;
static uint64_t *mem;
static size_t mem_len;

static uint64_t value_at(size_t word) { return (word + 1) * SEED ^ (word >> 9); }

static void on_usr1(int sig) { finish = 1; }

/* Reads a "Name:  N kB" field of a /proc/self file, in bytes (0 if absent). */
static uint64_t self_kb(const char *file, const char *field)
{
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(field);
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10) * KIB;
			break;
		}
	fclose(f);
	return v;
}

struct answer {
	struct usbd_tracker *t;
	uint64_t margin;        /* paged out beyond the deficit the signal reported */
};

static void on_balloon(struct usbd *h, uint64_t deficit, void *arg)
{
	struct answer *a = arg;
	struct usbd_pageout_result res;
	int err = usbd_balloon(h, a->t, deficit + a->margin, &res);

	atomic_fetch_add(&calls, 1);
	if (err == 0)
		atomic_fetch_add(&honoured, res.bytes);
	printf("balloon: deficit %llu MiB -> %s (%s, %llu bytes)\n", (unsigned long long)(deficit >> 20),
	       err == 0 ? "paged out" : strerror(-err), res.message, (unsigned long long)res.bytes);
	fflush(stdout);
}

static int check_words(size_t from, size_t to)
{
	size_t w;

	for (w = from; w < to; w++)
		if (mem[w] != value_at(w)) {
			printf("CORRUPT: word %zu holds %#llx, wrote %#llx\n", w, (unsigned long long)mem[w],
			       (unsigned long long)value_at(w));
			return -1;
		}
	return 0;
}

static void write_status(const char *path, struct usbd_tracker *t, uint64_t passes)
{
	struct usbd_tracker_stats st;
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	usbd_tracker_stats(t, &st);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "signals %llu\ncalls %llu\nhonoured %llu\nout %llu\nvmswap %llu\npasses %llu\nthp %llu\n",
		(unsigned long long)usbd_sigballoon_count(), (unsigned long long)atomic_load(&calls),
		(unsigned long long)atomic_load(&honoured), (unsigned long long)st.out_bytes,
		(unsigned long long)self_kb("/proc/self/status", "VmSwap"), (unsigned long long)passes,
		(unsigned long long)self_kb("/proc/self/smaps_rollup", "AnonHugePages"));
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* Requests that must be refused whatever the free memory: not ours, not aligned. Five pages with pages 1
 * and 4 unmapped: [0, 3) spans a hole, [2, 5) runs past the end of a mapping. */
static int foreign_requests(struct usbd *h)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct usbd_pageout_result res;
	char *p = mmap(NULL, page * 5, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct usbd_range hole = { p, page * 3 }, past = { p + 2 * page, page * 3 }, odd = { (char *)mem + 1, page };
	struct usbd_range kernel = { (void *)(uintptr_t)0xffff800000000000ull, page };
	int bad = 0;

	if (p == MAP_FAILED)
		return -1;
	munmap(p + page, page);
	munmap(p + 4 * page, page);
	bad |= usbd_pageout(h, &hole, 1, &res) != -EFAULT || res.reason != USBD_REASON_NOT_OWNED;
	printf("foreign hole: %s (free %llu MiB, threshold %llu MiB)\n", res.message,
	       (unsigned long long)(res.free_bytes >> 20), (unsigned long long)(res.threshold_bytes >> 20));
	bad |= usbd_pageout(h, &past, 1, &res) != -EFAULT || res.reason != USBD_REASON_NOT_OWNED;
	printf("foreign past the end: %s\n", res.message);
	bad |= usbd_pageout(h, &kernel, 1, &res) != -EFAULT || res.reason != USBD_REASON_NOT_OWNED;
	printf("foreign kernel: %s\n", res.message);
	bad |= usbd_pageout(h, &odd, 1, &res) != -EINVAL || res.reason != USBD_REASON_UNALIGNED;
	printf("unaligned: %s\n", res.message);
	munmap(p, page);
	munmap(p + 2 * page, page * 2);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' }, { "huge", no_argument, NULL, 'H' },
		{ "apps-sock", required_argument, NULL, 'a' }, { "status", required_argument, NULL, 'S' },
		{ "margin", required_argument, NULL, 'm' }, { "tick-ms", required_argument, NULL, 't' },
		{ "hot", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *status = NULL;
	uint64_t size = 0, hot = 0, margin = 16 * MIB, passes = 0, signals;
	unsigned tick_ms = 500;
	int c, huge = 0, err;
	struct usbd_pageout_result res;
	struct usbd_tracker *t;
	struct usbd *h;
	struct usbd_range cold;
	struct answer ans;
	char *raw;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': if (size_parse(optarg, &size) < 0) return 2; break;
		case 'H': huge = 1; break;
		case 'a': sock = optarg; break;
		case 'S': status = optarg; break;
		case 'm': if (size_parse(optarg, &margin) < 0) return 2; break;
		case 't': tick_ms = (unsigned)atoi(optarg); break;
		case 'h': if (size_parse(optarg, &hot) < 0) return 2; break;
		default: return 2;
		}
	}
	if (size < 4 * MIB || size % (4 * MIB))
		return 2;
	if (!hot)
		hot = size / 2;
	if (hot > size || hot % (2 * MIB))
		return 2;
	signal(SIGUSR1, on_usr1);
	err = usbd_open(sock, &h);
	if (err == 0)
		err = usbd_register(h);
	if (err < 0) {
		printf("register: %s\n", strerror(-err));
		return 1;
	}
	/* Register first, then allocate: the memory is charged to the registered-apps cgroup. */
	mem_len = size;
	raw = mmap(NULL, size + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 1;
	mem = (uint64_t *)round_up((uintptr_t)raw, 2 * MIB);
	if (huge && madvise(mem, size, MADV_HUGEPAGE) < 0)
		return 1;
	for (size_t w = 0; w < size / 8; w++)
		mem[w] = value_at(w);
	printf("written %llu MiB, AnonHugePages %llu MiB\n", (unsigned long long)(size >> 20),
	       (unsigned long long)(self_kb("/proc/self/smaps_rollup", "AnonHugePages") >> 20));

	cold = (struct usbd_range){ (char *)mem + hot, size - hot };
	err = usbd_pageout(h, &cold, 1, &res);
	printf("above threshold: %s (free %llu MiB, threshold %llu MiB), VmSwap %llu\n", res.message,
	       (unsigned long long)(res.free_bytes >> 20), (unsigned long long)(res.threshold_bytes >> 20),
	       (unsigned long long)self_kb("/proc/self/status", "VmSwap"));
	if (err != -EAGAIN || res.reason != USBD_REASON_ABOVE_THRESHOLD || res.bytes != 0 ||
	    self_kb("/proc/self/status", "VmSwap") != 0)
		return 3;

	if (usbd_tracker_new(&t, NULL) < 0 || usbd_tracker_add(t, mem, size, huge ? USBD_TRACK_HUGE : 0) < 0 ||
	    usbd_tracker_start(t, tick_ms) < 0)
		return 1;
	ans = (struct answer){ t, margin };
	usbd_set_callback(h, on_balloon, &ans);
	if (usbd_start_thread(h) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);

	while (!finish) {
		if (check_words(0, hot / 8) < 0)
			return 4;
		write_status(status, t, ++passes);
	}
	err = foreign_requests(h);
	fflush(stdout);
	write_status(status, t, passes);
	signals = usbd_sigballoon_count();
	/* usbd_close() joins the dispatcher thread, so no callback can still be using the tracker freed next. */
	usbd_close(h);
	usbd_tracker_free(t);
	if (check_words(0, size / 8) < 0)
		return 4;
	printf("summary: signals %llu, page-out calls %llu, honoured %llu MiB, passes %llu, all %llu MiB read back "
	       "intact\n", (unsigned long long)signals, (unsigned long long)atomic_load(&calls),
	       (unsigned long long)(atomic_load(&honoured) >> 20), (unsigned long long)passes,
	       (unsigned long long)(size >> 20));
	return err < 0 ? 3 : 0;
}
