/* rsicam — an error kept to be raised later: a worker thread's failure
 * raised on the thread that waits for it (error.h's messages are
 * per thread), or an image's failure raised when its turn comes. */
#ifndef RSICAM_KEPT_ERROR_H
#define RSICAM_KEPT_ERROR_H

#include "rsicam/error.h"

typedef struct rsi_kept_error {
    char message[1100]; /* room for a whole message, its cut marker too */
    rsi_error_class cls;
} rsi_kept_error;

/* Moves this thread's pending error into k ("failed" when none is
 * pending) and clears it. */
void rsi_error_keep(rsi_kept_error *k);
/* Makes k this thread's pending error, unless one is pending already. */
void rsi_error_raise(const rsi_kept_error *k);

#endif
