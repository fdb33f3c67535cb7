/*
 * config: the spot store's settings and the parsing of its listen address. Shared by the server (which listens as
 * it says) and the tenant (which creates the server); it depends on neither.
 */
#ifndef USBD_SPOT_CONFIG_H
#define USBD_SPOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SPOT_DEFAULT_LISTEN "127.0.0.1:6390"
#define SPOT_DEFAULT_MAX_CLIENTS 10000u

/* Tenants besides the default user (Redis 6 ACL users), each with its own keyspace and byte quota. */
#define SPOT_MAX_TENANTS 16u
#define SPOT_NAME_MAX 64u       /* bytes of a user name, with its NUL */
#define SPOT_PASSWORD_MAX 128u  /* bytes of a password, with its NUL */

struct spot_tenant_spec {
	char name[SPOT_NAME_MAX];       /* 1-63 of A-Z a-z 0-9 _ . -; never "default" */
	char password[SPOT_PASSWORD_MAX]; /* 1-127 printable bytes, no spaces */
	uint64_t quota;                 /* bytes of item slots at most; 0: none (the capacity bounds it) */
};

struct spot_config {
	char listen[64];        /* "127.0.0.1:6390", "[::1]:6390", "localhost:6390" or "off" (no listener) */
	char password[128];     /* "" for none; required to listen on a non-loopback address (protected mode) */
	uint32_t max_clients;   /* 0: SPOT_DEFAULT_MAX_CLIENTS */
	uint64_t max_keys;      /* bound of the index; 0: STORE_DEFAULT_MAX_KEYS */
	uint64_t max_query;     /* unparsed input bytes per client; 0: RESP_MAX_QUERY */
	uint64_t max_output;    /* pending reply bytes per client, past which it is dropped; 0: 64 MiB */
	bool reclaimable;       /* the balloon is in reclaimable mode: verify reads, re-free written pages */
	bool plain_io;          /* no io_uring: one system call per socket read and write, as where it is unavailable */
	uint32_t ntenants;
	struct spot_tenant_spec tenants[SPOT_MAX_TENANTS];
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

/* Checks a tenant's fields (name, password, quota as above): 0, or -EINVAL with why in err. */
int spot_tenant_check(const struct spot_tenant_spec *t, char *err, size_t errlen);

/*
 * Parses a tenants file: one tenant per line, "NAME PASSWORD [QUOTA]" separated by spaces or tabs (QUOTA a SIZE as
 * common/size.h reads it: "64M", "1G"; none or 0: no quota); empty lines and lines starting with '#' are skipped.
 * Appends them to cfg->tenants. Returns 0, or -EINVAL with "line N: why" in err (never the password) and cfg's
 * tenants unchanged.
 */
int spot_config_parse_tenants(const char *text, size_t len, struct spot_config *cfg, char *err, size_t errlen);

#endif
