/* rsicam — reading a whole file the user named (regular_file.h). */
#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Thread_local char reason[96];

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a file";
}

int rsi_read_regular(const char *path, size_t max_bytes, char **text,
                     size_t *len, const char **why)
{
    *text = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it changes
     * nothing for a regular file */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *why = strerror(errno);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char *buf = NULL;
    size_t n = 0;
    /* room for the file, and for it to grow a little while it is read,
     * never more than the bound allows (+1: to see it passed) */
    size_t size = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    size_t cap = size + 4096 < max_bytes + 1 ? size + 4096 : max_bytes + 1;
    if (!S_ISREG(st.st_mode)) {
        snprintf(reason, sizeof reason, "not a regular file (%s)",
                 kind_of(st.st_mode));
        *why = reason;
    } else if ((size_t)st.st_size > max_bytes) {
        snprintf(reason, sizeof reason, "larger than %zu bytes", max_bytes);
        *why = reason;
    } else if (!(buf = malloc(cap))) {
        *why = strerror(ENOMEM);
    } else {
        /* the file may grow while it is read: read to its end, but never
         * past the bound */
        ssize_t got = 1;
        while (got > 0 && n < cap) {
            got = read(fd, buf + n, cap - n);
            if (got < 0 && errno == EINTR)
                got = 1;
            else if (got > 0)
                n += (size_t)got;
        }
        if (got < 0) {
            *why = strerror(errno);
        } else if (n > max_bytes) {
            snprintf(reason, sizeof reason, "larger than %zu bytes", max_bytes);
            *why = reason;
        } else if (n == cap) {
            snprintf(reason, sizeof reason, "grew while it was read");
            *why = reason;
        } else {
            close(fd);
            buf[n] = '\0';
            *text = buf;
            *len = n;
            return 0;
        }
    }
    free(buf);
    close(fd);
    return -1;
}
