/* client: one API call as usbdctl's commands need it, with failures turned into exit codes and messages. */
#ifndef USBD_CLI_CLIENT_H
#define USBD_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "cli/http.h"

/* usbdctl's exit codes. */
enum cli_exit {
	CLI_OK = 0,
	CLI_REFUSED = 1,	/* the daemon answered with an error (its fault_message is printed) */
	CLI_USAGE = 2,		/* the command line is wrong */
	CLI_UNREACHABLE = 3,	/* no daemon on the socket, or it did not answer properly in time */
};

/* Commands wait this long at most; the TUI uses a shorter timeout so that it stays responsive. */
#define CLIENT_TIMEOUT_MS 3000

/*
 * Sends one request (body: JSON text or NULL). Returns CLI_OK with *resp filled (2xx; free it with
 * http_response_free), CLI_REFUSED with the daemon's fault_message in err, or CLI_UNREACHABLE with the reason
 * in err. On failure *resp holds nothing to free.
 */
int client_call(const char *sock, const char *method, const char *path, const char *body, int timeout_ms,
		struct http_response *resp, char *err, size_t errlen);

/* Writes the fault_message of an error response into err, or "HTTP <status>" when it has none. Returns err. */
char *client_fault(const struct http_response *resp, char *err, size_t errlen);

/* Parses a response body that must be a JSON object. Returns it (json_decref it), or NULL with err set. */
json_t *client_object(const struct http_response *resp, char *err, size_t errlen);

#endif
