/* The "auto" baseline's parts: the optimisation and the on-disk cache. */
#ifndef RSICAM_PLUGIN_AUTO_H
#define RSICAM_PLUGIN_AUTO_H

#include "rsicam/plugin.h"

typedef struct auto_options {
    double w_u, w_d;  /* weights of the uniformity (KL) and distance terms */
    double lr, alpha; /* RMSprop step size and square-average decay */
    double eps;       /* RMSprop's denominator guard */
    int64_t iterations;
    int64_t patience; /* steps without a better iterate before lr halves */
    double target;    /* stop once max_k |p_k - 1/K| is at most this */
    const char *init; /* the initial baseline's spec */
} auto_options;

/* How the optimisation went: loss and max_k |p_k - 1/K| before and after
 * (at the result), the RMS distance of the result to the initial baseline,
 * and the iteration that gave the result (0: b0 itself). */
typedef struct auto_report {
    double loss_first, loss_last, dev_first, dev_last, rms;
    int64_t best_iteration;
} auto_report;

/* Runs RMSprop from b0 (its step halved, from the best iterate, after
 * o->patience steps without a better one) on
 *     loss(b) = w_u * KL(U || p(b)) + w_d * mean((b - b0)^2)
 * (U uniform) for o->iterations steps, or until the best iterate's
 * max_k |p_k - 1/K| <= o->target, and
 * returns the iterate of lowest loss (b0 included: never worse than b0;
 * new tensor), or NULL with an error. */
rsi_tensor *auto_optimise(const rsi_context *ctx, const auto_options *o,
                          const rsi_tensor *b0, auto_report *r);

/* Fills r->dev_last, r->loss_last and r->rms for a finished b (one
 * forward). Returns 0 or -1. */
int auto_measure(const rsi_context *ctx, const auto_options *o,
                 const rsi_tensor *b, const rsi_tensor *b0, auto_report *r);

/* The cache file for this model, options and initial baseline:
 * CACHE_DIR/rsicam-cache/auto-<16 hex digits>.npy, written into path
 * (the directory is created). Returns 1 with a path, 0 when nothing can be
 * cached (no cache directory, or a host too old to name the model file),
 * -1 on an error. */
int auto_cache_path(const rsi_context *ctx, const auto_options *o,
                    const rsi_tensor *b0, char *path, size_t n);

#endif
