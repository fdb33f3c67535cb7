/* inline: INLINE forces a small function on a per-request path into its callers, where the compiler's own estimate
 * would leave a call (measured under callgrind: the calls' entries and exits cost more than the work inside). */
#ifndef USBD_COMMON_INLINE_H
#define USBD_COMMON_INLINE_H

#define INLINE inline __attribute__((always_inline))

#endif
