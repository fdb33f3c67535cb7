/* args: usbdctl's command line, parsed without side effects so that it can be tested alone. */
#ifndef USBD_CLI_ARGS_H
#define USBD_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/targets.h"

#define ARGS_DEFAULT_SOCK "/run/usbd/usbd.sock"
#define ARGS_MAX_WATCH_S 3600

enum cli_command { CMD_HELP, CMD_STATUS, CMD_SET, CMD_STATS, CMD_TOP, CMD_BALLOON, CMD_RECORD };

struct cli_args {
	const char *sock;		/* --sock, or vsock_addr, else $USBD_SOCK, else ARGS_DEFAULT_SOCK */
	char vsock_addr[32];		/* --vsock CID:PORT as http.h's "vsock:CID:PORT" */
	bool json;			/* --json: print the daemon's JSON as it is */
	enum cli_command cmd;
	struct target_patch targets;	/* set: the target fields given */
	bool has_amount;		/* set amount=SIZE */
	uint32_t amount_mib;
	bool has_interval;		/* set stats-interval=SECONDS (PATCH /balloon/statistics) */
	uint16_t interval_s;		/* 0 turns statistics off */
	unsigned watch_s;		/* stats --watch [SECONDS]: 0 means print once */
	const char *record_file;	/* record FILE: the samples (text, one line each) */
	const char *plot_file;		/* record --plot FILE.png: drawn with gnuplot at the end */
	unsigned record_s;		/* record --seconds N: 0 until interrupted */
	unsigned interval_ms;		/* record --interval-ms N: between samples (default 500) */
};

/*
 * Parses argv[1..argc). env_sock is $USBD_SOCK (NULL or "" when unset). Options may appear anywhere:
 * --sock PATH (or --sock=PATH), --vsock CID:PORT (or --vsock=CID:PORT; the last of --sock and --vsock wins), --json,
 * -h/--help; stats alone takes --watch [SECONDS].
 * Returns 0 and fills *out, or -EINVAL with a one-line reason in err.
 */
int args_parse(int argc, char *const argv[], const char *env_sock, struct cli_args *out, char *err, size_t errlen);

/* The usage text (several lines, ends in a newline). */
extern const char args_usage[];

#endif
