/*
 * swapdev: can the active swap take transparent huge pages whole? The kernel swaps a THP out as one unit only to
 * a swap device it can allocate whole swap clusters on for it: a block device (a swap *file* never; mm/swapfile.c
 * refuses large swap entries there) that is non-rotational (zram, an SSD). Otherwise it splits the THP and swaps
 * its 512 pages one by one (/proc/vmstat thp_swpout_fallback). usbd checks at the first registration and says so
 * once in its log (docs/LIBUSBD.md, "Huge pages and the swap device").
 */
#ifndef USBD_SYS_SWAPDEV_H
#define USBD_SYS_SWAPDEV_H

#include <stddef.h>

/* 1: non-rotational, 0: rotational, -errno: unknown. dev is /proc/swaps' Filename of a partition-type entry. */
typedef int (*swapdev_rotational_fn)(const char *dev);

/*
 * Judges /proc/swaps' text: 1 when some active device can take huge pages whole, 0 when none can (why: the first
 * one and its reason, or "no swap"), -EINVAL for text that is not /proc/swaps.
 */
int swapdev_judge(const char *swaps, swapdev_rotational_fn nonrot, char *why, size_t len);

/* The same on this machine: /proc/swaps (procfs_root) and /sys/dev/block/MAJ:MIN[/..]/queue/rotational; 1 too
 * when transparent huge pages are off (nothing to split). */
int swapdev_thp_whole(char *why, size_t len);

#endif
