/* rsicam — explaining images: one pass along a path per image serves every
 * layer, score kind, variant and method asked for.
 *
 * For each image: read and normalise it, pick the class (the top prediction
 * unless given), make the baseline, walk the path in batches through the
 * model (forward + one tail-only backward per score kind), feed the
 * Riemann-Stieltjes sums, then turn them into maps and write the outputs.
 */
#ifndef RSICAM_EXPLAIN_H
#define RSICAM_EXPLAIN_H

#include <stdint.h>

#include "cam.h"
#include "plugin_registry.h"
#include "rsicam/model.h"

enum { RSI_METHOD_RSI = 1, RSI_METHOD_GRADCAM = 2 };

/* The most classes explained per image (each a backward per score kind). */
#define RSI_EXPLAIN_MAX_CLASSES 32

typedef struct rsi_explain_options {
    const char *const *layers; /* module paths */
    int n_layers;
    int methods;            /* RSI_METHOD_* bits */
    int variants;           /* bit (1 << rsi_variant) per variant */
    int score_kinds;        /* bit (1 << rsi_score_kind) per kind */
    const int64_t *classes; /* classes to explain; NULL: see below */
    int n_classes;
    int use_label; /* no classes given: explain the image's label */
    int top_k;     /* otherwise: the top k predictions (0 means 1) */
    int64_t steps; /* path steps m (m + 1 points) */
    int64_t batch; /* path points per forward */
    const rsi_plugin *baseline;
    const char *baseline_params; /* "k=v,..." or NULL */
    const rsi_plugin *path;
    const char *path_params;
    const char *out_dir;
    const char *model_name; /* as reported in results */
} rsi_explain_options;

typedef struct rsi_explainer rsi_explainer;

/* Checks the options, parses plugin parameters and exposes the layers on
 * the model (borrowed; it must outlive the explainer). */
rsi_explainer *rsi_explainer_new(rsi_model *model,
                                 const rsi_explain_options *opt);
void rsi_explainer_free(rsi_explainer *e);

/* Explains one image, writing its maps into opt->out_dir and one line per
 * map to results.jsonl. label is the image's ground-truth class (< 0: none)
 * for opt->use_label. On failure the image is recorded as failed in
 * results.jsonl, nothing partial is left, and -1 returns with the error
 * pending. */
int rsi_explain_image(rsi_explainer *e, const char *image_path, int64_t label);

/* Forward passes run so far (batches), for tests and reports. */
int64_t rsi_explainer_forwards(const rsi_explainer *e);

#endif
