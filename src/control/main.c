/* usbd: the controller. See docs/DESIGN.md and `usbd --help`. */
#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "control/ctl.h"
#include "control/config.h"
#include "control/loop.h"
#include "control/state.h"
#include "control/ctl_api.h"
#include "control/worker_role.h"

/*
 * The defaults, then the config file, then the command line over it. The command line is read twice: first to find
 * --config-file (and --help), then over the config file's values, so that every flag given wins.
 */
static int parse_options(int argc, char **argv, struct options *o, struct config_hold *hold, char *err, size_t len)
{
	int r;

	options_defaults(o);
	if ((r = options_parse_onto(argc, argv, o, err, len)) || o->help || o->version)
		return r;
	if (o->config_file) {
		const char *path = o->config_file;

		options_defaults(o);
		if ((r = config_load(path, o, hold, err, len)))
			return r;
		o->config_file = path;
		if ((r = options_parse_onto(argc, argv, o, err, len)))
			return r;
	}
	return options_check(o, err, len);
}

int main(int argc, char **argv)
{
	static struct ctl ctl;
	struct config_hold hold = { NULL };
	struct options o;
	char err[512];
	int r;

	/* The balloon worker is this binary, spawned by the controller in a hidden role (balloon/worker.h). */
	if (worker_role_requested(argc, argv))
		return usbd_worker_role(argc, argv);
	if (parse_options(argc, argv, &o, &hold, err, sizeof(err))) {
		fprintf(stderr, "usbd: %s\nTry 'usbd --help'.\n", err);
		return 2;
	}
	if (o.help) {
		fputs(options_usage(), stdout);
		return 0;
	}
	if (o.version) {
		puts("usbd " USBD_VERSION);
		return 0;
	}
	log_set_ident("usbd");
	log_set_level(o.verbosity > 0 ? LOG_LVL_DEBUG : o.verbosity < 0 ? LOG_LVL_WARN : LOG_LVL_INFO);
	if (geteuid() != 0) {
		log_err("usbd must run as root: it creates a cgroup and writes cgroup files");
		return 1;
	}
	if ((r = ctl_init(&ctl, &o))) {
		ctl_api_close(&ctl);
		ctl_shutdown(&ctl);
		config_release(&hold);
		return 1;
	}
	r = ctl_run(&ctl);
	ctl_api_close(&ctl);
	ctl_shutdown(&ctl);
	config_release(&hold);
	return r ? 1 : 0;
}
