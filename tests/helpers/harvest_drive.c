/*
 * harvest_drive: drives the harvester like the controller does, for the integration tests and the bench.
 *   harvest_drive [--target SIZE] [--step-max SIZE] [--share PERCENT] [--window MS] [--settle MS]
 *                 [--duty PERCENT] [--timeout MS] [--journal PATH] [--repair-only] CGROUP
 * Start-up opens the harvester, which claims the journal and repairs an interrupted step (as usbd does);
 * --repair-only stops there. Then, every 100 ms, reads the cgroup's usage, swap and major faults, and the domain's
 * calm (MemAvailable above 1 GiB), and calls harvest_tick().
 * Prints a status line every second; SIGTERM/SIGINT close the harvester (restoring any lowered limit) and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "harvest/harvest.h"
#include "sys/procfs.h"

#define TICK_MS 100
#define CALM_AVAILABLE GIB

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = 1;
}

static uint64_t size_or_die(const char *s)
{
	uint64_t b;

	if (size_parse(s, &b))
		fatal("bad size '%s'", s);
	return b;
}

static uint64_t num_or_die(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !*s)
		fatal("bad number '%s'", s);
	return v;
}

static int read_input(const struct cgroup *cg, struct harvest_input *in)
{
	struct cg_stat st;
	struct meminfo mi;
	int err;

	in->now_ms = clock_ms();
	if ((err = cg_usage(cg, &in->usage)) || (err = cg_stat(cg, &st)) || (err = meminfo_read(&mi)))
		return err;
	in->swap = st.swap;
	in->majfault = st.pgmajfault;
	in->calm = mi.available > CALM_AVAILABLE;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },  { "step-max", required_argument, NULL, 'm' },
		{ "share", required_argument, NULL, 'p' },   { "window", required_argument, NULL, 'w' },
		{ "settle", required_argument, NULL, 's' },  { "timeout", required_argument, NULL, 'o' },
		{ "journal", required_argument, NULL, 'j' }, { "repair-only", no_argument, NULL, 'r' },
		{ "duty", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_stop };
	struct harvest_config cfg;
	struct harvest_input in = { .target = 512 * MIB };
	struct harvest_status st;
	struct harvester *hv;
	struct cg_hier hier;
	bool repair_only = false;
	uint64_t next_print = 0;
	int c, err;

	log_set_ident("harvest_drive");
	setvbuf(stdout, NULL, _IOLBF, 0);
	harvest_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': in.target = size_or_die(optarg); break;
		case 'm': cfg.params.step_max = size_or_die(optarg); break;
		case 'p': cfg.params.usage_share_percent = (uint32_t)num_or_die(optarg); break;
		case 'w': cfg.params.stable_window_ms = num_or_die(optarg); break;
		case 's': cfg.params.settle_ms = num_or_die(optarg); break;
		case 'd': cfg.params.duty_percent = (uint32_t)num_or_die(optarg); break;
		case 'o': cfg.step_timeout_ms = num_or_die(optarg); break;
		case 'j': cfg.journal_path = optarg; break;
		case 'r': repair_only = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		fatal("usage: harvest_drive [options] CGROUP");
	if ((err = cg_hier_open(&hier, NULL, 0)))
		fatal("no memory cgroup hierarchy: %s", strerror(-err));
	if ((err = cg_resolve(&hier, argv[optind], &cfg.app)))
		fatal("cgroup %s: %s", argv[optind], strerror(-err));
	if (harvest_open(&hv, &cfg))
		return 1;
	if (repair_only) {
		harvest_close(hv);
		return 0;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (harvest_start(hv)) {
		harvest_close(hv);
		return 1;
	}
	while (!stop) {
		struct timespec ts = { 0, TICK_MS * 1000000L };

		if ((err = read_input(&cfg.app, &in))) {
			log_err("cannot read %s: %s", cfg.app.name, strerror(-err));
			break;
		}
		harvest_tick(hv, &in);
		if (in.now_ms >= next_print) {
			harvest_status(hv, &st);
			printf("state=%s usage=%" PRIu64 " swap=%" PRIu64 " steps=%" PRIu64 " harvested=%" PRIu64
			       " last_step=%" PRIu64 " last_err=%d step_cap=%" PRIu64 " backoffs=%u\n",
			       st.state, in.usage, in.swap, st.steps, st.harvested, st.last_step_bytes, st.last_step_error,
			       st.step_cap, st.backoffs);
			next_print = in.now_ms + 1000;
		}
		nanosleep(&ts, NULL);
	}
	harvest_close(hv);
	return 0;
}
