/* ctl_api: the controller's side of the control API — the backend src/api calls into, and its socket. */
#ifndef USBD_CONTROL_CTL_API_H
#define USBD_CONTROL_CTL_API_H

#include <stdint.h>

struct ctl;

/* Opens the API socket (unless --api-sock off) and tells systemd usbd is ready. Returns 0 or -errno. */
int ctl_api_ready(struct ctl *c);
/* Serves what the API socket has ready; never blocks. */
void ctl_api_run(struct ctl *c);
/* Periodic work: statistics refresh, API timeouts. */
void ctl_api_tick(struct ctl *c, uint64_t now_ms);
/* Closes the socket and removes its file. */
void ctl_api_close(struct ctl *c);

#endif
