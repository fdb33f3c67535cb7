#include "spot/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"

void spot_config_init(struct spot_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", SPOT_DEFAULT_LISTEN);
}

int spot_config_parse_listen(const char *text, struct spot_listen *out)
{
	char host[64];
	const char *colon, *h = text;
	size_t hlen;
	long port;
	char *end;

	memset(out, 0, sizeof(*out));
	if (strcmp(text, "off") == 0) {
		out->off = true;
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon || colon == text)
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 3 || text[hlen - 1] != ']')
			return -EINVAL;
		h = text + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || colon[1] == '+' || colon[1] == '-' || port < 1 || port > 65535)
		return -EINVAL;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (text[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin);
		out->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin6);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '.' || ch == '-';
}

int spot_tenant_check(const struct spot_tenant_spec *t, char *err, size_t errlen)
{
	size_t n = strnlen(t->name, sizeof(t->name)), pn = strnlen(t->password, sizeof(t->password));

	if (n == 0 || n == sizeof(t->name)) {
		snprintf(err, errlen, "a tenant name must be 1 to %u bytes", SPOT_NAME_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!name_char(t->name[i])) {
			snprintf(err, errlen, "a tenant name may only hold A-Z a-z 0-9 _ . -");
			return -EINVAL;
		}
	if (strcmp(t->name, "default") == 0) {
		snprintf(err, errlen, "'default' is the default user, not a tenant");
		return -EINVAL;
	}
	if (pn == 0 || pn == sizeof(t->password)) {
		snprintf(err, errlen, "tenant %s: a password must be 1 to %u bytes", t->name, SPOT_PASSWORD_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < pn; i++)
		if ((unsigned char)t->password[i] <= ' ' || (unsigned char)t->password[i] > '~') {
			snprintf(err, errlen, "tenant %s: a password may only hold printable characters, no spaces",
				 t->name);
			return -EINVAL;
		}
	return 0;
}

/* The next field of a line (spaces and tabs between fields): its length, 0 at the end. */
static size_t next_field(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*p = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	return (size_t)(s - *p);
}

/* One non-empty line into *t: 0, or -EINVAL with why in err. */
static int parse_tenant_line(const char *p, const char *end, struct spot_tenant_spec *t, char *err, size_t errlen)
{
	const char *f[4];
	size_t n[4], k = 0;
	char quota[32];

	memset(t, 0, sizeof(*t));
	for (; k < 4 && (n[k] = next_field(&p, end)) > 0; k++) {
		f[k] = p;
		p += n[k];
	}
	if (k < 2 || k > 3) {
		snprintf(err, errlen, "want NAME PASSWORD [QUOTA]");
		return -EINVAL;
	}
	if (n[0] >= sizeof(t->name) || n[1] >= sizeof(t->password)) {
		snprintf(err, errlen, "a name is at most %u bytes, a password at most %u", SPOT_NAME_MAX - 1,
			 SPOT_PASSWORD_MAX - 1);
		return -EINVAL;
	}
	memcpy(t->name, f[0], n[0]);
	memcpy(t->password, f[1], n[1]);
	if (k == 3) {
		if (n[2] >= sizeof(quota)) {
			snprintf(err, errlen, "tenant %s: the quota is not a size", t->name);
			return -EINVAL;
		}
		memcpy(quota, f[2], n[2]);
		quota[n[2]] = '\0';
		if (size_parse(quota, &t->quota) < 0) {
			snprintf(err, errlen, "tenant %s: the quota '%s' is not a size (64M, 1G)", t->name, quota);
			return -EINVAL;
		}
	}
	return spot_tenant_check(t, err, errlen);
}

int spot_config_parse_tenants(const char *text, size_t len, struct spot_config *cfg, char *err, size_t errlen)
{
	struct spot_tenant_spec got[SPOT_MAX_TENANTS];
	const char *p = text, *end = text + len;
	uint32_t n = cfg->ntenants, line = 0;
	char why[160];
	int rc = 0;

	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q = p;
		const char *stop = eol ? eol : end;

		line++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		if (next_field(&q, stop) == 0 || *q == '#') {
			p = eol ? eol + 1 : end;
			continue;
		}
		if (memchr(p, '\0', (size_t)(stop - p))) {
			snprintf(why, sizeof(why), "a NUL byte");
			rc = -EINVAL;
		} else if (n >= SPOT_MAX_TENANTS) {
			snprintf(why, sizeof(why), "more than %u tenants", SPOT_MAX_TENANTS);
			rc = -EINVAL;
		} else {
			rc = parse_tenant_line(p, stop, &got[n - cfg->ntenants], why, sizeof(why));
		}
		for (uint32_t i = 0; rc == 0 && i < n; i++) {
			const char *name = i < cfg->ntenants ? cfg->tenants[i].name : got[i - cfg->ntenants].name;

			if (strcmp(name, got[n - cfg->ntenants].name) == 0) {
				snprintf(why, sizeof(why), "tenant %s is defined twice", name);
				rc = -EINVAL;
			}
		}
		if (rc == 0)
			n++;
		p = eol ? eol + 1 : end;
	}
	if (rc == 0) {
		memcpy(&cfg->tenants[cfg->ntenants], got, (n - cfg->ntenants) * sizeof(got[0]));
		cfg->ntenants = n;
	} else {
		snprintf(err, errlen, "line %u: %s", line, why);
	}
	explicit_bzero(got, sizeof(got));
	return rc;
}
