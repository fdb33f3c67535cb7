/*
 * config: the spot store's settings and the parsing of its listen address. Shared by the server (which listens as
 * it says) and the tenant (which creates the server); it depends on neither.
 */
#ifndef USBD_SPOT_CONFIG_H
#define USBD_SPOT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SPOT_DEFAULT_LISTEN "127.0.0.1:6390"
#define SPOT_DEFAULT_MAX_CLIENTS 10000u

struct spot_config {
	char listen[64];        /* "127.0.0.1:6390", "[::1]:6390", "localhost:6390" or "off" (no listener) */
	char password[128];     /* "" for none; required to listen on a non-loopback address (protected mode) */
	uint32_t max_clients;   /* 0: SPOT_DEFAULT_MAX_CLIENTS */
	uint64_t max_keys;      /* bound of the index; 0: STORE_DEFAULT_MAX_KEYS */
	uint64_t max_query;     /* unparsed input bytes per client; 0: RESP_MAX_QUERY */
	uint64_t max_output;    /* pending reply bytes per client, past which it is dropped; 0: 64 MiB */
	bool reclaimable;       /* the balloon is in reclaimable mode: verify reads, re-free written pages */
};

struct spot_listen {
	bool off;
	bool loopback;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Defaults: listen on SPOT_DEFAULT_LISTEN, no password, default caps. */
void spot_config_init(struct spot_config *cfg);

/* Parses "IPV4:PORT", "[IPV6]:PORT", "localhost:PORT" (numeric addresses only, port 1-65535) or "off".
 * Returns 0 and fills *out, or -EINVAL. */
int spot_config_parse_listen(const char *text, struct spot_listen *out);

#endif
