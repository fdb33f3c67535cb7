#include "cli/cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/format.h"
#include "cli/record.h"
#include "cli/top.h"
#include "common/log.h"

typedef void (*formatter)(FILE *out, const json_t *obj);

/* GETs `path` and prints it: raw with --json, else through fmt. */
static int show(const struct cli_args *a, const char *path, formatter fmt)
{
	struct http_response resp;
	char err[256];
	json_t *obj;
	int rc = client_call(a->sock, "GET", path, NULL, CLIENT_TIMEOUT_MS, &resp, err, sizeof(err));

	if (rc) {
		log_err("%s", err);
		return rc;
	}
	if (a->json) {
		fwrite(resp.body, 1, resp.body_len, stdout);
		if (!resp.body_len || resp.body[resp.body_len - 1] != '\n')
			putchar('\n');
	} else {
		obj = client_object(&resp, err, sizeof(err));
		if (!obj) {
			log_err("GET %s: %s", path, err);
			rc = CLI_UNREACHABLE;
		} else {
			fmt(stdout, obj);
			json_decref(obj);
		}
	}
	http_response_free(&resp);
	return rc;
}

static int patch(const struct cli_args *a, const char *path, const char *body)
{
	struct http_response resp;
	char err[256];
	int rc;

	if (!body) {
		log_err("out of memory");
		return CLI_REFUSED;
	}
	rc = client_call(a->sock, "PATCH", path, body, CLIENT_TIMEOUT_MS, &resp, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		return rc;
	}
	http_response_free(&resp);
	return CLI_OK;
}

static int cmd_set(const struct cli_args *a)
{
	char *body;
	int rc;

	if (a->has_amount) {
		char amount[64];
		snprintf(amount, sizeof(amount), "{\"amount_mib\":%" PRIu32 "}", a->amount_mib);
		return patch(a, "/balloon", amount);
	}
	if (a->has_interval) {
		char interval[64];
		snprintf(interval, sizeof(interval), "{\"stats_polling_interval_s\":%u}", (unsigned)a->interval_s);
		return patch(a, "/balloon/statistics", interval);
	}
	body = target_patch_body(&a->targets);
	rc = patch(a, "/usbd/targets", body);
	free(body);
	return rc;
}

/* A refused statistics request: when the reason is that they are off (interval 0), say how to turn them on. */
static void hint_stats_off(const struct cli_args *a)
{
	struct http_response resp;
	char err[256];
	json_t *obj;

	if (client_call(a->sock, "GET", "/balloon", NULL, CLIENT_TIMEOUT_MS, &resp, err, sizeof(err)))
		return;
	obj = client_object(&resp, err, sizeof(err));
	if (json_is_integer(json_object_get(obj, "stats_polling_interval_s")) &&
	    !json_integer_value(json_object_get(obj, "stats_polling_interval_s")))
		fputs("usbdctl: statistics are off: turn them on with `usbdctl set stats-interval=SECONDS` (or start usbd "
		      "with balloon.stats_polling_interval_s in its config file)\n", stderr);
	json_decref(obj);
	http_response_free(&resp);
}

static int cmd_stats(const struct cli_args *a)
{
	int rc;

	for (;;) {
		if (a->watch_s && !a->json) {
			char stamp[16];
			time_t now = time(NULL);
			strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
			printf("--- %s\n", stamp);
		}
		rc = show(a, "/balloon/statistics", format_stats);
		if (rc == CLI_REFUSED)
			hint_stats_off(a);
		if (rc || !a->watch_s)
			return rc;
		/* Flush each sample so that a pipe (| grep, | jq) sees it now, and stop if nobody reads any more. */
		if (fflush(stdout)) {
			log_err("stdout: write failed");
			return CLI_REFUSED;
		}
		sleep(a->watch_s);
	}
}

int cmd_run(const struct cli_args *a)
{
	switch (a->cmd) {
	case CMD_HELP:
		fputs(args_usage, stdout);
		return CLI_OK;
	case CMD_STATUS:
		return show(a, "/usbd/status", format_status);
	case CMD_BALLOON:
		return show(a, "/balloon", format_balloon);
	case CMD_STATS:
		return cmd_stats(a);
	case CMD_SET:
		return cmd_set(a);
	case CMD_TOP:
		return top_run(a->sock);
	case CMD_RECORD:
		return record_run(a);
	}
	return CLI_USAGE;
}
