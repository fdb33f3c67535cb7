/*
 * options: usbd's command line, parsed without side effects (pure; unit-tested). Sizes whose defaults depend
 * on the domain (upper bound, headroom) are marked unset here and resolved once the domain is known.
 */
#ifndef USBD_CONTROL_OPTIONS_H
#define USBD_CONTROL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balloon/worker.h"
#include "harvest/harvest.h"
#include "policy/targets.h"

#define USBD_DEFAULT_API_SOCK "/run/usbd/usbd.sock"
#define USBD_DEFAULT_SPOT_LISTEN "127.0.0.1:6390"
#define USBD_DEFAULT_APPS_SOCK "/run/usbd/apps.sock"
#define USBD_DEFAULT_HARVEST_JOURNAL HARVEST_JOURNAL_DEFAULT
#define USBD_DEFAULT_STATE_FILE "/var/lib/usbd/targets.json"

struct size_opt {
	bool set;
	uint64_t bytes;
};

struct options {
	const char *app;              /* APP_CGROUP, as cgcreate names it */
	const char *app_unit;         /* --app-unit: the app as a systemd unit, whose cgroup is resolved at start */
	const char *domain;           /* NULL: the whole host */
	const char *api_sock;         /* "off" disables the API */
	uint32_t api_vsock_port;      /* non-zero: the API also on this AF_VSOCK port */
	uint32_t api_vsock_peer_cid;  /* the one vsock peer served; default 2, the host */
	const char *apps_sock;        /* libusbd registration socket; "off" disables it */
	const char *harvest_journal;  /* where an in-flight harvest step is journalled */
	const char *spot_listen;      /* "ADDR:PORT" or "off" */
	const char *spot_password_file;
	const char *spot_tenants_file; /* NAME PASSWORD [QUOTA] per line: spot memory's tenants */
	struct size_opt grab_lower, grab_upper, swap_target, headroom, threshold;
	enum balloon_mode mode;
	bool deflate_on_oom;
	bool no_events;               /* no notifications: timer only (benchmark baseline) */
	bool no_reflex;               /* the worker holds no reflex: the controller alone releases (baseline) */
	uint32_t tick_ms;             /* control loop timer */
	uint32_t status_interval_s;   /* one-line status on stderr; 0 = off */
	uint32_t worker_cooldown_ms;  /* wait before restarting a dead worker */
	int verbosity;                /* 0 info, 1 debug, -1 warnings only */
	bool help, version;
	const char *config_file;      /* --config-file (control/config.h); NULL: none */
	const char *state_file;       /* targets set at run time, kept across restarts (control/targets_file.h); "off" */
	const char *metrics_listen;   /* "ADDR:PORT": GET /metrics over TCP for Prometheus; "off" */
	uint16_t stats_interval_s;    /* statistics interval at start (the config file's); 0 = off */
	bool balloon_section;         /* the config file has Firecracker's "balloon" object: the device is configured */
	/* The config file's targets by enum target_field; the flags' (grab_lower...) and the state file's override. */
	struct size_opt config_targets[TARGET_COUNT];
};

/* The defaults, before a config file or the command line. */
void options_defaults(struct options *o);

/*
 * Parses argv over *o as it stands (the defaults, or the defaults and a config file's values): what the command line
 * gives replaces it. APP_CGROUP may be left out (a config file may name it): options_check() then says so. Returns 0
 * or -EINVAL with a message in err.
 */
int options_parse_onto(int argc, char *const argv[], struct options *o, char *err, size_t errlen);

/* Once the command line and the config file are in: -EINVAL with a message when APP_CGROUP is still missing (or
 * the config file names both app and app_unit). */
int options_check(const struct options *o, char *err, size_t errlen);

/*
 * options_defaults, options_parse_onto and options_check: parses argv (argv[0] is the program name). Returns 0, or -EINVAL with a message in err naming the
 * offending option and value. Never exits and never prints.
 */
int options_parse(int argc, char *const argv[], struct options *o, char *err, size_t errlen);

/* The --help text. */
const char *options_usage(void);

#endif
