/* rsicam — reading a whole file the user named, within a bound.
 *
 * A path a user gives may be a FIFO (open() would wait for a writer
 * forever), a device (/dev/zero never ends) or simply huge. Whatever is
 * read whole must be a regular file of at most a known size; this is the
 * one place that checks it. Plain C with no rsicam dependency, so that
 * plugins compile it in too (they link against nothing of rsicam).
 */
#ifndef RSICAM_REGULAR_FILE_H
#define RSICAM_REGULAR_FILE_H

#include <stddef.h>

/* Reads path whole into *text (malloc'd, NUL-terminated; *len bytes
 * without the NUL) when it is a regular file of at most max_bytes.
 * Returns 0, or -1 with *why saying what is wrong ("not a regular file (a
 * FIFO)", "larger than 16777216 bytes", strerror's text), in a static
 * buffer of this thread. */
int rsi_read_regular(const char *path, size_t max_bytes, char **text,
                     size_t *len, const char **why);

#endif
