/* ctl_api: the controller's side of the control API — the backend src/api calls into, and its socket. */
#ifndef USBD_CONTROL_CTL_API_H
#define USBD_CONTROL_CTL_API_H

#include <stdint.h>

struct ctl;
struct api_backend;

/* The API's backend on c, for another server of the same state (the metrics endpoint, ctl_metrics.h). */
void ctl_api_backend(struct ctl *c, struct api_backend *be);

/* Opens the API socket (unless --api-sock off). Called before usbd changes anything on the system, so that a
 * taken socket path refuses the start with nothing to undo. Returns 0 or -errno (logged). */
int ctl_api_open(struct ctl *c);
/* Tells systemd usbd is ready (Type=notify), once the worker runs. */
void ctl_api_ready(struct ctl *c);
/* Serves what the API socket has ready; never blocks. */
void ctl_api_run(struct ctl *c);
/* Periodic work: statistics refresh, API timeouts. */
void ctl_api_tick(struct ctl *c, uint64_t now_ms);
/* Closes the socket and removes its file. */
void ctl_api_close(struct ctl *c);

#endif
