/* ctl_tenants: the control API's spot tenants (/usbd/spot/tenants): the controller keeps the list (every worker
 * start gets it in its WMSG_SETUP) and tells a running worker each change with a WMSG_USER. */
#ifndef USBD_CONTROL_CTL_TENANTS_H
#define USBD_CONTROL_CTL_TENANTS_H

#include <stddef.h>

#include "api/api.h"

/* struct api_backend's list_tenants, put_tenant and del_tenant; ctx is the struct ctl. */
int ctl_tenants_list(void *ctx, struct api_tenant *out, size_t *n, char *err, size_t len);
int ctl_tenants_put(void *ctx, const struct api_tenant *t, char *err, size_t len);
int ctl_tenants_del(void *ctx, const char *name, char *err, size_t len);

#endif
