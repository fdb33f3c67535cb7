/* usbdctl: the command-line client of usbd's control API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "common/log.h"

int main(int argc, char **argv)
{
	struct cli_args args;
	char err[256];
	int rc;

	log_set_ident("usbdctl");
	log_set_timestamps(false);
	/* The only option that stands alone, as usbd's does: packaging and bug reports ask it of any binary. */
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		puts("usbdctl " USBD_VERSION);
		rc = 0;
	} else if (args_parse(argc, argv, getenv("USBD_SOCK"), &args, err, sizeof(err))) {
		log_err("%s", err);
		fputs(args_usage, stderr);
		return CLI_USAGE;
	} else {
		rc = cmd_run(&args);
	}
	/* Output that never reached its reader is a failure, not a success (a full disk, a closed pipe). */
	if (fflush(stdout) || ferror(stdout)) {
		log_err("stdout: write failed");
		return rc ? rc : CLI_REFUSED;
	}
	return rc;
}
