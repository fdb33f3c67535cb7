/* usbd's worker image: the spot store's settings to and from the worker's WMSG_SETUP. */
#include "control/worker_role.h"

#include <string.h>

_Static_assert(sizeof(((struct spot_config *)0)->listen) == sizeof(((struct wmsg_tenant *)0)->listen),
	       "the listen address fits the setup");
_Static_assert(sizeof(((struct spot_config *)0)->password) == sizeof(((struct wmsg_tenant *)0)->password),
	       "the password fits the setup");
_Static_assert(SPOT_MAX_TENANTS == WMSG_USERS_MAX && SPOT_NAME_MAX == sizeof(((struct wmsg_user *)0)->name) &&
		       SPOT_PASSWORD_MAX == sizeof(((struct wmsg_user *)0)->password),
	       "the tenants fit the setup");

void worker_role_spot_settings(const struct spot_config *spot, struct worker_config *cfg)
{
	struct wmsg_tenant *t = &cfg->tenant;

	memset(t, 0, sizeof(*t));
	memcpy(t->listen, spot->listen, sizeof(t->listen));
	memcpy(t->password, spot->password, sizeof(t->password));
	t->max_clients = spot->max_clients;
	t->max_keys = spot->max_keys;
	t->max_query = spot->max_query;
	t->max_output = spot->max_output;
	t->nusers = spot->ntenants;
	for (uint32_t i = 0; i < spot->ntenants; i++) {
		memcpy(t->users[i].name, spot->tenants[i].name, sizeof(t->users[i].name));
		memcpy(t->users[i].password, spot->tenants[i].password, sizeof(t->users[i].password));
		t->users[i].quota = spot->tenants[i].quota;
	}
	cfg->with_tenant = true;
}

/* worker_role_main's tenant: the spot store, from the settings the controller sent. */
static struct worker_tenant *spot_from_setup(const void *arg)
{
	const struct wmsg_setup *s = arg;
	struct worker_tenant *t;
	struct spot_config cfg;

	spot_config_init(&cfg);
	memcpy(cfg.listen, s->tenant.listen, sizeof(cfg.listen));
	memcpy(cfg.password, s->tenant.password, sizeof(cfg.password));
	cfg.max_clients = s->tenant.max_clients;
	cfg.max_keys = s->tenant.max_keys;
	cfg.max_query = s->tenant.max_query;
	cfg.max_output = s->tenant.max_output;
	cfg.ntenants = s->tenant.nusers;
	for (uint32_t i = 0; i < cfg.ntenants; i++) {
		memcpy(cfg.tenants[i].name, s->tenant.users[i].name, sizeof(cfg.tenants[i].name));
		memcpy(cfg.tenants[i].password, s->tenant.users[i].password, sizeof(cfg.tenants[i].password));
		cfg.tenants[i].quota = s->tenant.users[i].quota;
	}
	cfg.reclaimable = s->mode == BALLOON_RECLAIMABLE;
	t = spot_tenant_new(&cfg);
	/* The server kept its own copy of the password. */
	explicit_bzero(&cfg, sizeof(cfg));
	return t;
}

int usbd_worker_role(int argc, char **argv)
{
	return worker_role_main(argc, argv, spot_from_setup);
}
