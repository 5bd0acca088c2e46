/* rsicam — the Riemann-Stieltjes engine.
 *
 * Along a path x_0 = baseline ... x_m = image, with A_i a layer's
 * activations at x_i and G_i the gradient of a score with respect to them,
 *
 *     IG = sum_{i=1..m} (G_{i-1} + G_i) / 2 * (A_i - A_{i-1})
 *
 * per unit (channel, row, column): the trapezoid rule of the Stieltjes
 * integral of G against A. Points arrive in batches and only the last point
 * (and the first activation, which the guided variant needs) is kept, so
 * memory does not grow with the number of steps. Increments, products and
 * sums are all formed in float64.
 *
 * One rsi_rs_layer per exposed layer follows the activations; one
 * rsi_rs_sum per (layer, target) integrates that target's gradients.
 */
#ifndef RSICAM_ENGINE_H
#define RSICAM_ENGINE_H

#include <stdint.h>

#include "rsicam/tensor.h"

typedef struct rsi_rs_layer {
    rsi_tensor *first_act;  /* A_0 [1, K, h, w] */
    rsi_tensor *last_act;   /* the latest point's A [1, K, h, w], float64 */
    const rsi_tensor *acts; /* this batch's A, borrowed from begin to end */
    int64_t points;         /* points seen so far */
} rsi_rs_layer;

typedef struct rsi_rs_sum {
    rsi_tensor *ig;        /* raw-gradient sum [K, h, w], float64 */
    rsi_tensor *ig_relu;   /* the same with ReLU(G); NULL unless wanted */
    rsi_tensor *last_grad; /* the latest point's G [1, K, h, w], float64 */
    int want_relu;
} rsi_rs_sum;

void rsi_rs_layer_init(rsi_rs_layer *layer);
void rsi_rs_layer_release(rsi_rs_layer *layer);
void rsi_rs_sum_init(rsi_rs_sum *sum, int want_relu);
void rsi_rs_sum_release(rsi_rs_sum *sum);

/* Takes the next batch of activations [B, K, h, w] for a layer, which must
 * live until rsi_rs_layer_end_batch(). Call before rsi_rs_sum_add() for the
 * same batch. */
int rsi_rs_layer_begin_batch(rsi_rs_layer *layer, const rsi_tensor *acts);
/* Adds the batch's trapezoids for one target's gradients [B, K, h, w]
 * (with the previous batch's last point: one pass over both batches). */
int rsi_rs_sum_add(rsi_rs_sum *sum, const rsi_rs_layer *layer,
                   const rsi_tensor *grads);
/* Ends the batch: remembers its last activation. */
int rsi_rs_layer_end_batch(rsi_rs_layer *layer, const rsi_tensor *acts);

/* Every point of a path kept, for refining it: the trapezoid rule at 2m
 * steps reuses all m + 1 points at m steps and needs only the m points in
 * between. Activations and gradients are stacked along dim 0 in path
 * order, in float64; memory grows with the points (unlike the sums above),
 * so adaptive steps cap them. */
typedef struct rsi_rs_store {
    int n_layers, n_targets;
    rsi_tensor **acts;  /* [n_layers]: [points, K, h, w] */
    rsi_tensor **grads; /* [n_targets * n_layers], target-major */
    int64_t points;
} rsi_rs_store;

int rsi_rs_store_init(rsi_rs_store *s, int n_layers, int n_targets);
void rsi_rs_store_release(rsi_rs_store *s);
/* Appends the next batch of points: acts [n_layers], grads
 * [n_targets * n_layers], each [B, K, h, w]. */
int rsi_rs_store_append(rsi_rs_store *s, rsi_tensor *const *acts,
                        rsi_tensor *const *grads);
/* Merges the points of mid into s, keeping path order: from_mid[i] says
 * whether row i of the result is the next row of mid (1) or of s (0); n
 * rows in all, which must use every row of both. */
int rsi_rs_store_merge(rsi_rs_store *s, const rsi_rs_store *mid,
                       const unsigned char *from_mid, int64_t n);
/* How much each new point changed the sums: for each row r of rows (a
 * point with both neighbours in s), the sum over layers, targets and units
 * of |trapezoid(r-1, r+1) - trapezoid(r-1, r) - trapezoid(r, r+1)|, the
 * local error the one coarse trapezoid made, into err. */
int rsi_rs_store_split_errors(const rsi_rs_store *s, const int64_t *rows,
                              int64_t n, double *err);
/* The sums over every stored point, into layers [n_layers] and sums
 * [n_targets * n_layers], which must be freshly initialised. */
int rsi_rs_store_sums(const rsi_rs_store *s, rsi_rs_layer *layers,
                      rsi_rs_sum *sums);

#endif
