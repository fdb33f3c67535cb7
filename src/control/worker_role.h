/*
 * worker_role: usbd's own balloon worker image. The controller puts the spot store's settings into the worker's
 * config (they reach the worker in WMSG_SETUP, see balloon/worker.h); main() hands the hidden worker role to
 * usbd_worker_role, which serves with the spot store as tenant, made from those settings.
 */
#ifndef USBD_CONTROL_WORKER_ROLE_H
#define USBD_CONTROL_WORKER_ROLE_H

#include "balloon/worker.h"
#include "spot/spot.h"

/* Sets cfg->with_tenant and cfg->tenant from the spot config, password included (`reclaimable` is not sent:
 * the worker derives it from the balloon's mode). */
void worker_role_spot_settings(const struct spot_config *spot, struct worker_config *cfg);

/* The worker role of usbd (main() calls it when worker_role_requested()): worker_role_main with the spot store
 * as tenant. Returns the process's exit status. */
int usbd_worker_role(int argc, char **argv);

#endif
