/* Handing out path points in batches, shared by the shipped path plugins.
 *
 * A path plugin says how to make point i; pt_next() makes the next batch
 * of at most max_points of them and concatenates them, so that no more
 * than one batch of a path is ever in memory.
 */
#ifndef RSICAM_PLUGINS_POINTS_H
#define RSICAM_PLUGINS_POINTS_H

#include "rsicam/plugin.h"

/* Point i of the path (a new [1, C, H, W] tensor), or NULL on error. */
typedef rsi_tensor *(*pt_point_fn)(void *state, int64_t i);

/* The path's next() over point(): *next is the index of the next point and
 * advances; total is the number of points. Returns 1 with a batch, 0 at
 * the end, -1 on error. */
int pt_next(const rsi_host_api *h, pt_point_fn point, void *state,
            int64_t total, int64_t *next, int64_t max_points,
            rsi_tensor **batch);

/* How many points the next batch holds: min(total - next, max_points);
 * 0 at the end, -1 (with an error) for max_points < 1. */
int64_t pt_batch_size(const rsi_host_api *h, int64_t total, int64_t next,
                      int64_t max_points);

/* Points first .. first + n - 1 made by point(), concatenated (so that a
 * batch of any size is never an array on the stack); NULL when any
 * fails. */
rsi_tensor *pt_rows(const rsi_host_api *h, pt_point_fn point, void *state,
                    int64_t first, int64_t n);

/* Concatenates n tensors along dim 0 and frees them (NULLs allowed: then
 * the result is NULL). One tensor is returned as is. */
rsi_tensor *pt_cat_free(const rsi_host_api *h, rsi_tensor **parts, int64_t n);

#endif
