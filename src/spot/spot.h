/*
 * spot: spot memory, the consumer side of the balloon. A Redis-protocol (RESP2) key-value store whose values
 * live in the balloon's chunks, run as the balloon worker's tenant (struct worker_tenant): single-threaded,
 * from the worker's epoll loop, never blocking. Deflation takes whole chunks: their keys become misses at once.
 * See docs/SPOT.md for the commands, limits and promises.
 */
#ifndef USBD_SPOT_SPOT_H
#define USBD_SPOT_SPOT_H

#include "spot/config.h"

/* Creates the spot tenant (arg: const struct spot_config *, NULL for defaults) and starts listening.
 * Returns NULL after logging why (bad address, protected mode, address in use, no memory). */
struct worker_tenant *spot_tenant_new(const void *arg);

#endif
