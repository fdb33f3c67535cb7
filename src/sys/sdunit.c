/* sdunit: systemd units through systemctl (see sdunit.h). */
#include "sys/sdunit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/procfs.h"

extern char **environ;

#define UNIT_MAX 256

static const char *systemctl(void)
{
	const char *p = getenv("USBD_SYSTEMCTL");

	return p && *p ? p : "systemctl";
}

bool sdunit_booted(void)
{
	const char *p = getenv("USBD_SYSTEMCTL");

	return (p && *p) || access("/run/systemd/system", F_OK) == 0;
}

/* A unit name as systemd spells one, never taken for an option: letters, digits and ":-_.\@", and a dot. */
static bool unit_name_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n >= UNIT_MAX || u[0] == '-' || u[0] == '.' || !strchr(u, '.'))
		return false;
	return strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@") == n;
}

/* Runs argv with stdin from /dev/null and stdout into out (NUL-terminated; may be NULL); stderr stays usbd's. */
static int run(char *const argv[], char *out, size_t len)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char sink[256];
	size_t used = 0;
	int p[2], status, err = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	if ((err = posix_spawn_file_actions_init(&fa))) {
		close(p[0]);
		close(p[1]);
		return -err;
	}
	/* The controller blocks the signals its signalfd reads: systemctl gets none blocked, every one default. */
	sigemptyset(&none);
	sigfillset(&all);
	if ((err = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (!(err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) &&
	    !(err = posix_spawnattr_setsigmask(&attr, &none)) && !(err = posix_spawnattr_setsigdefault(&attr, &all)) &&
	    !(err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, p[1], 1)))
		err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err) {
		close(p[0]);
		return -err;
	}
	for (;;) {
		char *to = out && used + 1 < len ? out + used : sink;
		size_t room = out && used + 1 < len ? len - 1 - used : sizeof(sink);
		ssize_t n = read(p[0], to, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (to == sink)
			err = out ? -E2BIG : 0;
		else
			used += (size_t)n;
	}
	close(p[0]);
	if (out)
		out[used] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	return err;
}

int sdunit_show(const char *unit, const char *prop, char *out, size_t len)
{
	char *argv[] = { (char *)systemctl(), "show", "-P", (char *)prop, "--", (char *)unit, NULL };
	int err;

	if (!unit_name_ok(unit) || len == 0)
		return -EINVAL;
	if ((err = run(argv, out, len)))
		return err;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

int sdunit_set_runtime(const char *unit, const char *prop, const char *value)
{
	char assign[128];
	char *argv[] = { (char *)systemctl(), "set-property", "--runtime", "--no-ask-password", "--", (char *)unit,
			 assign, NULL };

	if (!unit_name_ok(unit))
		return -EINVAL;
	if ((size_t)snprintf(assign, sizeof(assign), "%s=%s", prop, value) >= sizeof(assign))
		return -E2BIG;
	return run(argv, NULL, 0);
}

int sdunit_cgroup(const char *unit, char *cgname, size_t len)
{
	char cg[PATH_MAX];
	int err = sdunit_show(unit, "ControlGroup", cg, sizeof(cg));

	if (err)
		return err;
	if (cg[0] != '/')
		return -ENOENT;
	if ((size_t)snprintf(cgname, len, "%s", cg + 1) >= len)
		return -E2BIG;
	return 0;
}

static bool has_unit_suffix(const char *base)
{
	static const char *const suffixes[] = { ".service", ".scope", ".slice", ".socket", ".mount", ".swap" };
	size_t n = strlen(base), i;

	for (i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t s = strlen(suffixes[i]);
		if (n > s && !strcmp(base + n - s, suffixes[i]))
			return true;
	}
	return false;
}

/* Whether the unit named as the last component of cgname owns exactly that cgroup: 1, 0, or -errno. */
static int unit_owns(const char *cgname, char *unit, size_t len)
{
	const char *base = strrchr(cgname, '/');
	char cg[PATH_MAX];
	int err;

	base = base ? base + 1 : cgname;
	if (!has_unit_suffix(base) || !unit_name_ok(base))
		return 0;
	if ((err = sdunit_cgroup(base, cg, sizeof(cg))) == -ENOENT)
		return 0;
	if (err)
		return err;
	if (strcmp(cg, cgname))
		return 0;
	return (size_t)snprintf(unit, len, "%s", base) < len ? 1 : -E2BIG;
}

int sdunit_of_cgroup(const struct cgroup *cg, char *unit, size_t len)
{
	if (cg->hier->version != 2 || !*cg->name || !sdunit_booted())
		return 0;
	return unit_owns(cg->name, unit, len);
}

const char *sdunit_memory_property(const char *file)
{
	static const char *const map[][2] = {
		{ "memory.max", "MemoryMax" }, { "memory.high", "MemoryHigh" }, { "memory.swap.max", "MemorySwapMax" },
		{ "memory.low", "MemoryLow" }, { "memory.min", "MemoryMin" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(file, map[i][0]))
			return map[i][1];
	return NULL;
}

/* Whether cg is a unit's own cgroup and, if so, the unit's property prop, in one systemctl call: 1, 0, -errno. */
static int unit_property(const struct cgroup *cg, const char *prop, char *buf, size_t len)
{
	const char *base = strrchr(cg->name, '/');
	char out[PATH_MAX + 256], *line, *save = NULL;
	const char *cgv = NULL, *v = NULL;
	size_t n = strlen(prop);
	int err;

	base = base ? base + 1 : cg->name;
	if (cg->hier->version != 2 || !*cg->name || !sdunit_booted() || !has_unit_suffix(base) || !unit_name_ok(base))
		return 0;
	{
		char *argv[] = { (char *)systemctl(), "show", "-p", "ControlGroup", "-p", (char *)prop, "--",
				 (char *)base, NULL };
		if ((err = run(argv, out, sizeof(out))))
			return err;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "ControlGroup=", 13))
			cgv = line + 13;
		else if (!strncmp(line, prop, n) && line[n] == '=')
			v = line + n + 1;
	}
	if (!cgv || cgv[0] != '/' || strcmp(cgv + 1, cg->name))
		return 0;
	if (!v)
		return -EIO;
	if ((size_t)snprintf(buf, len, "%s", strcmp(v, "infinity") ? v : "max") >= len)
		return -E2BIG;
	return 1;
}

int cg_knob_read(const struct cgroup *cg, const char *file, char *buf, size_t len)
{
	const char *prop = cg->hier->version == 2 ? sdunit_memory_property(file) : NULL;
	int r = prop ? unit_property(cg, prop, buf, len) : 0;

	if (r < 0)
		return r;
	if (r == 1)
		return 0;
	if ((r = cg_read_file(cg, file, buf, len)) < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int cg_knob_write(const struct cgroup *cg, const char *file, const char *value)
{
	const char *prop = cg->hier->version == 2 ? sdunit_memory_property(file) : NULL;
	char unit[UNIT_MAX];
	int r = prop ? sdunit_of_cgroup(cg, unit, sizeof(unit)) : 0;

	if (r < 0)
		return r;
	if (r == 1)
		return sdunit_set_runtime(unit, prop, strcmp(value, "max") ? value : "infinity");
	return cg_write_file(cg, file, value);
}

int sdunit_self_delegated(const struct cg_hier *h, char *cgname, size_t len)
{
	char buf[PATH_MAX + 64], unit[UNIT_MAX], delegate[16];
	char *self;
	int r;

	if (h->version != 2 || !sdunit_booted())
		return 0;
	/* cgroup v2's line is "0::/path"; a hybrid host lists v1 hierarchies before it. */
	if (read_small_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return 0;
	if (!strncmp(buf, "0::/", 4))
		self = buf + 4;
	else if ((self = strstr(buf, "\n0::/")))
		self += 5;
	else
		return 0;
	self[strcspn(self, "\n")] = '\0';
	if ((r = unit_owns(self, unit, sizeof(unit))) <= 0)
		return r;
	if ((r = sdunit_show(unit, "Delegate", delegate, sizeof(delegate))))
		return r;
	if (strcmp(delegate, "yes"))
		return 0;
	return (size_t)snprintf(cgname, len, "%s", self) < len ? 1 : -E2BIG;
}
