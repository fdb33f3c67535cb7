#include "cli/record.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cli/client.h"
#include "common/clock.h"
#include "common/log.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig) { stop = 1; }

static uint64_t mib_of(const json_t *status, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(status, key)) >> 20;
}

/* One sample; returns CLI_OK or the call's failure. */
static int sample(const struct cli_args *a, FILE *f, double t)
{
	struct http_response resp;
	char err[256];
	json_t *st;
	int rc = client_call(a->sock, "GET", "/usbd/status", NULL, CLIENT_TIMEOUT_MS, &resp, err, sizeof(err));

	if (rc) {
		log_err("%s", err);
		return rc;
	}
	st = client_object(&resp, err, sizeof(err));
	http_response_free(&resp);
	if (!st) {
		log_err("GET /usbd/status: %s", err);
		return CLI_UNREACHABLE;
	}
	fprintf(f, "%.2f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t,
		mib_of(st, "app_usage_bytes"), mib_of(st, "grab_bytes"), mib_of(st, "free_bytes"),
		mib_of(st, "grab_lower_bytes"), mib_of(st, "grab_upper_bytes"));
	json_decref(st);
	return fflush(f) ? CLI_REFUSED : CLI_OK;
}

static int safe_name(const char *s)
{
	for (; *s; s++)
		if (*s == '\'' || *s == '"' || (unsigned char)*s < 0x20)
			return -EINVAL;
	return 0;
}

int record_plot_script(FILE *out, const char *data, const char *png)
{
	if (safe_name(data) || safe_name(png))
		return -EINVAL;
	fprintf(out,
		"set terminal pngcairo size 1000,500 noenhanced\n"
		"set output '%s'\n"
		"set title 'usbd: app usage, balloon grab and free memory'\n"
		"set xlabel 'seconds'\nset ylabel 'MiB'\nset key outside right\nset grid\n"
		"plot '%s' using 1:2 with lines lw 2 title 'app usage', "
		"'' using 1:3 with lines lw 2 title 'balloon grab', "
		"'' using 1:4 with lines lw 2 title 'free', "
		"'' using 1:5 with lines dt 2 title 'grab lower bound'\n",
		png, data);
	return 0;
}

static int plot(const struct cli_args *a)
{
	FILE *gp;
	int rc, status;

	if (safe_name(a->record_file) || safe_name(a->plot_file)) {
		log_err("record: --plot: file names with quotes or control characters cannot be drawn");
		return CLI_USAGE;
	}
	/* gnuplot reads its program on stdin: the file names go in as data, never through a shell. */
	gp = popen("exec gnuplot", "w");
	if (!gp) {
		log_err("record: cannot run gnuplot: %s", strerror(errno));
		return CLI_REFUSED;
	}
	rc = record_plot_script(gp, a->record_file, a->plot_file);
	status = pclose(gp);
	if (rc || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		log_err("record: gnuplot failed (is it installed? apt-get install gnuplot-nox)");
		return CLI_REFUSED;
	}
	log_info("drew %s", a->plot_file);
	return CLI_OK;
}

int record_run(const struct cli_args *a)
{
	struct sigaction sa = { .sa_handler = on_stop };
	uint64_t t0 = clock_ms(), next = t0;
	struct timespec ts;
	FILE *f = fopen(a->record_file, "w");
	int rc = CLI_OK;

	if (!f) {
		log_err("record: %s: %s", a->record_file, strerror(errno));
		return CLI_REFUSED;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(f, "# seconds app_mib grab_mib free_mib grab_lower_mib grab_upper_mib\n");
	while (!stop) {
		uint64_t now = clock_ms();

		if (a->record_s && now - t0 >= (uint64_t)a->record_s * 1000)
			break;
		if ((rc = sample(a, f, (double)(now - t0) / 1000.0)))
			break;
		next += a->interval_ms;
		now = clock_ms();
		if (next > now) {
			ts.tv_sec = (time_t)((next - now) / 1000);
			ts.tv_nsec = (long)((next - now) % 1000) * 1000000L;
			nanosleep(&ts, NULL); /* a signal cuts it short, and the loop ends */
		} else {
			next = now;
		}
	}
	if (fclose(f) && !rc) {
		log_err("record: %s: %s", a->record_file, strerror(errno));
		rc = CLI_REFUSED;
	}
	if (!rc && a->plot_file)
		rc = plot(a);
	return rc;
}
