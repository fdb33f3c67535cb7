/*
 * lib_classic_app: the classic application-level ballooning exercise, written against <usbd.h> as a new user
 * would. It maps SIZE, fills it with known values, registers (after the fill by default, the exercise's own order;
 * --register before: first), tracks the region, answers SIGBALLOON with usbd_balloon() and scans the first half
 * again and again (read-modify-write: each word holds its value plus the number of passes over it), checking
 * every value it reads.
 *   lib_classic_app --size SIZE --register after|before [--apps-sock PATH] [--status FILE] [--margin SIZE]
 * The first answer is measured: right after usbd_balloon() returns, /proc/self/pagemap tells how many pages of
 * each half are swapped out (a swap entry in place of the page: out, even while the page still sits in the swap
 * cache). It prints "first answer: ... hot N pages out, cold M pages out". A hot page the scan read back between
 * the page-out and that read is not counted, so N can only undercount; a wrong pick takes thousands.
 * On SIGUSR1 it stops, checks every word of both halves and exits: 0 if all held, 4 on a wrong value, 1 on errors.
 * The status file (rewritten after every pass): "signals N", "calls N", "honoured BYTES", "passes N",
 * "first_hot PAGES", "first_cold PAGES" (-1 until the first answer was honoured).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/size.h"
#include "lib/usbd.h"

#define SEED UINT64_C(0x9e3779b97f4a7c15)
#define PM_SWAPPED (UINT64_C(1) << 62)

static volatile sig_atomic_t finish;
static _Atomic uint64_t calls, honoured;
static _Atomic int64_t first_hot = -1, first_cold = -1;
static uint64_t *mem;
static size_t mem_len;
static struct timespec t_ready;

/* Seconds since the app was ready. */
static double since_ready(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t_ready.tv_sec) + (now.tv_nsec - t_ready.tv_nsec) / 1e9;
}

static uint64_t value_at(size_t word) { return (word + 1) * SEED ^ (word >> 9); }

static void on_usr1(int sig) { (void)sig; finish = 1; }

/* Pages of [p, p + len) whose page table entry is a swap entry now. -1 if pagemap cannot be read. */
static int64_t swapped_pages(const void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = len / page, done = 0;
	uint64_t buf[4096];
	int64_t out = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (done < n) {
		size_t k = n - done < 4096 ? n - done : 4096;
		off_t at = (off_t)(((uintptr_t)p / page + done) * sizeof(uint64_t));
		if (pread(fd, buf, k * sizeof(uint64_t), at) != (ssize_t)(k * sizeof(uint64_t))) {
			close(fd);
			return -1;
		}
		for (size_t i = 0; i < k; i++)
			out += (buf[i] & PM_SWAPPED) != 0;
		done += k;
	}
	close(fd);
	return out;
}

struct answer {
	struct usbd_tracker *t;
	uint64_t margin;
};

static void on_balloon(struct usbd *h, uint64_t deficit, void *arg)
{
	struct answer *a = arg;
	struct usbd_pageout_result res;
	int err = usbd_balloon(h, a->t, deficit + a->margin, &res);
	int64_t hot = -1, cold = -1;

	if (err == 0 && atomic_load(&first_hot) < 0) {
		hot = swapped_pages(mem, mem_len / 2);
		cold = swapped_pages((char *)mem + mem_len / 2, mem_len / 2);
		atomic_store(&first_cold, cold);
		atomic_store(&first_hot, hot);
	}
	atomic_fetch_add(&calls, 1);
	if (err == 0)
		atomic_fetch_add(&honoured, res.bytes);
	printf("balloon: %.1f s after ready, deficit %llu MiB -> %s (%s, %llu bytes)\n", since_ready(),
	       (unsigned long long)(deficit >> 20), err == 0 ? "paged out" : strerror(-err), res.message,
	       (unsigned long long)res.bytes);
	if (hot >= 0)
		printf("first answer: %llu MiB paged out, hot %lld pages out, cold %lld pages out\n",
		       (unsigned long long)(res.bytes >> 20), (long long)hot, (long long)cold);
	fflush(stdout);
}

static void write_status(const char *path, uint64_t passes)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "signals %llu\ncalls %llu\nhonoured %llu\npasses %llu\nfirst_hot %lld\nfirst_cold %lld\n",
		(unsigned long long)usbd_sigballoon_count(), (unsigned long long)atomic_load(&calls),
		(unsigned long long)atomic_load(&honoured), (unsigned long long)passes,
		(long long)atomic_load(&first_hot), (long long)atomic_load(&first_cold));
	if (fclose(f) == 0)
		rename(tmp, path);
}

static int open_and_register(const char *sock, struct usbd **h)
{
	int err = usbd_open(sock, h);

	if (err == 0 && (err = usbd_register(*h)) < 0)
		usbd_close(*h);
	if (err < 0)
		printf("register: %s\n", strerror(-err));
	else
		printf("registered\n");
	fflush(stdout);
	return err;
}

/* Checks that every word of [from, to) holds its value plus `plus`, and adds one to each when `bump`. */
static int scan(size_t from, size_t to, uint64_t plus, int bump)
{
	for (size_t w = from; w < to; w++) {
		uint64_t v = mem[w];
		if (v != value_at(w) + plus) {
			printf("CORRUPT: word %zu holds %#llx, expected %#llx\n", w, (unsigned long long)v,
			       (unsigned long long)(value_at(w) + plus));
			return -1;
		}
		if (bump)
			mem[w] = v + 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' }, { "register", required_argument, NULL, 'r' },
		{ "apps-sock", required_argument, NULL, 'a' }, { "status", required_argument, NULL, 'S' },
		{ "margin", required_argument, NULL, 'm' }, { NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *status = NULL, *when = "after";
	uint64_t size = 0, margin = 16 * MIB, passes = 0;
	struct usbd_tracker *t;
	struct usbd *h = NULL;
	struct answer ans;
	char *raw;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': if (size_parse(optarg, &size) < 0) return 2; break;
		case 'r': when = optarg; break;
		case 'a': sock = optarg; break;
		case 'S': status = optarg; break;
		case 'm': if (size_parse(optarg, &margin) < 0) return 2; break;
		default: return 2;
		}
	}
	if (size < 4 * MIB || size % (4 * MIB) || (strcmp(when, "after") && strcmp(when, "before")))
		return 2;
	signal(SIGUSR1, on_usr1);
	if (!strcmp(when, "before") && open_and_register(sock, &h) < 0)
		return 1;
	mem_len = size;
	raw = mmap(NULL, size + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 1;
	mem = (uint64_t *)round_up((uintptr_t)raw, 2 * MIB);
	for (size_t w = 0; w < size / 8; w++)
		mem[w] = value_at(w);
	printf("filled %llu MiB\n", (unsigned long long)(size >> 20));
	fflush(stdout);
	if (!strcmp(when, "after") && open_and_register(sock, &h) < 0)
		return 1;
	if (usbd_tracker_new(&t, NULL) < 0 || usbd_tracker_add(t, mem, size, 0) < 0 || usbd_tracker_start(t, 0) < 0)
		return 1;
	ans = (struct answer){ t, margin };
	clock_gettime(CLOCK_MONOTONIC, &t_ready);
	usbd_set_callback(h, on_balloon, &ans);
	if (usbd_start_thread(h) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);

	while (!finish) {
		if (scan(0, size / 16, passes, 1) < 0)
			return 4;
		write_status(status, ++passes);
	}
	write_status(status, passes);
	/* usbd_close() joins the dispatcher thread, so no callback can still be using the tracker freed next. */
	usbd_close(h);
	usbd_tracker_free(t);
	if (scan(0, size / 16, passes, 0) < 0 || scan(size / 16, size / 8, 0, 0) < 0)
		return 4;
	printf("summary: signals %llu, page-out calls %llu, honoured %llu MiB, passes %llu, all %llu MiB read back "
	       "intact\n", (unsigned long long)usbd_sigballoon_count(), (unsigned long long)atomic_load(&calls),
	       (unsigned long long)(atomic_load(&honoured) >> 20), (unsigned long long)passes,
	       (unsigned long long)(size >> 20));
	return 0;
}
