/* rsicam — faithfulness metrics of a heatmap (definitions and papers:
 * docs/metrics.md).
 *
 *   deletion / insertion AUC   (RISE, Petsiuk et al. 2018) pixels are
 *       removed from the image, or put back into a substrate, most salient
 *       first, in n steps; the area under the class-score curve over the
 *       fraction of pixels changed. Deletion: low is good. Insertion: high
 *       is good.
 *   Average Drop / Increase in Confidence   (Grad-CAM++, Chattopadhyay et
 *       al. 2018) the class probability at the image against the one at the
 *       "explanation map" image x * heatmap. Average Drop: low is good.
 *       Increase in Confidence: high is good.
 *
 * Conventions shared by all of them:
 *   - x is one normalised input [1, C, H, W], as explain feeds the model;
 *   - heat is the heatmap at the model's input size, H * W floats in
 *     row-major order (explain's STEM.heatmap.npy, min-max normalised to
 *     [0, 1]);
 *   - a "pixel" is one spatial location: all C channels change together;
 *   - scores come from rsi_model_logits (no autograd), computed in double.
 * Failures return -1 with a message (RSI_ERR_USAGE for bad arguments,
 * RSI_ERR_MODEL for a class the model does not have).
 */
#ifndef RSICAM_METRICS_H
#define RSICAM_METRICS_H

#include <stdint.h>

#include "rsicam/model.h"
#include "rsicam/tensor.h"

/* Field names for these metrics in results.jsonl records, shared by the
 * experiment runner that writes them and the HTML report that reads them. */
#define RSI_METRIC_DELETION_AUC "deletion_auc"
#define RSI_METRIC_INSERTION_AUC "insertion_auc"
#define RSI_METRIC_DROP "drop"           /* per image, in [0, 1] */
#define RSI_METRIC_INCREASED "increased" /* per image, true/false */

/* ---- Pure helpers ------------------------------------------------------ */

/* Area under y(x) by the trapezoid rule over n >= 2 points (x ascending).
 * NaN when n < 2. */
double rsi_auc_trapezoid(const double *x, const double *y, int n);

/* order[0..n) = the indices of heat sorted by value, largest first; equal
 * values by ascending index, so the order (and every curve) is
 * deterministic; NaN values come last (as the least salient). */
int rsi_saliency_order(const float *heat, int64_t n, int64_t *order);

/* Pixels changed after step k of n_steps over n pixels: floor(k n / steps),
 * so step 0 changes none and step n_steps all. */
int64_t rsi_curve_count(int64_t k, int n_steps, int64_t n);

/* ---- Deletion and insertion -------------------------------------------- */

typedef struct rsi_curve_opts {
    int n_steps;          /* >= 1; the curve has n_steps + 1 points */
    int batch;            /* perturbed images per forward pass, >= 1 */
    rsi_score_kind score; /* RISE uses the softmax probability */
} rsi_curve_opts;

/* What pixels removed or not yet inserted are replaced by. RISE uses black
 * for deletion and a blurred copy of the image for insertion. */
typedef enum rsi_substrate_kind {
    RSI_SUBSTRATE_BLACK = 0, /* pixel value 0, i.e. (0 - mean) / std */
    RSI_SUBSTRATE_ZERO = 1,  /* normalised 0: the dataset's mean colour */
    RSI_SUBSTRATE_BLUR = 2   /* Gaussian blur of the image, sigma pixels */
} rsi_substrate_kind;

typedef struct rsi_substrate {
    rsi_substrate_kind kind;
    double sigma; /* BLUR only */
} rsi_substrate;

/* Parses "black", "zero", "blur" (sigma 5, RISE's) or "blur:SIGMA". */
int rsi_substrate_parse(const char *text, rsi_substrate *out);
/* The substrate for x (new tensor of x's shape). info gives mean/std for
 * BLACK. */
rsi_tensor *rsi_substrate_make(const rsi_substrate *s, const rsi_tensor *x,
                               const rsi_model_info *info);

/* One perturbation curve: starts at `from` and replaces its pixels by
 * those of `to`, most salient first. curve[k] (k = 0..n_steps) is the
 * class score after rsi_curve_count(k, ...) pixels; *auc its area over the
 * fraction of pixels changed, count / (H W), in [0, 1]. curve may be NULL;
 * otherwise it holds n_steps + 1 values. Deletion is (x -> substrate),
 * insertion (substrate -> x). */
int rsi_metric_curve(rsi_model *m, const rsi_tensor *from, const rsi_tensor *to,
                     const float *heat, int64_t cls, const rsi_curve_opts *opts,
                     double *curve, double *auc);

/* Both RISE metrics for one image: deletion from x towards deletion_base,
 * insertion from insertion_base towards x. A NULL base skips its metric
 * (its AUC becomes NaN). */
int rsi_metric_deletion_insertion(rsi_model *m, const rsi_tensor *x,
                                  const rsi_tensor *deletion_base,
                                  const rsi_tensor *insertion_base,
                                  const float *heat, int64_t cls,
                                  const rsi_curve_opts *opts,
                                  double *deletion_auc, double *insertion_auc);

/* ---- Average Drop and Increase in Confidence -------------------------- */

typedef struct rsi_confidence {
    double y;      /* softmax probability of the class at the image */
    double o;      /* ... at the explanation map image */
    double drop;   /* max(0, y - o) / y; 0 when y == 0 */
    int increased; /* o > y */
} rsi_confidence;

/* Fills drop and increased from y and o. */
void rsi_confidence_from(double y, double o, rsi_confidence *out);

/* The explanation map image E: in pixel space p = x std + mean, E = p h
 * per pixel and channel with h = heat clamped to [0, 1] (NaN: 0), then
 * normalised again. New tensor of x's shape. */
rsi_tensor *rsi_explanation_image(const rsi_tensor *x, const float *heat,
                                  const rsi_model_info *info);

/* y and o for one image in one forward pass of [x; E]. */
int rsi_metric_confidence(rsi_model *m, const rsi_model_info *info,
                          const rsi_tensor *x, const float *heat, int64_t cls,
                          rsi_confidence *out);

/* Running totals over images. */
typedef struct rsi_confidence_sum {
    int64_t n, increased;
    double drop;
} rsi_confidence_sum;

void rsi_confidence_add(rsi_confidence_sum *s, const rsi_confidence *c);
/* 100 * mean drop and 100 * fraction increased; NaN when n == 0. */
double rsi_average_drop(const rsi_confidence_sum *s);
double rsi_increase_in_confidence(const rsi_confidence_sum *s);

#endif
