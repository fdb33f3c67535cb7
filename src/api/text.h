/* text: making client-supplied strings (paths, field names) safe and short enough to echo in a fault_message. */
#ifndef USBD_API_TEXT_H
#define USBD_API_TEXT_H

#include <stddef.h>

/* Room for a quoted string of up to 64 bytes plus "..." and the NUL. */
#define TEXT_QUOTE_LEN 68

/*
 * Copies src into dst (len bytes, at least 4), replacing every byte outside printable ASCII with '?' and ending
 * with "..." when src does not fit. Always NUL-terminates; returns dst.
 */
char *text_printable(char *dst, size_t len, const char *src);

#endif
