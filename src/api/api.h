/*
 * api: the control API server — HTTP/1.1 + JSON on a Unix socket, Firecracker-compatible balloon endpoints plus
 * usbd's own /usbd/targets, /usbd/status and /metrics (docs/API.md). The server never blocks: the controller adds
 * api_server_fd() to its epoll set and calls api_server_run() when it is readable and on every tick. All state
 * lives in the controller, reached through struct api_backend; the server only checks syntax, types and ranges.
 */
#ifndef USBD_API_API_H
#define USBD_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define API_VERSION "0.1.0"
#define API_DEFAULT_SOCK "/run/usbd/usbd.sock"
/* Size of the err buffer handed to every backend callback; longer messages are truncated. */
#define API_ERR_LEN 512
/* Largest MiB value accepted anywhere: its byte count still fits in 64 bits. */
#define API_MIB_MAX (UINT64_MAX >> 20)

/* Firecracker's balloon configuration (GET/PUT /balloon). */
struct api_balloon {
	uint32_t amount_mib;			/* both grab bounds, in MiB */
	bool deflate_on_oom;
	uint16_t stats_polling_interval_s;	/* 0: statistics off */
	bool free_page_hinting;			/* always false: usbd has no guest driver to hint or report to */
	bool free_page_reporting;
};

/* GET /balloon/statistics, Firecracker's names; the domain's counters since boot. */
struct api_balloon_stats {
	uint64_t target_pages;			/* 4 KiB pages */
	uint64_t actual_pages;
	uint64_t target_mib;
	uint64_t actual_mib;
	uint64_t swap_in_bytes;
	uint64_t swap_out_bytes;
	uint64_t major_faults;
	uint64_t minor_faults;
	uint64_t free_memory_bytes;
	uint64_t total_memory_bytes;
	uint64_t available_memory_bytes;
	uint64_t disk_caches_bytes;
	uint64_t hugetlb_allocations;
	uint64_t hugetlb_failures;
	uint64_t oom_kill;
	uint64_t alloc_stall;
	uint64_t async_scan_bytes;
	uint64_t direct_scan_bytes;
	uint64_t async_reclaim_bytes;
	uint64_t direct_reclaim_bytes;
};

/* GET/PATCH /usbd/targets. */
struct api_targets {
	uint64_t grab_lower_mib;
	uint64_t grab_upper_mib;
	uint64_t swap_target_mib;
	uint64_t headroom_mib;
	uint64_t threshold_mib;
};

/* Which api_targets fields a PATCH /usbd/targets carries. */
enum api_target_field {
	API_TARGET_GRAB_LOWER = 1u << 0,
	API_TARGET_GRAB_UPPER = 1u << 1,
	API_TARGET_SWAP_TARGET = 1u << 2,
	API_TARGET_HEADROOM = 1u << 3,
	API_TARGET_THRESHOLD = 1u << 4,
};

enum api_pressure { API_PRESSURE_NONE, API_PRESSURE_MEDIUM, API_PRESSURE_CRITICAL };

enum api_deflation_reason {
	API_DEFLATION_UPPER,		/* grab above the upper bound */
	API_DEFLATION_APP_GROWTH,	/* free memory fell under the headroom */
	API_DEFLATION_MEDIUM,		/* medium domain pressure */
	API_DEFLATION_CRITICAL,		/* critical domain pressure */
	API_DEFLATION_OOM,		/* an OOM event in the domain */
	API_DEFLATION_RECLAIMED,	/* reclaimable mode: the kernel dropped balloon pages by itself */
	API_DEFLATION_REASONS
};

/*
 * A spot store's figures (one set per store; per tenant once tenants exist). The counters count since the balloon
 * worker started: a restarted worker starts them from 0 again.
 */
struct api_spot {
	uint64_t used_bytes;		/* gauge: bytes of item slots in use (keys, values, headers) */
	uint64_t keys;			/* gauge */
	uint64_t clients;		/* gauge: connected now */
	uint64_t commands;		/* commands received, refused ones included */
	uint64_t hits, misses;		/* keys found and not found by read commands (GET, MGET, EXISTS, HGET ...) */
	uint64_t evictions;		/* keys evicted to make room for new ones */
	uint64_t lost_keys;		/* keys lost because the balloon deflated under them */
	uint64_t lost_bytes;		/* the bytes those keys held */
	uint64_t quota_bytes;		/* per user only: its quota (0: none) */
	uint64_t quota_refused;		/* per user only: writes refused by its quota */
};

/* One spot user's figures (the default user, then the tenants). */
struct api_spot_user {
	char name[64];			/* NUL-terminated, not empty, unique */
	struct api_spot spot;
};
#define API_SPOT_USERS_MAX 17		/* the default user and API_TENANTS_MAX tenants */

/* GET /usbd/status and GET /metrics. Strings are NUL-terminated; longer names are truncated by the backend. */
struct api_status {
	uint64_t grab_bytes;
	uint64_t swap_bytes;
	uint64_t app_usage_bytes;
	uint64_t free_bytes;
	uint64_t total_bytes;
	uint64_t grab_lower_bytes;
	uint64_t grab_upper_bytes;
	uint64_t swap_target_bytes;
	uint64_t headroom_bytes;
	uint64_t threshold_bytes;
	enum api_pressure pressure;
	bool deflate_on_oom;
	pid_t worker_pid;			/* 0: no worker running */
	uint64_t worker_restarts;
	uint64_t registered_apps;
	bool has_last_deflation;		/* false: "last_deflation": null */
	enum api_deflation_reason last_deflation_reason;
	uint64_t last_deflation_bytes;
	uint64_t last_deflation_age_ms;
	uint64_t deflations[API_DEFLATION_REASONS];	/* count per reason since start */
	char app_cgroup[256];
	char domain[256];			/* "" for the host */
	/*
	 * Where each target's value came from ("default", "config-file", "state-file", "command-line", "api"), in the
	 * order grab_lower, grab_upper, swap_target, headroom, threshold; static strings. NULL: not known, no "sources".
	 */
	const char *target_sources[5];
	/* The spot store's figures from the worker's last report; has_spot false: --spot-listen off (no metrics). */
	bool has_spot;
	struct api_spot spot;		/* the totals (deleted tenants' counters included) */
	size_t spot_nusers;		/* per user, from the same report */
	struct api_spot_user spot_users[API_SPOT_USERS_MAX];
};

/* A spot memory tenant (GET /usbd/spot/tenants, PUT and DELETE /usbd/spot/tenants/NAME). */
#define API_TENANT_NAME_LEN 64		/* with the NUL */
#define API_TENANT_PASSWORD_LEN 128	/* with the NUL */
#define API_TENANTS_MAX 16
struct api_tenant {
	char name[API_TENANT_NAME_LEN];
	char password[API_TENANT_PASSWORD_LEN];	/* PUT only; never listed */
	uint64_t quota_mib;			/* 0: none */
};

/*
 * Callbacks into the controller; ctx is passed first to each. Every callback returns 0, or a negative errno and
 * writes a human-readable reason (NUL-terminated, at most err_len bytes) to err, which the client receives as
 * {"fault_message": ...} with status 400. Setters return -EINVAL for semantic refusals (a target larger than the
 * domain, lower > upper after merging). Values reaching a setter are already syntax-, type- and range-checked.
 * Two errors need no message, because the server answers them with Firecracker's text:
 *   -ENODEV  from get_balloon and patch_balloon: the balloon does not exist (not configured yet, docs/API.md);
 *   -E2BIG   from put_balloon and patch_balloon: amount_mib is larger than the domain.
 * All callbacks must be present and must not block.
 */
struct api_backend {
	void *ctx;
	int (*get_balloon)(void *ctx, struct api_balloon *out, char *err, size_t err_len);
	/*
	 * PUT /balloon: creates the balloon or reconfigures it: both grab bounds to amount_mib, deflate_on_oom and
	 * the statistics interval. Only called with free_page_hinting and free_page_reporting false.
	 */
	int (*put_balloon)(void *ctx, const struct api_balloon *cfg, char *err, size_t err_len);
	/* PATCH /balloon: sets both grab bounds to amount_mib. */
	int (*patch_balloon)(void *ctx, uint32_t amount_mib, char *err, size_t err_len);
	/* Only called while the statistics interval is non-zero. */
	int (*get_stats)(void *ctx, struct api_balloon_stats *out, char *err, size_t err_len);
	/*
	 * PATCH /balloon/statistics: only called when the balloon exists and its interval changes from one non-zero
	 * value to another (Firecracker's rule); refreshes at once, then every interval_s.
	 */
	int (*set_stats_interval)(void *ctx, uint16_t interval_s, char *err, size_t err_len);
	int (*get_targets)(void *ctx, struct api_targets *out, char *err, size_t err_len);
	/* PATCH /usbd/targets: only the fields in mask (enum api_target_field bits, never 0) are meant. */
	int (*patch_targets)(void *ctx, const struct api_targets *t, unsigned int mask, char *err, size_t err_len);
	int (*get_status)(void *ctx, struct api_status *out, char *err, size_t err_len);
	/*
	 * Spot tenants; optional (NULL: the endpoints answer that there are none here). list fills up to
	 * API_TENANTS_MAX (passwords left empty) and sets *n; put adds a tenant or changes one's password and quota
	 * (-EINVAL with a reason for a bad name or password, -ENOSPC when there are API_TENANTS_MAX); del removes one
	 * (-ENOENT: no such tenant, with a reason).
	 */
	int (*list_tenants)(void *ctx, struct api_tenant *out, size_t *n, char *err, size_t err_len);
	int (*put_tenant)(void *ctx, const struct api_tenant *t, char *err, size_t err_len);
	int (*del_tenant)(void *ctx, const char *name, char *err, size_t err_len);
};

struct api_config {
	const char *sock_path;		/* NULL: API_DEFAULT_SOCK; ignored with vsock_port */
	unsigned int vsock_port;	/* non-zero: listen on this AF_VSOCK port (any local CID) instead */
	unsigned int vsock_peer_cid;	/* with vsock_port: the one peer CID served (others get 403); 0: the host, 2 */
	/*
	 * Unix socket: its owner; peers with this uid (and root) are served. Any other peer (or, on vsock, any other
	 * CID) is answered 403 as soon as it is accepted and never holds a connection slot.
	 */
	uid_t uid;
	bool has_gid;			/* true: socket group gid and mode 0660; false: mode 0600 */
	gid_t gid;
	/*
	 * 0: 256. When uid is not root, root and the owner may each hold all but a reserved eighth (at least one) of
	 * them; a connection beyond its uid's share is answered 503 at once.
	 */
	unsigned int max_connections;
	size_t max_body_bytes;		/* 0: 64 KiB; larger request bodies get 413 */
	size_t conn_memory_bytes;	/* 0: 32 KiB; per-connection buffer for the request line and headers */
	/*
	 * 0: 5. A connection that makes no progress for this long (nothing read from it, nothing of its answers
	 * written) is closed, also when its answers wait unsent because the client does not read them.
	 */
	unsigned int timeout_s;
};

struct api_server;

/*
 * Creates the socket (its parent directory 0755 if missing; a stale socket file is replaced) and starts serving.
 * cfg and be are copied; be->ctx must outlive the server. Returns 0 and sets *out, or -EADDRINUSE (a live server
 * answers on the path or the vsock port), -EEXIST (the path is not a socket), -ENAMETOOLONG, -EINVAL (bad
 * cfg/be), -EAFNOSUPPORT (no vsock in this kernel), -ENOMEM or another -errno from the system.
 */
int api_server_open(struct api_server **out, const struct api_config *cfg, const struct api_backend *be);
/* The one fd to watch for EPOLLIN (an epoll fd itself). */
int api_server_fd(const struct api_server *srv);
/* Accepts, reads, answers and times out connections; never blocks. */
void api_server_run(struct api_server *srv);
/*
 * Milliseconds until api_server_run must be called even without input (a connection times out): 0..1000. A
 * controller that ticks at least once a second may ignore it.
 */
int api_server_timeout_ms(struct api_server *srv);
/* Closes every connection and removes the socket file if it is still ours. NULL is allowed. */
void api_server_close(struct api_server *srv);

#endif
