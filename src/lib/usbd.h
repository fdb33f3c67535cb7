/*
 * usbd.h — libusbd, application-level ballooning for usbd (see usbd(3) and docs/LIBUSBD.md).
 *
 * An application registers with the usbd daemon, receives SIGBALLOON (a real-time signal) while the domain's
 * free memory is below the daemon's threshold, picks its own cold memory with the access tracker, and asks the
 * daemon to page it out. Only registered applications may be swapped.
 *
 *	struct usbd *h;
 *	struct usbd_tracker *t;
 *	usbd_open(NULL, &h);
 *	usbd_register(h);
 *	usbd_tracker_new(&t, NULL);
 *	usbd_tracker_add(t, buf, len, 0);
 *	usbd_tracker_start(t, 0);
 *	usbd_set_callback(h, on_balloon, t);    // on_balloon(h, deficit, t) calls usbd_balloon(h, t, deficit, &r)
 *	usbd_start_thread(h);
 *
 * Return contract: functions returning int return 0 (or a non-negative value where stated) on success and
 * -errno on failure; each function lists every code it returns, and each code has one meaning there. Talking to
 * the daemon (usbd_register, usbd_unregister, usbd_pageout, usbd_balloon) can also fail with
 *   -ECONNRESET  the daemon closed the connection (it exited, or dropped this app after a malformed message);
 *   -ETIMEDOUT   no reply within 10 s;
 *   -EPROTO      a reply that is not a well-formed usbd reply;
 *   -ENOBUFS, -ENOMEM  the kernel lacked memory for the message.
 * Thread-safety: one handle and one tracker per process; all calls are thread-safe.
 */
#ifndef USBD_H
#define USBD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define USBD_APPS_SOCK_DEFAULT "/run/usbd/apps.sock"

/* SIGBALLOON is SIGRTMIN + USBD_SIGBALLOON_OFFSET of the application's C library; the application sends its
 * number when it registers, so the daemon signals exactly that number. */
#define USBD_SIGBALLOON_OFFSET 4
int usbd_sigballoon(void);
#define USBD_SIGBALLOON (usbd_sigballoon())

/* Why a page-out request was refused (0: honoured). The numbers are part of the wire protocol. */
enum usbd_reason {
	USBD_REASON_OK = 0,
	USBD_REASON_ABOVE_THRESHOLD = 1,  /* free memory is not below the threshold: nothing was done */
	USBD_REASON_NOT_OWNED = 2,        /* a range is not inside the caller's own private mappings */
	USBD_REASON_UNALIGNED = 3,        /* a range's address or length is not page-aligned, or is empty */
	USBD_REASON_TOO_MANY = 4,         /* more ranges than one request carries */
	USBD_REASON_TOO_LARGE = 5,        /* a request larger than the daemon's per-request limit */
	USBD_REASON_NOT_REGISTERED = 6,   /* register first */
	USBD_REASON_BAD_REQUEST = 7,      /* a malformed or unknown message, a wrong protocol version */
	USBD_REASON_FAILED = 8,           /* the daemon failed: process_madvise, or reading the caller's maps
	                                     (status -EIO; the message says which, with the errno) */
	USBD_REASON_REFUSED = 9,          /* registration refused (not in the domain, too many apps, ...) */
};

struct usbd_range {
	void *addr;     /* page-aligned */
	size_t len;     /* a multiple of the page size, > 0 */
};

struct usbd_pageout_result {
	int status;                 /* 0, or the -errno usbd_pageout() returned */
	enum usbd_reason reason;
	uint64_t bytes;             /* bytes the kernel advised */
	uint64_t free_bytes;        /* the domain's free memory and the threshold when the daemon decided */
	uint64_t threshold_bytes;
	char message[96];           /* the reason for people */
};

struct usbd;

/* Connects to the daemon (sock_path NULL: USBD_APPS_SOCK_DEFAULT) and installs the SIGBALLOON handler.
 * -ENAMETOOLONG the path does not fit a Unix socket address; -EBUSY the process already has a handle;
 * -ENOENT no socket at that path; -ECONNREFUSED a socket nobody listens on; -EACCES no permission for it;
 * -EMFILE/-ENFILE out of file descriptors; -ENOMEM out of memory. */
int usbd_open(const char *sock_path, struct usbd **out);
/* Registers the calling process: the daemon moves it into its registered-apps cgroup, where its memory may be
 * swapped, and signals it while free memory is low. -EPERM when the daemon refuses
 * (it logs why: not inside the domain, too many apps); -EINVAL the daemon does not speak this protocol version
 * (it then closes the connection); or a daemon error above. usbd_unregister returns 0, -EINVAL or those.
 * Registering after the memory was filled is safe: what was charged before stays with the cgroup the process left
 * (where nothing swaps), and regions tracked from then on (usbd_tracker_add) are re-charged first: copied into
 * fresh pages charged where the process now is. Memory not tracked, or tracked before registering, stays where it
 * was charged: the kernel's reclaim cannot take it, usbd_pageout() can. */
int usbd_register(struct usbd *h);
int usbd_unregister(struct usbd *h);
/* Unregisters if needed, disconnects, restores the previous SIGBALLOON disposition, frees h (NULL is fine). The
 * callback may close its handle, even on the library's thread: h is then freed, and that thread ends, once the
 * callback returns (h must not be used after usbd_close either way). */
void usbd_close(struct usbd *h);

/* SIGBALLOONs received since usbd_open. Async-signal-safe. */
uint64_t usbd_sigballoon_count(void);

/*
 * The callback runs outside signal context, once per batch of SIGBALLOONs, with the deficit the last signal
 * reported (threshold - free, bytes; 0 if unknown). Either usbd_start_thread() runs it on a library thread, or
 * the application polls usbd_event_fd() (readable after a SIGBALLOON) and calls usbd_dispatch().
 */
typedef void (*usbd_callback)(struct usbd *h, uint64_t deficit_bytes, void *arg);
void usbd_set_callback(struct usbd *h, usbd_callback cb, void *arg);
int usbd_event_fd(const struct usbd *h);
/* Consumes pending SIGBALLOONs and runs the callback once if any were pending. Returns 1 if it ran, else 0. */
int usbd_dispatch(struct usbd *h);
/* -EALREADY the thread runs already; -EAGAIN the system cannot create a thread now. */
int usbd_start_thread(struct usbd *h);

/*
 * Asks the daemon to page out ranges of the caller's own memory (MADV_PAGEOUT). Honoured only while the
 * domain's free memory is below the threshold. Returns 0 (res->bytes advised), or
 *   -EAGAIN  free memory is not below the threshold (nothing done; the next SIGBALLOON says when to ask);
 *   -EFAULT  a range is not inside the caller's own private mappings;
 *   -EINVAL  an invalid request: n is 0, a range is empty or unaligned, more ranges or bytes than the daemon
 *            takes in one request (64 ranges per message, which the library splits; 1 GiB), or a message the
 *            daemon did not understand;
 *   -EPERM   not registered;
 *   -EIO     the daemon failed to carry it out: process_madvise failed, or it could not read the caller's
 *            /proc/PID/maps consistently (res->message says which, with the errno);
 * or a daemon error above. res (may be NULL) is filled whenever the daemon answered; a list longer than one
 * message stops at the first refusal, and res->bytes counts what the earlier messages advised.
 */
int usbd_pageout(struct usbd *h, const struct usbd_range *r, size_t n, struct usbd_pageout_result *res);

/*
 * Access tracker: protection-based sampling under a cost budget. Adding a region protects it PROT_NONE; the first
 * touch of a block faults into the library's SIGSEGV handler, which records when it happened and gives the
 * block back its protection. Blocks that stay protected are provably idle; ticks protect touched blocks again
 * (re-arm them), the longest-touched first, as far as the budget allows: the tracker measures what one fault
 * costs at start (a scratch buffer, protected and read through) and keeps faults x that cost plus its ticks'
 * own time under budget_permille of wall time, so where faults are cheap it re-arms every touched block each
 * tick and where they are dear (a shadow-paging hypervisor) it re-arms fewer. Tracked memory must be private
 * anonymous PROT_READ|PROT_WRITE memory that is not handed to system calls (the kernel reports EFAULT instead
 * of faulting).
 */
#define USBD_TRACK_HUGE 1u      /* a MADV_HUGEPAGE region: 2 MiB blocks, so huge pages are paged out whole */

struct usbd_tracker_config {
	size_t block_bytes;         /* tracking granularity of ordinary regions (0: 64 KiB; a power of two, at least
	                               a page), the finest: see usbd_tracker_add for larger regions */
	unsigned budget_permille;   /* share of wall time the tracker may cost, in 1/1000 (0: 20, i.e. 2%);
	                               >= 1000: no budget, every tick re-arms every touched block */
};

struct usbd_tracker_stats {
	uint64_t blocks, tracked_bytes, out_bytes;
	uint64_t faults, ticks;
	uint64_t tick_ns;           /* total time spent in ticks (re-arming) */
	uint64_t rearmed;           /* blocks re-armed by ticks */
	uint64_t armed_blocks;      /* blocks protected now (untouched since last armed) */
	uint64_t fault_cost_ns;     /* the calibrated cost of one fault (the first region's blocks) */
	uint64_t cost_ns;           /* estimated cost so far: faults x calibrated cost + tick_ns */
	uint64_t handler_ns;        /* time measured inside the fault handler (part of the fault cost) */
};

struct usbd_tracker;

/* -EINVAL block_bytes is not a power of two of at least a page; -EBUSY another tracker exists in the process;
 * -ENOMEM out of memory. */
int usbd_tracker_new(struct usbd_tracker **out, const struct usbd_tracker_config *cfg);
/*
 * Tracks [addr, addr+len) (page-aligned; any size). The blocks are block_bytes (or 2 MiB with USBD_TRACK_HUGE),
 * doubled as often as needed to keep the region within its share of the tracker's table: at most 32 768 blocks
 * per region, minus those earlier regions use, 16 blocks kept for every region slot still free. So 2 GiB alone
 * has 64 KiB blocks, 4 GiB 128 KiB, 64 GiB 2 MiB; usbd_tracker_stats() reports the blocks. The tracker's memory
 * (under 100 bytes a block, ~3 MB at most) and a tick's cost (a pass over the blocks) stay bounded; a fault on
 * a larger block costs more (more pages re-touched), and the budget pays for it as calibrated.
 * After usbd_register() of a process that had memory resident, the region is re-charged first (see there): every
 * touch of it waits until that is done (about a second per GiB).
 * -EINVAL addr or len not page-aligned, len 0, the range wraps, or unknown flags; -EFAULT a part of the range is
 * not mapped; -EEXIST it overlaps a region tracked already; -ENOSPC 16 regions are tracked already; -ENOMEM out
 * of memory, or of mappings (vm.max_map_count) to protect it. A refused range is left as it was.
 */
int usbd_tracker_add(struct usbd_tracker *t, void *addr, size_t len, unsigned flags);
/* One tick: charges the faults since the last tick to the budget, then re-arms touched blocks, the longest-touched
 * first, as far as the budget allows (all of them with no budget), folding each one's touch into its history.
 * -ENOMEM the kernel could not protect a block again (out of memory or of mappings; or tracked memory was
 * unmapped, which it must not be): that block stays open until a later tick. */
int usbd_tracker_tick(struct usbd_tracker *t);
/* Ticks on a library thread every interval_ms (0: 500). -EALREADY it runs already; -EAGAIN the system cannot
 * create a thread now. */
int usbd_tracker_start(struct usbd_tracker *t, unsigned interval_ms);
/*
 * Picks `bytes` of the coldest memory (rounded up to whole blocks; less if not that much is cold): blocks still
 * protected (untouched since last armed; if it was ever touched, armed at least 1 s ago), ranked by their estimated access rate (faults seen per second armed,
 * decayed with a 16 s half-life: frequency and recency together), preferring long contiguous cold runs; blocks
 * already paged out are skipped. A region just added is not ranked yet: until it has been watched 2 s and, in the
 * last second, no block of it was touched for the first time or fewer than 1 in 16 of the blocks seen touched so
 * far were (or 8 s have passed), its blocks never seen touched are never picked, by this function or by
 * usbd_tracker_pick().
 * Returns the number of ranges stored (at most max), merged where adjacent.
 */
size_t usbd_tracker_select(struct usbd_tracker *t, uint64_t bytes, struct usbd_range *out, size_t max);
/*
 * usbd_tracker_select() with flags. USBD_PICK_HOT: when the cold memory does not cover `bytes`, the rest is taken
 * from memory in use: first blocks protected again lately and untouched since (the longest protected first), then
 * blocks touched since they were protected, the longest since the tracker last saw them touched first (LRU on what
 * it saw: after a phase shift, the old phase's memory), or, when the tracker saw LRU's victims come back sooner
 * than the most recently seen ones (a loop larger than memory), the most recently seen first.
 */
#define USBD_PICK_HOT 1u
size_t usbd_tracker_pick(struct usbd_tracker *t, uint64_t bytes, unsigned flags, struct usbd_range *out, size_t max);
/* Remembers ranges as paged out until they are touched again, and protects them so that the next touch is seen
 * (usbd_balloon does this itself). */
void usbd_tracker_mark_out(struct usbd_tracker *t, const struct usbd_range *r, size_t n);
void usbd_tracker_stats(struct usbd_tracker *t, struct usbd_tracker_stats *out);
/*
 * Stops the thread, unprotects everything, restores the previous SIGSEGV handler, frees t (NULL is fine). Free it
 * only once no callback can be running with it: after usbd_close(), which joins the dispatcher thread (or, when
 * the callback closed the handle itself, once that callback has returned).
 */
void usbd_tracker_free(struct usbd_tracker *t);

/* The few-lines answer to a SIGBALLOON: wait until the tracker has ranked every region (at most 10 s; see
 * usbd_tracker_select), pick `bytes` (cold memory first; when that is not enough, memory in use,
 * as USBD_PICK_HOT), page it out, mark it. Returns what usbd_pageout() returns, or -ENOENT
 * when nothing is left that is not already paged out (nothing is sent). */
int usbd_balloon(struct usbd *h, struct usbd_tracker *t, uint64_t bytes, struct usbd_pageout_result *res);

#ifdef __cplusplus
}
#endif

#endif
