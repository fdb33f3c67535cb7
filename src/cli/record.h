/*
 * record: `usbdctl record` — samples the daemon's status into a text file (one line per sample: seconds since the
 * start, then app usage, grab, free memory, grab lower and upper bound, all MiB) and, with --plot, draws it with
 * gnuplot into a PNG. The same picture the demo ends with, from any live daemon.
 */
#ifndef USBD_CLI_RECORD_H
#define USBD_CLI_RECORD_H

#include <stdint.h>
#include <stdio.h>

#include "cli/args.h"

/* Runs the command; returns an exit code (enum cli_exit). Stops after --seconds, or on SIGINT/SIGTERM. */
int record_run(const struct cli_args *a);

/* Writes the gnuplot program that draws `data` into `png` (pure; for tests). Returns 0, or -EINVAL when a file
 * name holds a quote or a control character gnuplot's strings cannot carry. */
int record_plot_script(FILE *out, const char *data, const char *png);

#endif
