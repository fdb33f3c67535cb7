/*
 * spot_server: runs the spot tenant standalone, playing the balloon worker's part, so that real Redis clients
 * can be tested against it. It maps N chunks itself and hands them over with chunk_added; deflation is
 * simulated with chunks_take, and taken chunks are unmapped at once, so a read from a taken chunk would crash.
 *   spot_server [--listen ADDR:PORT] [--chunks N] [--password PW] [--max-clients N] [--max-keys N]
 *               [--max-output BYTES] [--max-query BYTES] [--tenants-file FILE] [--plain-io]
 *   --plain-io: one system call per socket read and write, as where io_uring is unavailable.
 *   SIGUSR1: take half the chunks held (at least one). SIGUSR2: add chunks back up to N. SIGTERM/SIGINT: exit.
 *   stdin lines: "take K", "add K", "stats" (prints one line of counters to stdout).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "balloon/proto.h"
#include "balloon/worker.h"
#include "common/log.h"
#include "spot/config.h"
#include "spot/spot.h"
#include "spot/store.h"

#define CHUNK STORE_CHUNK_SIZE

static struct worker_tenant *t;
static size_t held, target;

static void *map_chunk(void)
{
	char *p = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	/* Over-map by a chunk and trim, for the 2 MiB alignment the worker's chunks have. */
	a = ((uintptr_t)p + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + CHUNK, (uintptr_t)p + CHUNK - a);
	return (void *)a;
}

static void add_chunks(size_t k)
{
	for (size_t i = 0; i < k; i++) {
		void *base = map_chunk();

		if (!base)
			fatal("mmap: %s", strerror(errno));
		t->chunk_added(t->ctx, base, CHUNK);
		held++;
	}
}

static void take_chunks(size_t k)
{
	void **out = calloc(k ? k : 1, sizeof(*out));
	size_t got;

	if (!out)
		fatal("no memory");
	got = t->chunks_take(t->ctx, k, out);
	for (size_t i = 0; i < got; i++)
		if (munmap(out[i], CHUNK) < 0)
			fatal("munmap: %s", strerror(errno));
	held -= got;
	free(out);
}

static void print_stats(void)
{
	struct tenant_stats st;

	t->stats(t->ctx, &st);
	printf("chunks=%zu used=%llu keys=%llu evictions=%llu losses=%llu clients=%llu lost_bytes=%llu commands=%llu "
	       "hits=%llu misses=%llu\n", held, (unsigned long long)st.used, (unsigned long long)st.keys,
	       (unsigned long long)st.evictions, (unsigned long long)st.lost_keys, (unsigned long long)st.clients,
	       (unsigned long long)st.lost_bytes, (unsigned long long)st.commands, (unsigned long long)st.hits,
	       (unsigned long long)st.misses);
	fflush(stdout);
}

static void stdin_command(char *line)
{
	unsigned long k = 0;

	if (sscanf(line, "take %lu", &k) == 1)
		take_chunks(k);
	else if (sscanf(line, "add %lu", &k) == 1)
		add_chunks(k);
	else if (strncmp(line, "stats", 5) == 0)
		print_stats();
	else
		log_warn("spot_server: unknown command: %s", line);
}

static void load_tenants(struct spot_config *cfg, const char *path)
{
	static char text[64 * 1024];
	char err[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		fatal("%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (spot_config_parse_tenants(text, n, cfg, err, sizeof(err)) < 0)
		fatal("%s: %s", path, err);
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },      { "chunks", required_argument, NULL, 'c' },
		{ "password", required_argument, NULL, 'p' },    { "max-clients", required_argument, NULL, 'm' },
		{ "max-keys", required_argument, NULL, 'k' },    { "max-output", required_argument, NULL, 'o' },
		{ "tenants-file", required_argument, NULL, 't' }, { "plain-io", no_argument, NULL, 'P' },
		{ "max-query", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct spot_config cfg;
	sigset_t mask;
	int ep, sfd, tfd, opt;
	bool running = true;
	char line[256];
	size_t line_len = 0;

	log_set_ident("spot_server");
	spot_config_init(&cfg);
	target = 16;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': snprintf(cfg.listen, sizeof(cfg.listen), "%s", optarg); break;
		case 'c': target = strtoul(optarg, NULL, 10); break;
		case 'p': snprintf(cfg.password, sizeof(cfg.password), "%s", optarg); break;
		case 'm': cfg.max_clients = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': cfg.max_keys = strtoull(optarg, NULL, 10); break;
		case 'o': cfg.max_output = strtoull(optarg, NULL, 10); break;
		case 'q': cfg.max_query = strtoull(optarg, NULL, 10); break;
		case 't': load_tenants(&cfg, optarg); break;
		case 'P': cfg.plain_io = true; break;
		default: fprintf(stderr, "usage: see the comment at the top of spot_server.c\n"); return 2;
		}
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		fatal("signalfd: %s", strerror(errno));
	t = spot_tenant_new(&cfg);
	if (!t)
		return 1;
	add_chunks(target);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = t->epoll_fd(t->ctx);
	if (ep < 0 || watch(ep, tfd) < 0 || watch(ep, sfd) < 0)
		fatal("epoll: %s", strerror(errno));
	/* stdin may be a file or /dev/null, which epoll refuses: then there are just no stdin commands. */
	bool use_stdin = watch(ep, STDIN_FILENO) == 0;

	while (running) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, -1);

		if (n < 0 && errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == tfd) {
				t->run(t->ctx);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					fatal("signalfd read: %s", strerror(errno));
				if (si.ssi_signo == SIGUSR1)
					take_chunks(held / 2 ? held / 2 : 1);
				else if (si.ssi_signo == SIGUSR2)
					add_chunks(target > held ? target - held : 0);
				else
					running = false;
			} else if (use_stdin) {
				ssize_t r = read(STDIN_FILENO, line + line_len, sizeof(line) - 1 - line_len);
				char *nl;

				if (r <= 0) {
					if (epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL) < 0)
						fatal("epoll_ctl: %s", strerror(errno));
					use_stdin = false;
					continue;
				}
				line_len += (size_t)r;
				line[line_len] = '\0';
				while ((nl = strchr(line, '\n'))) {
					*nl = '\0';
					stdin_command(line);
					line_len -= (size_t)(nl + 1 - line);
					memmove(line, nl + 1, line_len + 1);
				}
				if (line_len == sizeof(line) - 1)
					line_len = 0;
			}
		}
	}
	take_chunks(held);
	t->destroy(t->ctx);
	close(ep);
	close(sfd);
	return 0;
}
