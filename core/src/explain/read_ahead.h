/* rsicam — reading the next image on a thread while the current one walks
 * its path: decoding costs milliseconds a GPU would otherwise wait for.
 *
 * Reading ahead changes no result: an image taken out of order is read as
 * usual, and a read that failed fails its image then, with the same error.
 */
#ifndef RSICAM_READ_AHEAD_H
#define RSICAM_READ_AHEAD_H

#include <pthread.h>

#include "image.h"
#include "kept_error.h"
#include "rsicam/model.h"

typedef struct rsi_read_ahead {
    pthread_t thread;
    int started; /* a thread runs or has run and is not joined */
    char *path;  /* the path being read */
    const rsi_model_info *info;
    rsi_image img;
    rsi_tensor *x; /* the normalised input on the host; NULL: failed */
    rsi_kept_error error;
} rsi_read_ahead;

/* Starts reading path (NULL: nothing), forgetting any earlier read. */
void rsi_read_ahead_start(rsi_read_ahead *a, const char *path,
                          const rsi_model_info *info);
/* The input of path if it was read ahead (1: *x and *img set, or -1 with
 * its error pending), else 0: the caller reads it. */
int rsi_read_ahead_take(rsi_read_ahead *a, const char *path, rsi_image *img,
                        rsi_tensor **x);
/* Waits for the thread and forgets what it read. */
void rsi_read_ahead_drop(rsi_read_ahead *a);

#endif
