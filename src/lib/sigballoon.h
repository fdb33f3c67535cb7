/* sigballoon: the library's SIGBALLOON handler — counts receipts and wakes an eventfd. Internal to src/lib. */
#ifndef USBD_LIB_SIGBALLOON_H
#define USBD_LIB_SIGBALLOON_H

#include <stdint.h>

/* Installs the handler and returns the eventfd it writes to (non-blocking), or -errno. */
int sigballoon_install(void);
/* Restores the previous disposition and closes the eventfd. */
void sigballoon_uninstall(void);
/* The deficit (bytes) the last SIGBALLOON carried, 0 if it carried none. */
uint64_t sigballoon_deficit(void);

#endif
