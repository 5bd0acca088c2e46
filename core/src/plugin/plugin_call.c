/* rsicam — calls into plugins, checked (plugin_call.h); each call marks
 * the thread as inside the plugin, so that a crash there is named
 * (plugin_signal.h). */
#include "plugin_call.h"

#include <stdlib.h>

#include "pixel_space.h"
#include "plugin_signal.h"

/* The plugin's failure, named; -1. An error it raised and then ignored
 * (returning something anyway) is a failure too. */
static int failed(const rsi_plugin *p)
{
    rsi_plugin_failed(p);
    return -1;
}

/* What a plugin sees: the run's facts, the plugin and its parameters. */
static rsi_context context(const rsi_plugin *p, const rsi_param_value *params,
                           const rsi_context *run)
{
    rsi_context c = run ? *run : (rsi_context){0};
    c.host = p->host;
    c.plugin = p->desc;
    c.params = params;
    c.state = NULL;
    return c;
}

/* Checks an answer t (taken: freed on failure) against like: rows rows,
 * like's other dimensions, float32, like's device, finite values. what
 * says what t is ("points"). Returns t, or NULL with the error (not yet
 * named). */
static rsi_tensor *checked(rsi_tensor *t, const rsi_tensor *like, int64_t rows,
                           const char *what)
{
    char got[160], want[160];
    if (!t || rsi_error_pending()) {
        rsi_tensor_free(t);
        return NULL;
    }
    rsi_tensor_describe(t, got, sizeof got);
    rsi_tensor_describe(like, want, sizeof want);
    const int nd = rsi_tensor_ndim(t);
    int shape_ok = nd == rsi_tensor_ndim(like);
    for (int d = 1; shape_ok && d < nd; d++)
        shape_ok = rsi_tensor_size(t, d) == rsi_tensor_size(like, d);
    const int64_t n = nd >= 1 ? rsi_tensor_size(t, 0) : -1;
    if (shape_ok && n != rows)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "returned %lld %s for %lld asked for (%s)",
                            (long long)n, what, (long long)rows, got);
    else if (!shape_ok)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "returned %s %s; the image is %s: each row must "
                            "have its shape",
                            what, got, want);
    else if (rsi_tensor_dtype(t) != RSI_FLOAT32)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "returned %s %s; expected float32 (Float)", what,
                            got);
    else if (rsi_tensor_same_device(t, like) != 1)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "returned %s %s, not on the image's device (%s): "
                            "make tensors like the context's image, or move "
                            "them with tensor_to_like()",
                            what, got, want);
    else if (rsi_tensor_all_finite(t) != 1)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "returned %s with NaN or Inf values (%s)", what,
                            got);
    if (!rsi_error_pending())
        return t;
    rsi_tensor_free(t);
    return NULL;
}

rsi_model *rsi_call_model_open(const rsi_plugin *p,
                               const rsi_param_value *params)
{
    const rsi_model_entry *e = p->desc->entry;
    const rsi_context c = context(p, params, NULL);
    const rsi_plugin *outer = rsi_plugin_enter(p);
    rsi_model *m = e->open(&c);
    rsi_plugin_leave(outer);
    if (m && !rsi_error_pending())
        return m;
    rsi_model_free(m);
    if (!rsi_error_pending())
        rsi_error_class_set(RSI_ERR_MODEL, "failed to open the model");
    failed(p);
    return NULL;
}

rsi_tensor *rsi_call_baseline(const rsi_plugin *p,
                              const rsi_param_value *params,
                              const rsi_context *run, const rsi_tensor *x)
{
    const rsi_baseline_entry *e = p->desc->entry;
    rsi_context c = context(p, params, run);
    const int pixels = e->space == RSI_SPACE_PIXELS;
    rsi_tensor *seen = pixels ? rsi_pixels_from_model(x, c.info) : NULL;
    if (pixels && !seen)
        return NULL; /* the host's own failure */
    c.image = pixels ? seen : x;
    const rsi_plugin *outer = rsi_plugin_enter(p);
    rsi_tensor *made = e->make(&c);
    rsi_plugin_leave(outer);
    rsi_tensor *b = checked(made, c.image, 1, "a baseline");
    rsi_tensor *out = b && pixels ? rsi_pixels_to_model(b, c.info) : b;
    if (pixels)
        rsi_tensor_free(b);
    rsi_tensor_free(seen);
    if (!out)
        failed(p);
    return out;
}

void rsi_call_path_close(rsi_path_call *c)
{
    const rsi_path_entry *e = c->plugin ? c->plugin->desc->entry : NULL;
    if (c->opened && e->close) {
        const rsi_plugin *outer = rsi_plugin_enter(c->plugin);
        e->close(&c->ctx, c->ctx.state);
        rsi_plugin_leave(outer);
    }
    c->opened = 0;
    c->ctx.state = NULL;
}

int rsi_call_path_open(rsi_path_call *c, const rsi_plugin *p,
                       const rsi_param_value *params, const rsi_context *run,
                       const rsi_tensor *baseline, const rsi_tensor *x,
                       int64_t steps)
{
    const rsi_path_entry *e = p->desc->entry;
    *c = (rsi_path_call){.plugin = p, .steps = steps, .total = steps + 1};
    c->ctx = context(p, params, run);
    c->ctx.baseline = baseline;
    c->ctx.image = x;
    c->ctx.steps = steps;
    c->sequential = e->points == NULL;
    if (steps < 1) {
        rsi_error_class_set(RSI_ERR_USAGE, "steps must be at least 1, got %lld",
                            (long long)steps);
        return -1;
    }
    const rsi_plugin *outer = rsi_plugin_enter(p);
    if (e->open) {
        void *state = NULL;
        int rc = e->open(&c->ctx, &state);
        c->ctx.state = state;
        c->opened = 1;
        if (rc != 0 || rsi_error_pending()) {
            rsi_plugin_leave(outer);
            rsi_call_path_close(c);
            return failed(p);
        }
    }
    c->own_ends = e->own_ends && e->own_ends(&c->ctx);
    if (c->sequential)
        c->total = e->num_points(&c->ctx);
    rsi_plugin_leave(outer);
    if (rsi_error_pending() || (c->sequential && c->total < 2)) {
        if (!rsi_error_pending())
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "has %lld point(s); a path needs at least 2",
                                (long long)c->total);
        rsi_call_path_close(c);
        return failed(p);
    }
    return 0;
}

/* The plugin's points at the k positions of alpha that are its to make. */
static rsi_tensor *plugin_points(rsi_path_call *c, const double *alpha,
                                 int64_t k)
{
    const rsi_path_entry *e = c->plugin->desc->entry;
    const rsi_plugin *outer = rsi_plugin_enter(c->plugin);
    rsi_tensor *made = e->points(&c->ctx, alpha, k);
    rsi_plugin_leave(outer);
    return checked(made, c->ctx.image, k, "points");
}

rsi_tensor *rsi_call_path_points(rsi_path_call *c, const double *alpha,
                                 int64_t n)
{
    if (c->sequential || n < 1) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "path '%s': asked for %lld points by position",
                            c->plugin->desc->name, (long long)n);
        return NULL;
    }
    /* the ends are the host's: exact copies of the baseline and image */
    double *inner = malloc((size_t)n * sizeof *inner);
    rsi_tensor **rows = calloc((size_t)n, sizeof *rows);
    if (!inner || !rows) {
        free(inner);
        free(rows);
        rsi_error("out of memory");
        return NULL;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (c->own_ends || (alpha[i] != 0.0 && alpha[i] != 1.0))
            inner[k++] = alpha[i];
    rsi_tensor *made = k ? plugin_points(c, inner, k) : NULL;
    free(inner);
    if ((k && !made) || k == n) {
        if (!made)
            failed(c->plugin);
        free(rows);
        return made;
    }
    int ok = 1;
    for (int64_t i = 0, j = 0; i < n; i++) {
        const int own = c->own_ends || (alpha[i] != 0.0 && alpha[i] != 1.0);
        rows[i] = own ? rsi_tensor_narrow(made, 0, j++, 1)
                      : rsi_tensor_clone(alpha[i] == 0.0 ? c->ctx.baseline
                                                         : c->ctx.image);
        ok &= rows[i] != NULL;
    }
    rsi_tensor *out =
        ok ? (n == 1
                  ? rsi_tensor_clone(rows[0])
                  : rsi_tensor_cat((const rsi_tensor *const *)rows, (int)n, 0))
           : NULL;
    for (int64_t i = 0; i < n; i++)
        rsi_tensor_free(rows[i]);
    free(rows);
    rsi_tensor_free(made);
    return out;
}

/* A sequential path's next batch, checked. */
static int list_next(rsi_path_call *c, int64_t max, rsi_tensor **batch)
{
    const rsi_path_entry *e = c->plugin->desc->entry;
    rsi_tensor *t = NULL;
    const rsi_plugin *outer = rsi_plugin_enter(c->plugin);
    int rc = e->next(&c->ctx, max, &t);
    rsi_plugin_leave(outer);
    if (rc == 0 && !rsi_error_pending() && c->given < c->total)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "ended after %lld of the %lld points it said it "
                            "has",
                            (long long)c->given, (long long)c->total);
    if (rc != 1 || rsi_error_pending()) {
        rsi_tensor_free(t);
        return rsi_error_pending() ? failed(c->plugin) : 0;
    }
    const int64_t left = c->total - c->given;
    const int64_t b = t && rsi_tensor_ndim(t) >= 1 ? rsi_tensor_size(t, 0) : 0;
    const int64_t allowed = left < max ? left : max;
    if (t && (b < 1 || b > allowed)) {
        rsi_tensor_free(t);
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "gave %lld points when 1 to %lld were asked for",
                            (long long)b, (long long)allowed);
        return failed(c->plugin);
    }
    if (!(t = checked(t, c->ctx.image, b, "points")))
        return failed(c->plugin);
    c->given += b;
    *batch = t;
    return 1;
}

int rsi_call_path_next(rsi_path_call *c, int64_t max, rsi_tensor **batch)
{
    *batch = NULL;
    if (max < 1) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "batches of %lld points",
                            (long long)max);
        return -1;
    }
    if (c->given >= c->total)
        return 0;
    if (c->sequential)
        return list_next(c, max, batch);
    const int64_t n = c->total - c->given < max ? c->total - c->given : max;
    double *alpha = malloc((size_t)n * sizeof *alpha);
    if (!alpha) {
        rsi_error("out of memory");
        return -1;
    }
    /* i / m exactly as the shipped paths always computed it */
    for (int64_t k = 0; k < n; k++)
        alpha[k] = (double)(c->given + k) / (double)c->steps;
    *batch = rsi_call_path_points(c, alpha, n);
    free(alpha);
    if (!*batch)
        return -1;
    c->given += n;
    return 1;
}
