#include "control/ctl_tenants.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "balloon/proto.h"
#include "balloon/worker.h"
#include "common/log.h"
#include "control/state.h"
#include "spot/config.h"

_Static_assert(API_TENANTS_MAX == SPOT_MAX_TENANTS && API_TENANT_NAME_LEN == SPOT_NAME_MAX &&
		       API_TENANT_PASSWORD_LEN == SPOT_PASSWORD_MAX, "the API's tenants are the spot store's");

static int spot_off(struct ctl *c, char *err, size_t len)
{
	if (strcmp(c->wk.spot.listen, "off"))
		return 0;
	snprintf(err, len, "spot memory is off (--spot-listen off)");
	return -EINVAL;
}

static int find(const struct spot_config *s, const char *name)
{
	for (uint32_t i = 0; i < s->ntenants; i++)
		if (!strcmp(s->tenants[i].name, name))
			return (int)i;
	return -1;
}

/* Tells a running worker; a stopped one gets the list when it starts. */
static int tell_worker(struct ctl *c, uint32_t verb, const struct spot_tenant_spec *t, char *err, size_t len)
{
	struct wmsg_user_op op = { .verb = verb };
	int r;

	if (!c->wk.up)
		return 0;
	memcpy(op.user.name, t->name, sizeof(op.user.name));
	memcpy(op.user.password, t->password, sizeof(op.user.password));
	op.user.quota = t->quota;
	r = worker_send_user(&c->wk.h, &op);
	explicit_bzero(&op, sizeof(op));
	if (r < 0)
		snprintf(err, len, "cannot tell the balloon worker: %s; nothing changed", strerror(-r));
	return r;
}

int ctl_tenants_list(void *ctx, struct api_tenant *out, size_t *n, char *err, size_t len)
{
	struct ctl *c = ctx;
	const struct spot_config *s = &c->wk.spot;
	int r = spot_off(c, err, len);

	*n = 0;
	if (r)
		return r;
	for (uint32_t i = 0; i < s->ntenants; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		memcpy(out[i].name, s->tenants[i].name, sizeof(out[i].name));
		out[i].quota_mib = (s->tenants[i].quota + (1u << 20) - 1) >> 20;
	}
	*n = s->ntenants;
	return 0;
}

int ctl_tenants_put(void *ctx, const struct api_tenant *t, char *err, size_t len)
{
	struct ctl *c = ctx;
	struct spot_config *s = &c->wk.spot;
	struct spot_tenant_spec spec = { .quota = t->quota_mib << 20 };
	int r = spot_off(c, err, len), i;

	memcpy(spec.name, t->name, sizeof(spec.name));
	memcpy(spec.password, t->password, sizeof(spec.password));
	if (!r)
		r = spot_tenant_check(&spec, err, len);
	i = find(s, spec.name);
	if (!r && i < 0 && s->ntenants == SPOT_MAX_TENANTS) {
		snprintf(err, len, "there are %u tenants already, the most spot memory has", SPOT_MAX_TENANTS);
		r = -ENOSPC;
	}
	if (!r)
		r = tell_worker(c, WUSER_SET, &spec, err, len);
	if (!r) {
		s->tenants[i < 0 ? s->ntenants++ : (uint32_t)i] = spec;
		log_info("spot tenant '%s' %s through the API (quota %llu MiB)", spec.name, i < 0 ? "added" : "changed",
			 (unsigned long long)t->quota_mib);
	}
	explicit_bzero(&spec, sizeof(spec));
	return r;
}

int ctl_tenants_del(void *ctx, const char *name, char *err, size_t len)
{
	struct ctl *c = ctx;
	struct spot_config *s = &c->wk.spot;
	int r = spot_off(c, err, len), i = find(s, name);

	if (!r && i < 0) {
		snprintf(err, len, "no spot tenant is called '%.63s'", name);
		r = -ENOENT;
	}
	if (!r)
		r = tell_worker(c, WUSER_DEL, &s->tenants[i], err, len);
	if (!r) {
		log_info("spot tenant '%s' removed through the API", name);
		explicit_bzero(&s->tenants[i], sizeof(s->tenants[i]));
		memmove(&s->tenants[i], &s->tenants[i + 1], (s->ntenants - (uint32_t)i - 1) * sizeof(s->tenants[0]));
		s->ntenants--;
	}
	return r;
}
