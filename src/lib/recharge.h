/*
 * recharge: moves memory that is charged to the memory cgroup a process left into fresh pages, charged to the one
 * it is in now (docs/LIBUSBD.md, "Registering after the fill"). Internal to src/lib; the tracker calls it on a
 * region it has just protected, while its fault handler holds back every access to that region.
 */
#ifndef USBD_LIB_RECHARGE_H
#define USBD_LIB_RECHARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Re-charges [start, start + len) (page-aligned, PROT_NONE, private anonymous) chunk by chunk, `chunk` bytes (a
 * power of two, at least 2 MiB) on the chunk grid: each chunk is moved away with mremap (its address becomes a
 * hole), its pages that are not all zeros are copied into a fresh mapping (MADV_HUGEPAGE and 2 MiB-aligned with
 * `huge`), which is protected PROT_NONE and moved into the hole; the old pages are then unmapped, which uncharges
 * them. Never more than one chunk is held twice. A chunk that cannot be moved (not one mapping, mremap refused) is
 * left where it is, as it was. Returns the bytes re-charged.
 */
uint64_t recharge_range(uintptr_t start, size_t len, size_t chunk, bool huge);

#endif
