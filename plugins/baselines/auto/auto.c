/* The "auto" baseline: the automatic baseline of the method's notebooks.
 *
 * Starting from an initial baseline b0 (any baseline plugin, "zero" by
 * default), RMSprop moves b until the model's output is as close to the
 * uniform distribution U as it can get while staying near b0:
 *     loss = w_u * KL(U || p) + w_d * mean((b - b0)^2)
 * (optimise.c, which says why KL and not the notebooks' max_k |p_k - 1/K|). A
 * baseline with a uniform output is one where the model sees no evidence for
 * any class, which is what a baseline is for.
 *
 * Optimising costs iterations * (one forward + one forward and backward),
 * so the result is kept in OUT/rsicam-cache/auto-<key>.npy and reused by
 * later runs with the same model, options and b0 (cache.c).
 */
#include <unistd.h>

#include "auto.h"

static const rsi_param_spec auto_params[] = {
    {.name = "init",
     .type = RSI_PARAM_STRING,
     .default_value = "zero",
     .doc = "initial baseline b0: NAME[:k=v\\,...] (escape commas)"},
    {.name = "w_u",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.99",
     .doc = "weight of KL(uniform || p)",
     .min = 0,
     .max = 1e6},
    {.name = "w_d",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.01",
     .doc = "weight of mean((b - b0)^2)",
     .min = 0,
     .max = 1e6},
    {.name = "lr",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.01",
     .doc = "RMSprop learning rate (> 0)",
     .min = 0,
     .max = 1e3},
    {.name = "alpha",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.99",
     .doc = "RMSprop square-average decay (< 1)",
     .min = 0,
     .max = 1},
    {.name = "eps",
     .type = RSI_PARAM_FLOAT,
     .default_value = "1e-8",
     .doc = "RMSprop denominator guard",
     .min = 0,
     .max = 1},
    {.name = "iterations",
     .type = RSI_PARAM_INT,
     .default_value = "200",
     .doc = "optimisation steps",
     .min = 1,
     .max = 1e6},
    {.name = "patience",
     .type = RSI_PARAM_INT,
     .default_value = "10",
     .doc = "steps without a better iterate before going back to the best "
            "one with half the lr (0: never)",
     .min = 0,
     .max = 1e6},
    {.name = "target",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.01",
     .doc = "stop once max_k |p_k - 1/K| is at most this; warn when not "
            "reached",
     .min = 0,
     .max = 1},
    {.name = NULL},
};

static int read_options(const rsi_context *ctx, auto_options *o)
{
    const rsi_host_api *h = ctx->host;
    o->init = h->param_string(ctx, "init");
    o->w_u = h->param_float(ctx, "w_u");
    o->w_d = h->param_float(ctx, "w_d");
    o->lr = h->param_float(ctx, "lr");
    o->alpha = h->param_float(ctx, "alpha");
    o->eps = h->param_float(ctx, "eps");
    o->iterations = h->param_int(ctx, "iterations");
    o->patience = h->param_int(ctx, "patience");
    o->target = h->param_float(ctx, "target");
    /* Bounds are inclusive; these two must also stay off their ends. */
    if (!(o->lr > 0)) {
        h->error_class(RSI_ERR_USAGE, "lr must be > 0, got %g", o->lr);
        return -1;
    }
    if (!(o->alpha < 1)) {
        h->error_class(RSI_ERR_USAGE,
                       "alpha must be < 1 (1 never updates the square "
                       "average), got %g",
                       o->alpha);
        return -1;
    }
    return 0;
}

/* The cached baseline at path, checked against b0's shape. */
static rsi_tensor *load_cached(const rsi_host_api *h, const char *path,
                               const rsi_tensor *b0)
{
    rsi_tensor *b = h->image_read(path);
    int ok = b && h->tensor_ndim(b) == h->tensor_ndim(b0) &&
             h->tensor_numel(b) == h->tensor_numel(b0);
    for (int i = 0; ok && i < h->tensor_ndim(b0); i++)
        ok = h->tensor_size(b, i) == h->tensor_size(b0, i);
    if (!ok) {
        h->error("cache file '%s' does not hold a baseline of this shape; "
                 "delete it",
                 path);
        h->tensor_free(b);
        return NULL;
    }
    h->log("auto baseline: using cached %s", path);
    return b;
}

static void log_report(const rsi_host_api *h, const auto_options *o,
                       const auto_report *r, int cached)
{
    if (cached)
        h->log("auto baseline: max|p_k - 1/K| %.4g, RMS distance to the "
               "initial baseline %.4g",
               r->dev_last, r->rms);
    else
        h->log("auto baseline: loss %.6g -> %.6g (iteration %lld of %lld); "
               "max|p_k - 1/K| %.6g -> %.6g; RMS distance to the initial "
               "baseline %.4g",
               r->loss_first, r->loss_last, (long long)r->best_iteration,
               (long long)o->iterations, r->dev_first, r->dev_last, r->rms);
    if (r->dev_last > o->target)
        h->log("warning: auto baseline: max|p_k - 1/K| is %.4g, above the "
               "target %g: the model still sees evidence in the baseline "
               "(try more iterations or another lr)",
               r->dev_last, o->target);
}

static rsi_tensor *auto_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    auto_options o;
    if (!ctx->model) {
        h->error("needs the classifier (no model in the context)");
        return NULL;
    }
    if (read_options(ctx, &o) < 0)
        return NULL;
    rsi_tensor *b0 = h->make_baseline(ctx, o.init);
    if (!b0)
        return NULL;
    char path[4096];
    int cache = auto_cache_path(ctx, &o, b0, path, sizeof path);
    auto_report r = {0};
    rsi_tensor *b = NULL;
    if (cache == 1 && access(path, F_OK) == 0) {
        b = load_cached(h, path, b0);
        if (b && auto_measure(ctx, &o, b, b0, &r) < 0) {
            h->tensor_free(b);
            b = NULL;
        }
        if (b)
            log_report(h, &o, &r, 1);
    } else if (cache >= 0) {
        b = auto_optimise(ctx, &o, b0, &r);
        if (b)
            log_report(h, &o, &r, 0);
        if (b && cache == 1 && h->npy_write(path, b) < 0) {
            h->tensor_free(b);
            b = NULL;
        }
    }
    h->tensor_free(b0);
    return b;
}

/* In the model's space: the optimisation runs the model on b. */
RSI_DECLARE_BASELINE("auto", "1.0.0", "MIT",
                     "optimised from init towards a uniform model output "
                     "(cached)",
                     auto_params, .make = auto_make);
