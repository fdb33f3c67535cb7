/* cmd: usbdctl's commands (status, set, stats, balloon, top), each one or a few API calls. */
#ifndef USBD_CLI_CMD_H
#define USBD_CLI_CMD_H

#include "cli/args.h"

/* Runs the command in *a. Returns the process exit code (enum cli_exit); failures are logged. */
int cmd_run(const struct cli_args *a);

#endif
