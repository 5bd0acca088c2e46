/* rsicam — every point of a path, kept for refining it (engine.h). */
#include <stdlib.h>

#include "engine.h"
#include "rsicam/error.h"

int rsi_rs_store_init(rsi_rs_store *s, int n_layers, int n_targets)
{
    *s = (rsi_rs_store){.n_layers = n_layers, .n_targets = n_targets};
    s->acts = calloc((size_t)n_layers, sizeof *s->acts);
    s->grads = calloc((size_t)(n_layers * n_targets), sizeof *s->grads);
    if (!s->acts || !s->grads) {
        rsi_rs_store_release(s);
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

void rsi_rs_store_release(rsi_rs_store *s)
{
    for (int l = 0; s->acts && l < s->n_layers; l++)
        rsi_tensor_free(s->acts[l]);
    for (int i = 0; s->grads && i < s->n_layers * s->n_targets; i++)
        rsi_tensor_free(s->grads[i]);
    free(s->acts);
    free(s->grads);
    *s = (rsi_rs_store){0};
}

/* *stack = cat(*stack, batch) in float64; the first batch starts it. */
static int push(rsi_tensor **stack, const rsi_tensor *batch)
{
    rsi_tensor *b64 = rsi_tensor_to_dtype(batch, RSI_FLOAT64);
    if (!b64)
        return -1;
    if (!*stack) {
        *stack = b64;
        return 0;
    }
    const rsi_tensor *parts[2] = {*stack, b64};
    rsi_tensor *all = rsi_tensor_cat(parts, 2, 0);
    rsi_tensor_free(b64);
    if (!all)
        return -1;
    rsi_tensor_free(*stack);
    *stack = all;
    return 0;
}

int rsi_rs_store_append(rsi_rs_store *s, rsi_tensor *const *acts,
                        rsi_tensor *const *grads)
{
    for (int l = 0; l < s->n_layers; l++)
        if (push(&s->acts[l], acts[l]) < 0)
            return -1;
    for (int i = 0; i < s->n_layers * s->n_targets; i++)
        if (push(&s->grads[i], grads[i]) < 0)
            return -1;
    s->points += rsi_tensor_size(acts[0], 0);
    return 0;
}

/* Rows of coarse (m + 1) and mid (m), alternating: c0 m0 c1 m1 ... cm. */
static rsi_tensor *interleave(const rsi_tensor *coarse, const rsi_tensor *mid,
                              int64_t m)
{
    const int64_t n = 2 * m + 1;
    rsi_tensor **rows = calloc((size_t)n, sizeof *rows);
    rsi_tensor *out = NULL;
    int ok = rows != NULL;
    for (int64_t i = 0; ok && i < n; i++)
        ok = (rows[i] = rsi_tensor_narrow(i % 2 ? mid : coarse, 0, i / 2, 1)) !=
             NULL;
    if (ok)
        out = rsi_tensor_cat((const rsi_tensor *const *)rows, (int)n, 0);
    for (int64_t i = 0; rows && i < n; i++)
        rsi_tensor_free(rows[i]);
    if (!rows)
        rsi_error("out of memory");
    free(rows);
    return out;
}

int rsi_rs_store_refine(rsi_rs_store *s, const rsi_rs_store *mid)
{
    const int64_t m = s->points - 1;
    if (mid->points != m || mid->n_layers != s->n_layers ||
        mid->n_targets != s->n_targets) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "engine: refining %lld points needs %lld between "
                            "them, got %lld",
                            (long long)s->points, (long long)m,
                            (long long)mid->points);
        return -1;
    }
    const int n = s->n_layers * (1 + s->n_targets);
    for (int i = 0; i < n; i++) {
        rsi_tensor **own =
            i < s->n_layers ? &s->acts[i] : &s->grads[i - s->n_layers];
        const rsi_tensor *between =
            i < s->n_layers ? mid->acts[i] : mid->grads[i - s->n_layers];
        rsi_tensor *all = interleave(*own, between, m);
        if (!all)
            return -1;
        rsi_tensor_free(*own);
        *own = all;
    }
    s->points = 2 * m + 1;
    return 0;
}

int rsi_rs_store_sums(const rsi_rs_store *s, rsi_rs_layer *layers,
                      rsi_rs_sum *sums)
{
    const int nl = s->n_layers;
    for (int l = 0; l < nl; l++) {
        if (rsi_rs_layer_begin_batch(&layers[l], s->acts[l]) < 0)
            return -1;
        for (int t = 0; t < s->n_targets; t++)
            if (rsi_rs_sum_add(&sums[t * nl + l], &layers[l],
                               s->grads[t * nl + l]) < 0)
                return -1;
        if (rsi_rs_layer_end_batch(&layers[l], s->acts[l]) < 0)
            return -1;
    }
    return 0;
}
