/* ctl_metrics: the controller's Prometheus endpoint (--metrics-listen ADDR:PORT, api/metrics_server.h). */
#ifndef USBD_CONTROL_CTL_METRICS_H
#define USBD_CONTROL_CTL_METRICS_H

struct ctl;

/* Binds --metrics-listen (unless "off") and adds it to the loop. 0, or -errno having logged why. */
int ctl_metrics_open(struct ctl *c);
/* Serves what is pending and times out slow scrapers; on its epoll tag and on every tick. */
void ctl_metrics_run(struct ctl *c);
void ctl_metrics_close(struct ctl *c);

#endif
