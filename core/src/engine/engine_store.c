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

/* The rows of a and b in the order from_mid gives (NULL when it does not
 * use every row of both). */
static rsi_tensor *merged(const rsi_tensor *a, const rsi_tensor *b,
                          const unsigned char *from_mid, int64_t n)
{
    rsi_tensor **rows = calloc((size_t)n, sizeof *rows);
    rsi_tensor *out = NULL;
    int64_t ia = 0, ib = 0, made = 0;
    const int64_t na = rsi_tensor_size(a, 0), nb = rsi_tensor_size(b, 0);
    for (; rows && made < n; made++) {
        const int mid = from_mid[made];
        if ((mid ? ib >= nb : ia >= na) ||
            !(rows[made] =
                  rsi_tensor_narrow(mid ? b : a, 0, mid ? ib++ : ia++, 1)))
            break;
    }
    if (rows && made == n && ia == na && ib == nb)
        out = rsi_tensor_cat((const rsi_tensor *const *)rows, (int)n, 0);
    else if (!rsi_error_pending())
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "engine: merging %lld and %lld points into %lld",
                            (long long)na, (long long)nb, (long long)n);
    for (int64_t i = 0; rows && i < made; i++)
        rsi_tensor_free(rows[i]);
    free(rows);
    return out;
}

int rsi_rs_store_merge(rsi_rs_store *s, const rsi_rs_store *mid,
                       const unsigned char *from_mid, int64_t n)
{
    if (mid->n_layers != s->n_layers || mid->n_targets != s->n_targets ||
        s->points + mid->points != n) {
        rsi_error_class_set(
            RSI_ERR_INTERNAL, "engine: merging %lld and %lld points into %lld",
            (long long)s->points, (long long)mid->points, (long long)n);
        return -1;
    }
    const int count = s->n_layers * (1 + s->n_targets);
    rsi_tensor **out = calloc((size_t)count, sizeof *out);
    int ok = out != NULL;
    for (int i = 0; ok && i < count; i++) {
        const int is_act = i < s->n_layers;
        const rsi_tensor *own = is_act ? s->acts[i] : s->grads[i - s->n_layers];
        const rsi_tensor *add =
            is_act ? mid->acts[i] : mid->grads[i - s->n_layers];
        ok = (out[i] = merged(own, add, from_mid, n)) != NULL;
    }
    for (int i = 0; out && i < count; i++) {
        rsi_tensor **own =
            i < s->n_layers ? &s->acts[i] : &s->grads[i - s->n_layers];
        if (ok) {
            rsi_tensor_free(*own);
            *own = out[i];
        } else {
            rsi_tensor_free(out[i]);
        }
    }
    if (!out)
        rsi_error("out of memory");
    free(out);
    if (ok)
        s->points = n;
    return ok ? 0 : -1;
}

/* The rows r + shift of t for each r in rows, stacked. */
static rsi_tensor *rows_at(const rsi_tensor *t, const int64_t *rows, int64_t n,
                           int shift)
{
    rsi_tensor **parts = calloc((size_t)n, sizeof *parts);
    rsi_tensor *out = NULL;
    int64_t made = 0;
    while (parts && made < n &&
           (parts[made] = rsi_tensor_narrow(t, 0, rows[made] + shift, 1)))
        made++;
    if (parts && made == n)
        out = rsi_tensor_cat((const rsi_tensor *const *)parts, (int)n, 0);
    for (int64_t i = 0; parts && i < made; i++)
        rsi_tensor_free(parts[i]);
    if (!parts)
        rsi_error("out of memory");
    free(parts);
    return out;
}

/* 0.5 * (g0 + g1) * (a1 - a0), element-wise. */
static rsi_tensor *trapezoid(const rsi_tensor *g0, const rsi_tensor *g1,
                             const rsi_tensor *a0, const rsi_tensor *a1)
{
    rsi_tensor *gs = rsi_tensor_add(g0, g1), *da = rsi_tensor_sub(a1, a0);
    rsi_tensor *prod = gs && da ? rsi_tensor_mul(gs, da) : NULL;
    rsi_tensor *out = prod ? rsi_tensor_scale(prod, 0.5) : NULL;
    rsi_tensor_free(gs);
    rsi_tensor_free(da);
    rsi_tensor_free(prod);
    return out;
}

/* |t| summed over every dimension but the first: [n]. */
static rsi_tensor *abs_sum_rows(const rsi_tensor *t, int64_t n)
{
    const int64_t shape[2] = {n, rsi_tensor_numel(t) / n};
    rsi_tensor *flat = rsi_tensor_reshape(t, shape, 2);
    rsi_tensor *neg = flat ? rsi_tensor_scale(flat, -1.0) : NULL;
    rsi_tensor *pos = flat ? rsi_tensor_relu(flat) : NULL;
    rsi_tensor *abs = neg ? rsi_tensor_relu(neg) : NULL;
    rsi_tensor *out = NULL;
    if (abs && pos && rsi_tensor_add_(abs, pos) == 0)
        out = rsi_tensor_sum_dim(abs, 1, 0);
    rsi_tensor_free(flat);
    rsi_tensor_free(neg);
    rsi_tensor_free(pos);
    rsi_tensor_free(abs);
    return out;
}

/* err[k] += sum over the units of |coarse - left - right| at rows[k]. */
static int add_split_error(const rsi_tensor *acts, const rsi_tensor *grads,
                           const int64_t *rows, int64_t n, double *err)
{
    rsi_tensor *a[3], *g[3];
    for (int k = 0; k < 3; k++) {
        a[k] = rows_at(acts, rows, n, k - 1);
        g[k] = rows_at(grads, rows, n, k - 1);
    }
    rsi_tensor *coarse = NULL, *left = NULL, *right = NULL, *d1 = NULL,
               *d2 = NULL, *per = NULL;
    int rc = -1;
    if (a[0] && a[1] && a[2] && g[0] && g[1] && g[2] &&
        (coarse = trapezoid(g[0], g[2], a[0], a[2])) &&
        (left = trapezoid(g[0], g[1], a[0], a[1])) &&
        (right = trapezoid(g[1], g[2], a[1], a[2])) &&
        (d1 = rsi_tensor_sub(coarse, left)) &&
        (d2 = rsi_tensor_sub(d1, right)) && (per = abs_sum_rows(d2, n))) {
        float *v = malloc((size_t)n * sizeof *v);
        if (!v)
            rsi_error("out of memory");
        else if (rsi_tensor_to_floats(per, v, n) == 0) {
            for (int64_t k = 0; k < n; k++)
                err[k] += v[k];
            rc = 0;
        }
        free(v);
    }
    rsi_tensor *made[] = {coarse, left, right, d1,   d2,   per,
                          a[0],   a[1], a[2],  g[0], g[1], g[2]};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++)
        rsi_tensor_free(made[i]);
    return rc;
}

int rsi_rs_store_split_errors(const rsi_rs_store *s, const int64_t *rows,
                              int64_t n, double *err)
{
    for (int64_t k = 0; k < n; k++) {
        if (rows[k] < 1 || rows[k] + 1 >= s->points) {
            rsi_error_class_set(RSI_ERR_INTERNAL,
                                "engine: point %lld has no neighbour on "
                                "both sides",
                                (long long)rows[k]);
            return -1;
        }
        err[k] = 0;
    }
    const int nl = s->n_layers;
    for (int t = 0; n > 0 && t < s->n_targets; t++)
        for (int l = 0; l < nl; l++)
            if (add_split_error(s->acts[l], s->grads[t * nl + l], rows, n,
                                err) < 0)
                return -1;
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
