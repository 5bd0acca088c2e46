/* rsicam — every call into a plugin goes through here.
 *
 * A plugin is foreign code: whatever it returns is checked before the
 * host uses it (count, shape, dtype, device, finite values), and every
 * failure, its own or a check's, is one error that starts with the
 * plugin's kind and name ("path 'vae': ..."). An error a plugin raised
 * counts even when it went on to return something (a parameter getter
 * misused, say). The host's part of each kind lives here too: a path's
 * exact ends and its step grid, a pixel-space baseline's normalisation.
 */
#ifndef RSICAM_PLUGIN_CALL_H
#define RSICAM_PLUGIN_CALL_H

#include "plugin_registry.h"

/* Opens a model with p (a model plugin) and its parsed parameters. */
rsi_model *rsi_call_model_open(const rsi_plugin *p,
                               const rsi_param_value *params);

/* p's baseline for the image x (model space, on the model's device) in
 * the run described by run (model, info, image path, cache; may be NULL):
 * a new tensor of x's shape in the model's space, on x's device. */
rsi_tensor *rsi_call_baseline(const rsi_plugin *p,
                              const rsi_param_value *params,
                              const rsi_context *run, const rsi_tensor *x);

/* One image's path, open. */
typedef struct rsi_path_call {
    const rsi_plugin *plugin;
    rsi_context ctx; /* what the plugin sees: baseline, image, state, ... */
    int opened;      /* open() ran and close() is owed */
    int sequential;  /* a fixed list (next()), not a function of alpha */
    int own_ends;    /* the plugin makes alpha 0 and 1 too */
    int64_t steps;   /* positions: the grid is i / steps, i = 0..steps */
    int64_t total;   /* points next_batch() hands out: steps + 1, or the
                        list's length */
    int64_t given;   /* handed out so far */
} rsi_path_call;

/* Opens p's path from baseline to x (both borrowed, kept until close) for
 * steps steps; run as for rsi_call_baseline. Returns 0 or -1; on -1 the
 * path is closed. */
int rsi_call_path_open(rsi_path_call *c, const rsi_plugin *p,
                       const rsi_param_value *params, const rsi_context *run,
                       const rsi_tensor *baseline, const rsi_tensor *x,
                       int64_t steps);
/* The points at alpha[0..n) (a path of positions only): the baseline at
 * 0 and the image at 1 (copies), the rest from the plugin in one call. */
rsi_tensor *rsi_call_path_points(rsi_path_call *c, const double *alpha,
                                 int64_t n);
/* The next at most max points in order: the grid's, or the list's.
 * Returns 1 with *batch, 0 at the end, -1 with an error. */
int rsi_call_path_next(rsi_path_call *c, int64_t max, rsi_tensor **batch);
/* Frees the plugin's state (safe to call twice, or on a zeroed call). */
void rsi_call_path_close(rsi_path_call *c);

#endif
