/* top: `usbdctl top`, a live curses view of the daemon with editable targets (see edit.h for the keys). */
#ifndef USBD_CLI_TOP_H
#define USBD_CLI_TOP_H

/*
 * Runs until 'q' (or SIGINT / SIGTERM, which restore the terminal and then end the process by that signal).
 * Returns an exit code: CLI_OK, or CLI_USAGE when stdin/stdout is not a terminal.
 */
int top_run(const char *sock);

#endif
