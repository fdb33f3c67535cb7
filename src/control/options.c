#include "control/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"

enum {
	OPT_DOMAIN = 256, OPT_API_SOCK, OPT_GRAB_LOWER, OPT_GRAB_UPPER, OPT_SWAP_TARGET, OPT_HEADROOM,
	OPT_THRESHOLD, OPT_SPOT_LISTEN, OPT_SPOT_PASSWORD_FILE, OPT_SPOT_TENANTS_FILE, OPT_MODE, OPT_NO_DEFLATE_ON_OOM,
	OPT_TICK,
	OPT_STATUS_INTERVAL, OPT_WORKER_COOLDOWN, OPT_NO_EVENTS, OPT_NO_REFLEX, OPT_APPS_SOCK, OPT_HARVEST_JOURNAL,
	OPT_API_VSOCK, OPT_API_VSOCK_PEER, OPT_CONFIG_FILE, OPT_STATE_FILE, OPT_METRICS_LISTEN, OPT_APP_UNIT,
};

static const struct option long_opts[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "app-unit", required_argument, NULL, OPT_APP_UNIT },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "api-vsock", required_argument, NULL, OPT_API_VSOCK },
	{ "api-vsock-peer", required_argument, NULL, OPT_API_VSOCK_PEER },
	{ "apps-sock", required_argument, NULL, OPT_APPS_SOCK },
	{ "harvest-journal", required_argument, NULL, OPT_HARVEST_JOURNAL },
	{ "grab-lower", required_argument, NULL, OPT_GRAB_LOWER },
	{ "grab-upper", required_argument, NULL, OPT_GRAB_UPPER },
	{ "swap-target", required_argument, NULL, OPT_SWAP_TARGET },
	{ "headroom", required_argument, NULL, OPT_HEADROOM },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "spot-listen", required_argument, NULL, OPT_SPOT_LISTEN },
	{ "spot-password-file", required_argument, NULL, OPT_SPOT_PASSWORD_FILE },
	{ "spot-tenants-file", required_argument, NULL, OPT_SPOT_TENANTS_FILE },
	{ "balloon-mode", required_argument, NULL, OPT_MODE },
	{ "no-deflate-on-oom", no_argument, NULL, OPT_NO_DEFLATE_ON_OOM },
	{ "tick-ms", required_argument, NULL, OPT_TICK },
	{ "status-interval", required_argument, NULL, OPT_STATUS_INTERVAL },
	{ "worker-cooldown-ms", required_argument, NULL, OPT_WORKER_COOLDOWN },
	{ "no-events", no_argument, NULL, OPT_NO_EVENTS },
	{ "no-reflex", no_argument, NULL, OPT_NO_REFLEX },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "state-file", required_argument, NULL, OPT_STATE_FILE },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

const char *options_usage(void)
{
	return "Usage: usbd [OPTIONS] APP_CGROUP\n"
	       "       usbd [OPTIONS] --app-unit UNIT\n"
	       "Lend the memory a producer's applications do not use as spot memory, and give it back at once\n"
	       "when they grow or the domain comes under pressure.\n"
	       "\n"
	       "APP_CGROUP is a memory cgroup as `cgcreate -g memory:NAME` names it; it must lie inside the domain.\n"
	       "UNIT is a systemd unit (postgresql.service) whose cgroup is the app's; systemd then makes usbd's changes\n"
	       "to the cgroups of units (runtime properties MemorySwapMax=, MemoryHigh=, ...; usbd(8)).\n"
	       "SIZE is a number of MiB, or a number with a binary suffix K, M, G or T (\"512\", \"2G\").\n"
	       "\n"
	       "  --domain CGROUP          the producer's memory: this cgroup's limit (default: the whole host)\n"
	       "  --grab-lower SIZE        inflate toward this while free memory allows (default 0)\n"
	       "  --grab-upper SIZE        never hold more than this (default: the domain's size)\n"
	       "  --headroom SIZE          free memory kept for the producer (default min(1G, domain/4))\n"
	       "  --swap-target SIZE       app memory to keep in swap (default 0)\n"
	       "  --threshold SIZE         free memory under which registered apps get SIGBALLOON (default min(1G, domain))\n"
	       "  --api-sock PATH|off      control API socket (default " USBD_DEFAULT_API_SOCK ")\n"
	       "  --api-vsock PORT         the control API also on this vsock port, for the host of a VM guest\n"
	       "  --api-vsock-peer CID     the one vsock peer served there (default 2: the host)\n"
	       "  --apps-sock PATH|off     libusbd registration socket (default " USBD_DEFAULT_APPS_SOCK ")\n"
	       "  --harvest-journal PATH   journal of an in-flight swap step (default " USBD_DEFAULT_HARVEST_JOURNAL ")\n"
	       "  --spot-listen ADDR:PORT|off  spot-memory Redis endpoint (default " USBD_DEFAULT_SPOT_LISTEN ")\n"
	       "  --spot-password-file FILE    require AUTH with the password in FILE\n"
	       "  --spot-tenants-file FILE     spot-memory tenants: NAME PASSWORD [QUOTA] per line\n"
	       "  --balloon-mode pinned|reclaimable  locked chunks (default) or chunks the kernel may reclaim\n"
	       "  --no-deflate-on-oom      pin the balloon: pressure does not deflate it\n"
	       "  --tick-ms N              control loop period (default 100)\n"
	       "  --status-interval N      seconds between status lines on stderr, 0 = none (default 5)\n"
	       "  --worker-cooldown-ms N   wait before restarting a dead worker (default 5000)\n"
	       "  --config-file PATH       read options from this JSON file first; flags override it (usbd.json(5))\n"
	       "  --state-file PATH|off    targets set at run time, restored at start (default " USBD_DEFAULT_STATE_FILE ")\n"
	       "  --metrics-listen ADDR:PORT|off  serve GET /metrics over TCP for Prometheus (default off)\n"
	       "  --no-events              wake only on the timer, like a polling balloon (for comparisons)\n"
	       "  --no-reflex              the controller alone releases on app growth (for comparisons)\n"
	       "  -v, --verbose  -q, --quiet  -h, --help  -V, --version\n";
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_size_opt(const char *name, const char *arg, struct size_opt *o, char *err, size_t errlen)
{
	int r = size_parse(arg, &o->bytes);

	if (r == -ERANGE)
		snprintf(err, errlen, "--%s: '%s' is too large", name, arg);
	else if (r)
		snprintf(err, errlen, "--%s: '%s' is not a size (a number of MiB, or with a K/M/G/T suffix)",
			 name, arg);
	else
		o->set = true;
	return r ? -EINVAL : 0;
}

void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->api_sock = USBD_DEFAULT_API_SOCK;
	o->api_vsock_peer_cid = 2;
	o->apps_sock = USBD_DEFAULT_APPS_SOCK;
	o->harvest_journal = USBD_DEFAULT_HARVEST_JOURNAL;
	o->spot_listen = USBD_DEFAULT_SPOT_LISTEN;
	o->mode = BALLOON_PINNED;
	o->deflate_on_oom = true;
	o->tick_ms = 100;
	o->status_interval_s = 5;
	o->worker_cooldown_ms = 5000;
	o->state_file = USBD_DEFAULT_STATE_FILE;
	o->metrics_listen = "off";
}

int options_parse(int argc, char *const argv[], struct options *o, char *err, size_t errlen)
{
	int r;

	options_defaults(o);
	r = options_parse_onto(argc, argv, o, err, errlen);
	return r || o->help || o->version ? r : options_check(o, err, errlen);
}

int options_parse_onto(int argc, char *const argv[], struct options *o, char *err, size_t errlen)
{
	bool unit_flag = false;
	int c, r = 0;

	optind = 0; /* full re-initialisation, so tests can parse several times */
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, ":vqhV", long_opts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		switch (c) {
		case OPT_DOMAIN: o->domain = optarg; break;
		case OPT_APP_UNIT:
			/* Replaces a config file's app, as any flag replaces the file's value. */
			o->app_unit = optarg;
			o->app = NULL;
			unit_flag = true;
			break;
		case OPT_API_SOCK: o->api_sock = optarg; break;
		case OPT_API_VSOCK:
			/* 0xffffffff is VMADDR_PORT_ANY, not a port one can be reached on. */
			if ((r = parse_u32(optarg, 1, UINT32_MAX - 1, &o->api_vsock_port)))
				snprintf(err, errlen, "--api-vsock: '%s' is not a vsock port (1 to 4294967294)", optarg);
			break;
		case OPT_API_VSOCK_PEER:
			/* 0 and 1 are the hypervisor and local loopback, 0xffffffff VMADDR_CID_ANY. */
			if ((r = parse_u32(optarg, 1, UINT32_MAX - 1, &o->api_vsock_peer_cid)))
				snprintf(err, errlen, "--api-vsock-peer: '%s' is not a vsock CID (1 to 4294967294)", optarg);
			break;
		case OPT_APPS_SOCK: o->apps_sock = optarg; break;
		case OPT_HARVEST_JOURNAL: o->harvest_journal = optarg; break;
		case OPT_CONFIG_FILE: o->config_file = optarg; break;
		case OPT_STATE_FILE: o->state_file = optarg; break;
		case OPT_METRICS_LISTEN: o->metrics_listen = optarg; break;
		case OPT_SPOT_LISTEN: o->spot_listen = optarg; break;
		case OPT_SPOT_PASSWORD_FILE: o->spot_password_file = optarg; break;
		case OPT_SPOT_TENANTS_FILE: o->spot_tenants_file = optarg; break;
		case OPT_GRAB_LOWER: r = parse_size_opt("grab-lower", optarg, &o->grab_lower, err, errlen); break;
		case OPT_GRAB_UPPER: r = parse_size_opt("grab-upper", optarg, &o->grab_upper, err, errlen); break;
		case OPT_SWAP_TARGET: r = parse_size_opt("swap-target", optarg, &o->swap_target, err, errlen); break;
		case OPT_HEADROOM: r = parse_size_opt("headroom", optarg, &o->headroom, err, errlen); break;
		case OPT_THRESHOLD: r = parse_size_opt("threshold", optarg, &o->threshold, err, errlen); break;
		case OPT_MODE:
			if (!strcmp(optarg, "pinned"))
				o->mode = BALLOON_PINNED;
			else if (!strcmp(optarg, "reclaimable"))
				o->mode = BALLOON_RECLAIMABLE;
			else {
				snprintf(err, errlen, "--balloon-mode: '%s' is neither 'pinned' nor 'reclaimable'", optarg);
				r = -EINVAL;
			}
			break;
		case OPT_NO_DEFLATE_ON_OOM: o->deflate_on_oom = false; break;
		case OPT_NO_EVENTS: o->no_events = true; break;
		case OPT_NO_REFLEX: o->no_reflex = true; break;
		case OPT_TICK:
			if ((r = parse_u32(optarg, 10, 10000, &o->tick_ms)))
				snprintf(err, errlen, "--tick-ms: '%s' is not a number from 10 to 10000", optarg);
			break;
		case OPT_STATUS_INTERVAL:
			if ((r = parse_u32(optarg, 0, 86400, &o->status_interval_s)))
				snprintf(err, errlen, "--status-interval: '%s' is not a number of seconds", optarg);
			break;
		case OPT_WORKER_COOLDOWN:
			if ((r = parse_u32(optarg, 0, 3600000, &o->worker_cooldown_ms)))
				snprintf(err, errlen, "--worker-cooldown-ms: '%s' is not a number of milliseconds", optarg);
			break;
		case 'v': o->verbosity = 1; break;
		case 'q': o->verbosity = -1; break;
		case 'h': o->help = true; break;
		case 'V': o->version = true; break;
		case ':':
			snprintf(err, errlen, "option %s needs a value", name);
			r = -EINVAL;
			break;
		default:
			snprintf(err, errlen, "unknown option %s", name);
			r = -EINVAL;
			break;
		}
	}
	if (r || o->help || o->version || optind >= argc)
		return r;
	if (optind + 1 < argc) {
		snprintf(err, errlen, "unexpected argument '%s' after APP_CGROUP", argv[optind + 1]);
		return -EINVAL;
	}
	if (unit_flag) {
		snprintf(err, errlen, "APP_CGROUP '%s' and --app-unit name the app twice: give one of them",
			 argv[optind]);
		return -EINVAL;
	}
	o->app = argv[optind];
	o->app_unit = NULL; /* a config file's app_unit gives way to the command line's APP_CGROUP */
	return 0;
}

int options_check(const struct options *o, char *err, size_t errlen)
{
	if (o->app && o->app_unit) {
		snprintf(err, errlen, "app '%s' and app_unit '%s' name the app twice: give one of them", o->app,
			 o->app_unit);
		return -EINVAL;
	}
	if (o->app || o->app_unit)
		return 0;
	snprintf(err, errlen, "missing APP_CGROUP (the producer's application cgroup) or --app-unit UNIT");
	return -EINVAL;
}
