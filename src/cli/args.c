#include "cli/args.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char args_usage[] =
	"usage: usbdctl [--sock PATH | --vsock CID:PORT] [--json] COMMAND    (usbdctl --version: the version)\n"
	"  status                     the daemon's state: grab, swap, free memory, targets, pressure\n"
	"  set FIELD=SIZE...          change targets; FIELD: grab-lower, grab-upper, swap-target, headroom,\n"
	"                             threshold; or amount=SIZE (Firecracker's amount_mib: both grab bounds);\n"
	"                             or stats-interval=SECONDS (a new non-zero interval: statistics are\n"
	"                             switched on or off only by PUT /balloon, as in Firecracker)\n"
	"  stats [--watch [SECONDS]]  the balloon statistics, once or every SECONDS (default 1)\n"
	"  balloon                    the Firecracker balloon settings\n"
	"  top                        live terminal UI with editable targets\n"
	"  record FILE [--seconds N] [--interval-ms MS] [--plot PNG]\n"
	"                             samples app usage, grab and free memory into FILE until N seconds passed\n"
	"                             or Ctrl-C, then draws them into PNG with gnuplot\n"
	"SIZE: MiB, or a number with K/M/G/T (binary); must be a whole number of MiB.\n"
	"Socket: --sock, else $USBD_SOCK, else " ARGS_DEFAULT_SOCK "; --vsock CID:PORT reaches usbd --api-vsock PORT\n"
	"in the VM guest with that CID.\n"
	"Exit status: 0 ok, 1 refused by the daemon, 2 usage error, 3 cannot reach the daemon.\n";

static const struct {
	const char *name;
	enum cli_command cmd;
} commands[] = {
	{ "status", CMD_STATUS }, { "set", CMD_SET },	  { "stats", CMD_STATS },
	{ "top", CMD_TOP },	  { "balloon", CMD_BALLOON }, { "help", CMD_HELP },
	{ "record", CMD_RECORD },
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int size_error(char *err, size_t errlen, const char *field, const char *text, int rc)
{
	return fail(err, errlen, "%s: %s '%s'", field, target_size_error(rc), text);
}

/* Parses the SECONDS of `set stats-interval=SECONDS`: a whole number, 0 to 65535 (Firecracker's u16). */
static int parse_interval(const char *text, struct cli_args *out, char *err, size_t errlen)
{
	char *end;
	unsigned long s;

	if (out->has_interval)
		return fail(err, errlen, "set: stats-interval given twice");
	errno = 0;
	s = text[0] >= '0' && text[0] <= '9' ? strtoul(text, &end, 10) : ULONG_MAX;
	if (s == ULONG_MAX || *end || errno || s > UINT16_MAX)
		return fail(err, errlen, "stats-interval: expected 0 to %u seconds, got '%s'", UINT16_MAX, text);
	out->has_interval = true;
	out->interval_s = (uint16_t)s;
	return 0;
}

/* Parses one FIELD=SIZE of `set`. */
static int parse_assignment(const char *arg, struct cli_args *out, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char name[32];
	uint64_t mib;
	int field, rc;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return fail(err, errlen, "set: expected FIELD=SIZE, got '%s'", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (!strcmp(name, "stats-interval"))
		return parse_interval(eq + 1, out, err, errlen);
	rc = target_size_mib(eq + 1, &mib);
	if (!strcmp(name, "amount")) {
		if (out->has_amount)
			return fail(err, errlen, "set: amount given twice");
		/* Firecracker's amount_mib is a u32. */
		if (!rc && mib > UINT32_MAX)
			rc = -ERANGE;
		if (rc)
			return size_error(err, errlen, name, eq + 1, rc);
		out->has_amount = true;
		out->amount_mib = (uint32_t)mib;
		return 0;
	}
	field = target_lookup(name);
	if (field < 0)
		return fail(err, errlen, "set: unknown field '%s'", name);
	if (out->targets.mask & (1u << field))
		return fail(err, errlen, "set: %s given twice", name);
	if (rc)
		return size_error(err, errlen, name, eq + 1, rc);
	out->targets.mask |= 1u << field;
	out->targets.mib[field] = mib;
	return 0;
}

/* Reads SECONDS after --watch if the next word is a number; returns how many words it used (0 or 1). */
static int parse_watch(const char *next, struct cli_args *out, char *err, size_t errlen)
{
	char *end;
	unsigned long s;

	out->watch_s = 1;
	if (!next || next[0] < '0' || next[0] > '9')
		return 0;
	errno = 0;
	s = strtoul(next, &end, 10);
	if (*end || errno || s < 1 || s > ARGS_MAX_WATCH_S)
		return fail(err, errlen, "stats: --watch takes 1 to %d seconds, got '%s'", ARGS_MAX_WATCH_S, next);
	out->watch_s = (unsigned)s;
	return 1;
}

/* Reads the number after a record option: 1..max. Returns 1 (words used) or -EINVAL. */
static int parse_count(const char *opt, const char *next, unsigned max, unsigned *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = next && next[0] >= '0' && next[0] <= '9' ? strtoul(next, &end, 10) : 0;
	if (!v || *end || errno || v > max)
		return fail(err, errlen, "record: %s takes 1 to %u, got '%s'", opt, max, next ? next : "nothing");
	*out = (unsigned)v;
	return 1;
}

static int parse_record(const char *arg, const char *next, struct cli_args *out, char *err, size_t errlen)
{
	if (!strcmp(arg, "--seconds"))
		return parse_count(arg, next, 7 * 86400, &out->record_s, err, errlen);
	if (!strcmp(arg, "--interval-ms"))
		return parse_count(arg, next, 60000, &out->interval_ms, err, errlen);
	if (!strcmp(arg, "--plot")) {
		if (!next || !*next)
			return fail(err, errlen, "record: --plot needs a FILE");
		out->plot_file = next;
		return 1;
	}
	if (arg[0] == '-')
		return fail(err, errlen, "unknown option '%s'", arg);
	if (out->record_file)
		return fail(err, errlen, "record: one FILE only, got '%s' and '%s'", out->record_file, arg);
	out->record_file = arg;
	return 0;
}

/* --vsock CID:PORT: the API on a VM guest's vsock port, from the host (the guest's CID) or another guest. */
static int parse_vsock(const char *text, struct cli_args *out, char *err, size_t errlen)
{
	unsigned long long cid, port;
	char *end;

	if (!text || *text < '0' || *text > '9')
		return fail(err, errlen, "--vsock needs CID:PORT");
	cid = strtoull(text, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return fail(err, errlen, "--vsock: expected CID:PORT, got '%s'", text);
	port = strtoull(end + 1, &end, 10);
	if (*end || cid >= UINT32_MAX || port == 0 || port >= UINT32_MAX)
		return fail(err, errlen, "--vsock: expected CID:PORT (each below 4294967295, PORT from 1), got '%s'", text);
	snprintf(out->vsock_addr, sizeof(out->vsock_addr), "vsock:%llu:%llu", cid, port);
	out->sock = out->vsock_addr;
	return 0;
}

static int parse_command(const char *word, struct cli_args *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(word, commands[i].name)) {
			out->cmd = commands[i].cmd;
			return 0;
		}
	}
	return fail(err, errlen, "unknown command '%s'", word);
}

/* Handles one word after the command. Returns words consumed beyond `arg` (0 or 1) or -EINVAL. */
static int parse_operand(const char *arg, const char *next, struct cli_args *out, char *err, size_t errlen)
{
	if (out->cmd == CMD_STATS && !strcmp(arg, "--watch"))
		return parse_watch(next, out, err, errlen);
	if (out->cmd == CMD_RECORD)
		return parse_record(arg, next, out, err, errlen);
	if (arg[0] == '-')
		return fail(err, errlen, "unknown option '%s'", arg);
	if (out->cmd == CMD_SET)
		return parse_assignment(arg, out, err, errlen);
	return fail(err, errlen, "unexpected argument '%s'", arg);
}

int args_parse(int argc, char *const argv[], const char *env_sock, struct cli_args *out, char *err, size_t errlen)
{
	bool have_cmd = false;
	int rc;

	*out = (struct cli_args){ .sock = env_sock && *env_sock ? env_sock : ARGS_DEFAULT_SOCK };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			out->json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			out->cmd = CMD_HELP;
			return 0;
		} else if (!strcmp(a, "--sock") || !strncmp(a, "--sock=", 7)) {
			const char *path = a[6] == '=' ? a + 7 : i + 1 < argc ? argv[++i] : NULL;
			if (!path || !*path)
				return fail(err, errlen, "--sock needs a PATH");
			out->sock = path;
		} else if (!strcmp(a, "--vsock") || !strncmp(a, "--vsock=", 8)) {
			rc = parse_vsock(a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : NULL, out, err, errlen);
			if (rc)
				return rc;
		} else if (!have_cmd) {
			if (a[0] == '-')
				return fail(err, errlen, "unknown option '%s'", a);
			rc = parse_command(a, out, err, errlen);
			if (rc)
				return rc;
			have_cmd = true;
		} else {
			rc = parse_operand(a, i + 1 < argc ? argv[i + 1] : NULL, out, err, errlen);
			if (rc < 0)
				return rc;
			i += rc;
		}
	}
	if (!have_cmd)
		return fail(err, errlen, "no command given");
	if (out->cmd == CMD_RECORD && !out->record_file)
		return fail(err, errlen, "record: which FILE?");
	if (out->cmd == CMD_RECORD && !out->interval_ms)
		out->interval_ms = 500;
	if (out->cmd == CMD_SET && !out->targets.mask && !out->has_amount && !out->has_interval)
		return fail(err, errlen, "set: nothing to set");
	/*
	 * Two requests could half-succeed: amount (PATCH /balloon), stats-interval (PATCH /balloon/statistics) and
	 * the targets (PATCH /usbd/targets) each go alone.
	 */
	if (out->cmd == CMD_SET && (out->targets.mask != 0) + out->has_amount + out->has_interval > 1)
		return fail(err, errlen, "set: %s cannot be combined with other fields",
			    out->has_amount ? "amount" : "stats-interval");
	return 0;
}
