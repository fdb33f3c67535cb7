#include "control/status.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "apps/registry.h"
#include "control/state.h"
#include "sys/sd_notify.h"

const char *ctl_pressure_name(enum policy_pressure p)
{
	switch (p) {
	case POLICY_PRESSURE_MEDIUM: return "medium";
	case POLICY_PRESSURE_CRITICAL: return "critical";
	default: return "none";
	}
}

void ctl_status_line(struct ctl *c)
{
	char g[16], lo[16], up[16], app[16], fr[16], hr[16], last[64] = "none";

	if (c->last_deflation.at_ms)
		snprintf(last, sizeof(last), "%s %s %llus ago", policy_reason_name(c->last_deflation.reason),
			 size_format(c->last_deflation.bytes, (char[16]){ 0 }, 16),
			 (unsigned long long)((clock_ms() - c->last_deflation.at_ms) / 1000));
	log_info("grab %s [%s..%s] | app %s | free %s (headroom %s) | pressure %s | worker %d, %u restarts | "
		 "last deflation: %s",
		 size_format(c->wk.grab, g, sizeof(g)), size_format(c->params.grab_lower, lo, sizeof(lo)),
		 size_format(c->params.grab_upper, up, sizeof(up)), size_format(c->reading.app_usage, app, sizeof(app)),
		 size_format(c->reading.free, fr, sizeof(fr)), size_format(c->params.headroom, hr, sizeof(hr)),
		 ctl_pressure_name(c->pressure), c->wk.up ? (int)c->wk.h.pid : 0, c->wk.restarts, last);
}

#define SYSTEMD_STATUS_MS 5000u

void ctl_status_systemd(struct ctl *c, uint64_t now_ms)
{
	char line[160], g[16], lo[16], fr[16];
	int r = 0;

	if (c->watchdog_ms && now_ms - c->watchdog_sent_ms >= c->watchdog_ms / 2) {
		c->watchdog_sent_ms = now_ms;
		r = systemd_notify("WATCHDOG=1");
	}
	if (r >= 0 && now_ms >= c->next_systemd_status_ms) {
		c->next_systemd_status_ms = now_ms + SYSTEMD_STATUS_MS;
		snprintf(line, sizeof(line), "STATUS=grab %s of %s, free %s, pressure %s, %u apps",
			 size_format(c->wk.grab, g, sizeof(g)), size_format(c->params.grab_lower, lo, sizeof(lo)),
			 size_format(c->reading.free, fr, sizeof(fr)), ctl_pressure_name(c->pressure),
			 c->reg ? registry_count(c->reg) : 0);
		r = systemd_notify(line);
	}
	if (r < 0 && !c->systemd_warned) {
		c->systemd_warned = true;
		log_warn("cannot notify systemd: %s", strerror(-r));
	}
}
