/* Handing out path points in batches (points.h). */
#include "points.h"

#include <stdlib.h>

int64_t pt_batch_size(const rsi_host_api *h, int64_t total, int64_t next,
                      int64_t max_points)
{
    if (max_points < 1) {
        h->error("asked for batches of %lld points", (long long)max_points);
        return -1;
    }
    int64_t left = total - next;
    if (left <= 0)
        return 0;
    return left < max_points ? left : max_points;
}

rsi_tensor *pt_cat_free(const rsi_host_api *h, rsi_tensor **parts, int64_t n)
{
    int ok = 1;
    for (int64_t k = 0; k < n; k++)
        ok &= parts[k] != NULL;
    rsi_tensor *out = NULL;
    if (ok && n == 1) {
        out = parts[0];
        parts[0] = NULL;
    } else if (ok) {
        out = h->tensor_cat((const rsi_tensor *const *)parts, (int)n, 0);
    }
    for (int64_t k = 0; k < n; k++)
        h->tensor_free(parts[k]);
    return out;
}

int pt_next(const rsi_host_api *h, pt_point_fn point, void *state,
            int64_t total, int64_t *next, int64_t max_points,
            rsi_tensor **batch)
{
    *batch = NULL;
    int64_t n = pt_batch_size(h, total, *next, max_points);
    if (n <= 0)
        return (int)n;
    if (!(*batch = pt_rows(h, point, state, *next, n)))
        return -1;
    *next += n;
    return 1;
}

rsi_tensor *pt_rows(const rsi_host_api *h, pt_point_fn point, void *state,
                    int64_t first, int64_t n)
{
    rsi_tensor **rows = calloc((size_t)n, sizeof *rows);
    if (!rows) {
        h->error("out of memory");
        return NULL;
    }
    for (int64_t k = 0; k < n && (k == 0 || rows[k - 1]); k++)
        rows[k] = point(state, first + k);
    rsi_tensor *out = pt_cat_free(h, rows, n); /* NULL if any is */
    free(rows);
    return out;
}
