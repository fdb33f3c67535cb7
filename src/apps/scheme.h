/*
 * scheme: the swap scheme (docs/LIBUSBD.md). Applied at the first registration: APP/usbd-registered is made (swap
 * allowed) and every other cgroup of the domain is kept out of swap (v1 memory.swappiness 0, v2 memory.swap.max 0),
 * each old value remembered; scheme_undo() puts them back and removes the cgroup. The hierarchy root is left
 * alone (on v1 its swappiness is the global vm.swappiness).
 * cgroup v2 (limits are hierarchical, and a cgroup whose children have controllers holds no processes): APP's own
 * processes move into the leaf APP/usbd-unregistered and the memory controller is enabled for APP's children; the
 * ancestors of APP/usbd-registered (the domain down to APP) keep their memory.swap.max, every other cgroup of the
 * domain (APP/usbd-unregistered among them) gets 0. scheme_undo() moves the processes back into APP and removes
 * the leaf (scheme_unwrap_v2).
 * Return contract: 0 / -errno; failures are logged here.
 */
#ifndef USBD_APPS_SCHEME_H
#define USBD_APPS_SCHEME_H

#include <stdbool.h>

#include "sys/cgroup.h"

#define REGISTRY_CGROUP "usbd-registered"
/* cgroup v2: where the app cgroup's own processes go, so that APP/usbd-registered can have the memory controller. */
#define UNREGISTERED_CGROUP "usbd-unregistered"

struct swap_saved {
	char *name;             /* cgroup name relative to the hierarchy root */
	char old[32];           /* its swap setting before */
};

struct scheme {
	struct cgroup domain, app_cg;
	struct cgroup reg_cg;   /* APP/usbd-registered; its name is set from scheme_init on */
	bool applied;
	struct swap_saved *saved;
	unsigned nsaved;
};

int scheme_init(struct scheme *s, const struct cgroup *domain, const struct cgroup *app);
/*
 * Applies the scheme unless it is. The old values are read first and handed to record(ctx) (the registry writes its
 * state file, so that a killed usbd's changes are repaired at the next start); a failing record changes nothing.
 * On any failure nothing stays changed.
 */
int scheme_apply(struct scheme *s, int (*record)(void *ctx), void *ctx);
/* Restores every saved setting and removes APP/usbd-registered (whose processes must have been moved out). */
void scheme_undo(struct scheme *s);
void scheme_free(struct scheme *s);

/*
 * cgroup v2: moves the processes of APP/usbd-unregistered back into app, turning the memory controller for app's
 * children off first when that leaf is its only child, and removes the leaf. Call once APP/usbd-registered is
 * gone (scheme_undo, and the state file's repair after a crash). Does nothing on v1 or without the leaf.
 */
void scheme_unwrap_v2(const struct cgroup *app);

/* The file holding a cgroup's swap setting: v1 memory.swappiness, v2 memory.swap.max. */
const char *scheme_swap_file(const struct cgroup *cg);

#endif
