/* ctl_api: the controller's backend for the control API (src/api) — reads and changes the controller's state. */
#include "control/ctl_api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "api/api.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "control/ctl_targets.h"
#include "control/ctl_tenants.h"
#include "control/state.h"
#include "sys/sd_notify.h"
#include "apps/registry.h"
#include "sys/procfs.h"

#define PAGE 4096u

static struct api_balloon_stats stats_cache;
static uint64_t stats_next_ms;
/*
 * Whether the balloon exists for the Firecracker API (docs/API.md): once configured by --grab-lower or
 * --grab-upper, the config file, a grab bound kept in the state file, a PUT /balloon, or a PATCH /usbd/targets of a
 * grab bound. Until then the balloon endpoints answer
 * as Firecracker does for a microVM without a balloon device.
 */
static bool balloon_exists;
/* The API's vsock listener (--api-vsock): a second server on the same backend and epoll tag as c->api. */
static struct api_server *vsock_api;

static struct ctl *ctl_of(void *ctx) { return ctx; }

static uint64_t to_mib(uint64_t b) { return b >> 20; }

static int get_balloon(void *ctx, struct api_balloon *out, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);

	if (!balloon_exists)
		return -ENODEV;
	out->amount_mib = (uint32_t)min_u64(to_mib(c->params.grab_lower), UINT32_MAX);
	out->deflate_on_oom = c->params.deflate_on_oom;
	out->stats_polling_interval_s = c->stats_interval_s;
	return 0;
}

/* Firecracker's rule (the guest's memory there, the domain here); the API answers -E2BIG with Firecracker's text. */
static int check_amount(struct ctl *c, uint64_t mib)
{
	return mib > to_mib(c->dom.total) ? -E2BIG : 0;
}

static void refresh_stats(struct ctl *c)
{
	struct api_balloon_stats *s = &stats_cache;
	struct vmstat vm = { 0 };
	struct cg_stat st = { 0 };
	struct meminfo mi = { 0 };

	if (vmstat_read(&vm) || meminfo_read(&mi))
		log_warn("cannot read /proc for statistics");
	if (!c->dom.host && cg_stat(&c->dom.dom, &st))
		log_warn("cannot read the domain's memory.stat for statistics");
	domain_read(&c->dom, &c->reading);
	memset(s, 0, sizeof(*s));
	s->total_memory_bytes = c->dom.total;
	s->available_memory_bytes = c->reading.free;
	/* Per-domain where the memory controller counts it; the rest is the machine's (docs/API.md). */
	if (c->dom.host) {
		s->free_memory_bytes = mi.free;
		s->disk_caches_bytes = mi.cached;
		s->major_faults = vm.pgmajfault;
		s->minor_faults = sat_sub(vm.pgfault, vm.pgmajfault);
	} else {
		s->free_memory_bytes = sat_sub(c->dom.total, c->reading.usage);
		s->disk_caches_bytes = st.file;
		s->major_faults = st.pgmajfault;
		s->minor_faults = sat_sub(st.pgfault, st.pgmajfault);
	}
	s->swap_in_bytes = vm.pswpin * PAGE;
	s->swap_out_bytes = vm.pswpout * PAGE;
	s->hugetlb_allocations = vm.htlb_buddy_alloc_success;
	s->hugetlb_failures = vm.htlb_buddy_alloc_fail;
	s->oom_kill = vm.oom_kill;
	s->alloc_stall = vm.allocstall;
	s->async_scan_bytes = vm.pgscan_kswapd * PAGE;
	s->direct_scan_bytes = vm.pgscan_direct * PAGE;
	s->async_reclaim_bytes = vm.pgsteal_kswapd * PAGE;
	s->direct_reclaim_bytes = vm.pgsteal_direct * PAGE;
	stats_next_ms = c->stats_interval_s ? clock_ms() + c->stats_interval_s * 1000u : UINT64_MAX;
}

/* Firecracker's amount sets both bounds; it goes through the same rules as every other change of the targets. */
static int set_bounds(struct ctl *c, uint64_t bytes, char *err, size_t len)
{
	struct targets t = { { [TARGET_GRAB_LOWER] = bytes, [TARGET_GRAB_UPPER] = bytes } };
	int r = targets_update(&c->tg, &t, TARGET_BIT(TARGET_GRAB_LOWER) | TARGET_BIT(TARGET_GRAB_UPPER), c->dom.total,
			       &t, err, len);

	if (!r) {
		ctl_set_targets(c, &t);
		ctl_targets_set_at_run_time(c, TARGET_BIT(TARGET_GRAB_LOWER) | TARGET_BIT(TARGET_GRAB_UPPER));
	}
	return r;
}

static int put_balloon(void *ctx, const struct api_balloon *cfg, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);
	int r = check_amount(c, cfg->amount_mib);

	if (r || (r = set_bounds(c, (uint64_t)cfg->amount_mib << 20, err, len)))
		return r;
	balloon_exists = true;
	if (c->params.deflate_on_oom != cfg->deflate_on_oom)
		c->due.oom_score = true;
	c->params.deflate_on_oom = cfg->deflate_on_oom;
	c->stats_interval_s = cfg->stats_polling_interval_s;
	if (c->stats_interval_s)
		refresh_stats(c);
	log_info("PUT /balloon: amount %u MiB, deflate_on_oom %s, statistics every %u s", cfg->amount_mib,
		 cfg->deflate_on_oom ? "true" : "false", cfg->stats_polling_interval_s);
	return 0;
}

static int patch_balloon(void *ctx, uint32_t amount_mib, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);
	int r = balloon_exists ? check_amount(c, amount_mib) : -ENODEV;

	if (r || (r = set_bounds(c, (uint64_t)amount_mib << 20, err, len)))
		return r;
	log_info("PATCH /balloon: amount %u MiB", amount_mib);
	return 0;
}

static int get_stats(void *ctx, struct api_balloon_stats *out, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);

	/* The domain's counters are sampled every interval; the balloon's own figures are always current. */
	*out = stats_cache;
	out->target_pages = c->params.grab_lower / PAGE;
	out->actual_pages = c->wk.grab / PAGE;
	out->target_mib = to_mib(c->params.grab_lower);
	out->actual_mib = to_mib(c->wk.grab);
	return 0;
}

static int set_stats_interval(void *ctx, uint16_t interval_s, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);

	c->stats_interval_s = interval_s;
	refresh_stats(c);
	return 0;
}

static int get_targets(void *ctx, struct api_targets *t, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);

	t->grab_lower_mib = to_mib(c->tg.v[TARGET_GRAB_LOWER]);
	t->grab_upper_mib = to_mib(c->tg.v[TARGET_GRAB_UPPER]);
	t->swap_target_mib = to_mib(c->tg.v[TARGET_SWAP_TARGET]);
	t->headroom_mib = to_mib(c->tg.v[TARGET_HEADROOM]);
	t->threshold_mib = to_mib(c->tg.v[TARGET_THRESHOLD]);
	return 0;
}

/* The API's field bits are the targets' (policy/targets.h): a PATCH's mask is passed on as it is. */
_Static_assert(API_TARGET_GRAB_LOWER == TARGET_BIT(TARGET_GRAB_LOWER) &&
	       API_TARGET_GRAB_UPPER == TARGET_BIT(TARGET_GRAB_UPPER) &&
	       API_TARGET_SWAP_TARGET == TARGET_BIT(TARGET_SWAP_TARGET) &&
	       API_TARGET_HEADROOM == TARGET_BIT(TARGET_HEADROOM) && API_TARGET_THRESHOLD == TARGET_BIT(TARGET_THRESHOLD),
	       "API target bits follow enum target_field");

static int patch_targets(void *ctx, const struct api_targets *t, unsigned mask, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);
	/* Values are at most API_MIB_MAX, so the shifts cannot overflow. */
	struct targets change = { {
		[TARGET_GRAB_LOWER] = t->grab_lower_mib << 20, [TARGET_GRAB_UPPER] = t->grab_upper_mib << 20,
		[TARGET_SWAP_TARGET] = t->swap_target_mib << 20, [TARGET_HEADROOM] = t->headroom_mib << 20,
		[TARGET_THRESHOLD] = t->threshold_mib << 20,
	} };
	struct targets next;
	int r = targets_update(&c->tg, &change, mask, c->dom.total, &next, err, len);

	if (r)
		return r;
	ctl_set_targets(c, &next);
	if (mask & (API_TARGET_GRAB_LOWER | API_TARGET_GRAB_UPPER))
		balloon_exists = true;
	ctl_targets_set_at_run_time(c, mask);
	log_info("targets changed: lower %llu MiB, upper %llu MiB, headroom %llu MiB, swap target %llu MiB, "
		 "threshold %llu MiB", (unsigned long long)to_mib(next.v[TARGET_GRAB_LOWER]),
		 (unsigned long long)to_mib(next.v[TARGET_GRAB_UPPER]), (unsigned long long)to_mib(next.v[TARGET_HEADROOM]),
		 (unsigned long long)to_mib(next.v[TARGET_SWAP_TARGET]),
		 (unsigned long long)to_mib(next.v[TARGET_THRESHOLD]));
	return 0;
}

static enum api_deflation_reason api_reason(enum policy_reason r)
{
	switch (r) {
	case POLICY_REASON_UPPER: return API_DEFLATION_UPPER;
	case POLICY_REASON_MEDIUM: return API_DEFLATION_MEDIUM;
	case POLICY_REASON_CRITICAL: return API_DEFLATION_CRITICAL;
	case POLICY_REASON_OOM: return API_DEFLATION_OOM;
	case POLICY_REASON_RECLAIMED: return API_DEFLATION_RECLAIMED;
	default: return API_DEFLATION_APP_GROWTH;
	}
}

static struct api_spot api_spot_of(const struct tenant_stats *t, uint64_t quota, uint64_t refused)
{
	_Static_assert(API_SPOT_USERS_MAX == TENANT_USERS_MAX && sizeof(((struct api_spot_user *)0)->name) ==
			       TENANT_NAME_MAX, "the API's per-user figures hold the worker's");
	return (struct api_spot){
		.used_bytes = t->used,
		.keys = t->keys,
		.clients = t->clients,
		.commands = t->commands,
		.hits = t->hits,
		.misses = t->misses,
		.evictions = t->evictions,
		.lost_keys = t->lost_keys,
		.lost_bytes = t->lost_bytes,
		.quota_bytes = quota,
		.quota_refused = refused,
	};
}

static int get_status(void *ctx, struct api_status *s, char *err, size_t len)
{
	struct ctl *c = ctl_of(ctx);

	memset(s, 0, sizeof(*s));
	s->grab_bytes = c->wk.grab;
	s->swap_bytes = c->reading.app_swap;
	s->app_usage_bytes = c->reading.app_usage;
	s->free_bytes = c->reading.free;
	s->total_bytes = c->dom.total;
	s->grab_lower_bytes = c->params.grab_lower;
	s->grab_upper_bytes = c->params.grab_upper;
	s->swap_target_bytes = c->tg.v[TARGET_SWAP_TARGET];
	s->headroom_bytes = c->params.headroom;
	s->threshold_bytes = c->tg.v[TARGET_THRESHOLD];
	s->pressure = c->pressure == POLICY_PRESSURE_CRITICAL ? API_PRESSURE_CRITICAL :
		      c->pressure == POLICY_PRESSURE_MEDIUM ? API_PRESSURE_MEDIUM : API_PRESSURE_NONE;
	s->deflate_on_oom = c->params.deflate_on_oom;
	s->worker_pid = c->wk.up ? c->wk.h.pid : 0;
	s->worker_restarts = c->wk.restarts;
	s->registered_apps = c->reg ? registry_count(c->reg) : 0;
	if (c->last_deflation.at_ms) {
		s->has_last_deflation = true;
		s->last_deflation_reason = api_reason(c->last_deflation.reason);
		s->last_deflation_bytes = c->last_deflation.bytes;
		s->last_deflation_age_ms = clock_ms() - c->last_deflation.at_ms;
	}
	for (int r = POLICY_REASON_UPPER; r < REASON_COUNT; r++)
		s->deflations[api_reason((enum policy_reason)r)] += c->deflations[r];
	snprintf(s->app_cgroup, sizeof(s->app_cgroup), "%.255s", c->dom.app.name);
	snprintf(s->domain, sizeof(s->domain), "%.255s", c->dom.host ? "" : c->dom.dom.name);
	for (int f = 0; f < TARGET_COUNT; f++)
		s->target_sources[f] = target_source_name(c->tg_src[f]);
	if (strcmp(c->wk.spot.listen, "off")) {
		s->has_spot = true;
		s->spot = api_spot_of(&c->wk.stats.spot, 0, 0);
		s->spot_nusers = c->wk.stats.nusers;
		for (size_t i = 0; i < s->spot_nusers; i++) {
			const struct tenant_user_stats *u = &c->wk.stats.users[i];

			memcpy(s->spot_users[i].name, u->name, sizeof(s->spot_users[i].name));
			s->spot_users[i].spot = api_spot_of(&u->s, u->quota, u->refused);
		}
	}
	return 0;
}

static const char *open_error(int r)
{
	switch (r) {
	case -EADDRINUSE: return "another server answers there";
	case -EEXIST: return "the path exists and is not a socket";
	case -EAFNOSUPPORT: return "this kernel has no vsock (AF_VSOCK): load the vsock modules, or run usbd in a "
				   "guest with a vsock device";
	case -EADDRNOTAVAIL: return "no vsock transport is available (no vsock device?)";
	default: return strerror(-r);
	}
}

/* Opens one server on cfg and adds it to the loop under TAG_API. */
static int open_server(struct ctl *c, const struct api_config *cfg, const struct api_backend *be,
		       struct api_server **srv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_API };
	int r = api_server_open(srv, cfg, be);

	if (r)
		return r;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, api_server_fd(*srv), &ev)) {
		r = -errno;
		api_server_close(*srv);
		*srv = NULL;
	}
	return r;
}

static const struct api_backend be_template = {
	.get_balloon = get_balloon, .put_balloon = put_balloon, .patch_balloon = patch_balloon,
	.get_stats = get_stats, .set_stats_interval = set_stats_interval, .get_targets = get_targets,
	.patch_targets = patch_targets, .get_status = get_status,
	.list_tenants = ctl_tenants_list, .put_tenant = ctl_tenants_put, .del_tenant = ctl_tenants_del,
};

void ctl_api_backend(struct ctl *c, struct api_backend *be)
{
	*be = be_template;
	be->ctx = c;
}

int ctl_api_open(struct ctl *c)
{
	struct api_backend be;
	struct api_config cfg = { .sock_path = c->opt.api_sock };
	struct api_config vcfg = { .vsock_port = c->opt.api_vsock_port, .vsock_peer_cid = c->opt.api_vsock_peer_cid };
	int r = 0;

	ctl_api_backend(c, &be);
	/* Configured by a flag, the config file (its balloon amount or a grab bound) or a value kept from the API. */
	balloon_exists = c->opt.balloon_section || c->tg_src[TARGET_GRAB_LOWER] != TARGET_SRC_DEFAULT ||
			 c->tg_src[TARGET_GRAB_UPPER] != TARGET_SRC_DEFAULT;
	if (strcmp(c->opt.api_sock, "off")) {
		if ((r = open_server(c, &cfg, &be, &c->api)))
			log_err("cannot open the API socket %s: %s", c->opt.api_sock, open_error(r));
		else
			log_info("control API on %s", c->opt.api_sock);
	}
	if (!r && c->opt.api_vsock_port) {
		if ((r = open_server(c, &vcfg, &be, &vsock_api)))
			log_err("cannot listen on vsock port %u for the API: %s", c->opt.api_vsock_port, open_error(r));
		else
			log_info("control API on vsock port %u, for peer CID %u", c->opt.api_vsock_port,
				 c->opt.api_vsock_peer_cid);
	}
	return r;
}

void ctl_api_ready(struct ctl *c)
{
	int n = systemd_notify("READY=1");

	if (n < 0)
		log_warn("cannot tell systemd usbd is ready: %s", strerror(-n));
}

void ctl_api_run(struct ctl *c)
{
	if (c->api)
		api_server_run(c->api);
	if (vsock_api)
		api_server_run(vsock_api);
}

void ctl_api_tick(struct ctl *c, uint64_t now_ms)
{
	if (c->stats_interval_s && now_ms >= stats_next_ms)
		refresh_stats(c);
	ctl_api_run(c); /* times out slow clients even when no input arrives */
}

void ctl_api_close(struct ctl *c)
{
	if (c->api) {
		api_server_close(c->api);
		c->api = NULL;
	}
	api_server_close(vsock_api);
	vsock_api = NULL;
}
