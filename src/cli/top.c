#include "cli/top.h"

#include <curses.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/edit.h"
#include "cli/format.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"

/* Short enough that the screen never freezes noticeably; the daemon answers in well under a millisecond. */
#define TOP_TIMEOUT_MS 500
#define TOP_REFRESH_MS 1000
#define TOP_INPUT_MS 100
#define LABEL_COL 2
#define VALUE_COL 24

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

struct top {
	const char *sock;
	json_t *status;		/* the last GET /usbd/status, NULL when the daemon could not be reached */
	char error[200];	/* why status is NULL */
	struct edit_state edit;
};

static const struct fmt_row live_rows[] = {
	{ "grab_bytes", "current grab", FMT_BYTES },
	{ "swap_bytes", "current swap", FMT_BYTES },
	{ "free_bytes", "free memory", FMT_BYTES },
	{ "app_usage_bytes", "app usage", FMT_BYTES },
	{ "total_bytes", "total memory", FMT_BYTES },
	{ "headroom_bytes", "headroom", FMT_BYTES },
	{ "threshold_bytes", "threshold", FMT_BYTES },
	{ "pressure", "pressure", FMT_TEXT },
	{ "last_deflation", "last deflation", FMT_DEFLATION },
	{ "worker_restarts", "worker restarts", FMT_COUNT },
	{ "registered_apps", "registered apps", FMT_COUNT },
	{ "deflate_on_oom", "deflate on oom", FMT_BOOL },
};

static void fetch(struct top *t)
{
	struct http_response resp;

	json_decref(t->status);
	t->status = NULL;
	if (client_call(t->sock, "GET", "/usbd/status", NULL, TOP_TIMEOUT_MS, &resp, t->error, sizeof(t->error)))
		return;
	t->status = client_object(&resp, t->error, sizeof(t->error));
	http_response_free(&resp);
}

static void send_targets(struct top *t)
{
	struct target_patch patch;
	struct http_response resp;
	char err[sizeof(t->edit.message)];
	char *body;
	int rc;

	edit_patch(&t->edit, &patch);
	body = target_patch_body(&patch);
	if (!body) {
		edit_sent(&t->edit, false, "out of memory");
		return;
	}
	rc = client_call(t->sock, "PATCH", "/usbd/targets", body, TOP_TIMEOUT_MS, &resp, err, sizeof(err));
	free(body);
	if (!rc)
		http_response_free(&resp);
	edit_sent(&t->edit, !rc, err);
}

/* Writes at (y, x) clipped to the screen; the last line is kept for the status line. */
__attribute__((format(printf, 4, 5))) static void put(int y, int x, int attr, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (y >= LINES - 1 || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	attron(attr);
	mvaddnstr(y, x, line, COLS - x);
	attroff(attr);
}

static void draw_field(const struct top *t, int i, int y)
{
	const struct edit_state *e = &t->edit;
	const struct target_desc *d = &target_descs[edit_fields[i]];
	char value[EDIT_TEXT_MAX + 8];

	if (e->editing && e->focus == i)
		snprintf(value, sizeof(value), "%s_", e->text);
	else if (e->pending & (1u << i))
		size_format(e->value_mib[i] * MIB, value, sizeof(value));
	else
		format_value(json_object_get(t->status, d->bytes_key), FMT_BYTES, value, sizeof(value));
	put(y, LABEL_COL, 0, "%s", d->label);
	put(y, VALUE_COL, e->focus == i ? A_REVERSE : 0, "[ %-*s ]", EDIT_TEXT_MAX, value);
	if (e->pending & (1u << i))
		put(y, VALUE_COL + EDIT_TEXT_MAX + 5, A_BOLD, "* not yet confirmed");
}

static void draw_status_line(const struct top *t)
{
	/* A daemon that cannot be reached matters more than what the last key did. */
	const char *msg = t->status ? t->edit.message : t->error;

	attron(A_BOLD);
	mvaddnstr(LINES - 1, 0, msg, COLS);
	attroff(A_BOLD);
}

static void draw(const struct top *t)
{
	char app[64], domain[64], version[16], value[128];
	int y = 0;

	erase();
	put(y++, 0, A_BOLD, "usbd top  %s  app %s  domain %s  version %s", t->sock,
	    format_value(json_object_get(t->status, "app_cgroup"), FMT_TEXT, app, sizeof(app)),
	    format_value(json_object_get(t->status, "domain"), FMT_DOMAIN, domain, sizeof(domain)),
	    format_value(json_object_get(t->status, "version"), FMT_TEXT, version, sizeof(version)));
	put(y++, 0, 0, "%s", "Tab/arrows move, type a size (512M, 2G) to edit, Esc cancels, "
			    "Enter on [ Confirm ] sends, q quits");
	y++;
	put(y++, 0, A_BOLD, "Targets");
	for (int i = 0; i < EDIT_FIELDS; i++)
		draw_field(t, i, y++);
	put(y++, VALUE_COL, t->edit.focus == EDIT_CONFIRM ? A_REVERSE : 0, "[ Confirm ]");
	y++;
	put(y++, 0, A_BOLD, "Live");
	for (size_t i = 0; i < sizeof(live_rows) / sizeof(live_rows[0]); i++, y++) {
		const json_t *v = json_object_get(t->status, live_rows[i].key);

		put(y, LABEL_COL, 0, "%s", live_rows[i].label);
		put(y, VALUE_COL, 0, "%s", format_value(v, live_rows[i].kind, value, sizeof(value)));
	}
	draw_status_line(t);
	refresh();
}

/* Maps a curses key to the editor's; returns false for keys the editor does not take. */
static bool map_key(int ch, enum edit_key *key)
{
	switch (ch) {
	case '\t': case KEY_DOWN: case KEY_RIGHT:
		*key = EDIT_KEY_NEXT;
		return true;
	case KEY_BTAB: case KEY_UP: case KEY_LEFT:
		*key = EDIT_KEY_PREV;
		return true;
	case '\n': case '\r': case KEY_ENTER:
		*key = EDIT_KEY_ENTER;
		return true;
	case 27:
		*key = EDIT_KEY_ESC;
		return true;
	case KEY_BACKSPACE: case 127: case 8:
		*key = EDIT_KEY_BACKSPACE;
		return true;
	default:
		*key = EDIT_KEY_CHAR;
		return ch > 0 && ch < 128;
	}
}

static void handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: getch() returns at once and the loop restores the terminal. Installed before curses
	 * starts, so that curses keeps its hands off these two. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void loop(struct top *t)
{
	uint64_t next_fetch = 0;

	while (!stop_signal) {
		enum edit_key key;
		int ch;

		if (clock_ms() >= next_fetch) {
			fetch(t);
			next_fetch = clock_ms() + TOP_REFRESH_MS;
		}
		draw(t);
		ch = getch();
		if (ch == ERR || ch == KEY_RESIZE)
			continue;
		if (ch == 'q' && !t->edit.editing)
			break;
		if (map_key(ch, &key) && edit_key(&t->edit, key, ch) == EDIT_SEND) {
			send_targets(t);
			next_fetch = 0;
		}
	}
}

int top_run(const char *sock)
{
	struct top t = { .sock = sock };
	SCREEN *screen;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		log_err("top needs a terminal");
		return CLI_USAGE;
	}
	handle_signals();
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		log_err("top: cannot start curses on this terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return CLI_USAGE;
	}
	edit_init(&t.edit);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(TOP_INPUT_MS);
	loop(&t);
	endwin();
	delscreen(screen);
	json_decref(t.status);
	if (stop_signal) {
		/* Die by the signal, as the shell expects, now that the terminal is back to normal. */
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	return CLI_OK;
}
