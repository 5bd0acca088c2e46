/* rsicam — tensors.
 *
 * An opaque handle over a libtorch tensor, so that the core and plugins in
 * plain C never see libtorch. Ownership: arguments are borrowed; every
 * returned rsi_tensor * is new and belongs to the caller, who frees it with
 * rsi_tensor_free() (NULL is fine). Failures return NULL or -1 with a message
 * (see error.h). Unless said otherwise, operations keep the device and dtype
 * of their inputs; elementwise operations broadcast as libtorch does.
 */
#ifndef RSICAM_TENSOR_H
#define RSICAM_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "rsicam/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RSI_MAX_DIMS 8

typedef struct rsi_tensor rsi_tensor;

typedef enum rsi_dtype { RSI_FLOAT32 = 0, RSI_FLOAT64 = 1 } rsi_dtype;

/* Construction. */
RSI_API rsi_tensor *rsi_tensor_from_floats(const float *data,
                                           const int64_t *shape,
                                           int ndim); /* copies data */
RSI_API rsi_tensor *rsi_tensor_full(const int64_t *shape, int ndim,
                                    double value);
/* A tensor of the shape, dtype and device of like, filled with value. */
RSI_API rsi_tensor *rsi_tensor_full_like(const rsi_tensor *like, double value);
RSI_API rsi_tensor *rsi_tensor_clone(const rsi_tensor *t);
RSI_API void rsi_tensor_free(rsi_tensor *t);

/* Shape and data. */
RSI_API int rsi_tensor_ndim(const rsi_tensor *t);
RSI_API int64_t rsi_tensor_size(const rsi_tensor *t,
                                int dim); /* dim < 0 counts back */
RSI_API int64_t rsi_tensor_numel(const rsi_tensor *t);
/* Copies all elements, converted to float32, into out (n >= numel). */
RSI_API int rsi_tensor_to_floats(const rsi_tensor *t, float *out, int64_t n);
/* The single element of a one-element tensor, as a double. */
RSI_API int rsi_tensor_item(const rsi_tensor *t, double *out);
RSI_API rsi_tensor *rsi_tensor_to_dtype(const rsi_tensor *t, rsi_dtype dtype);
/* A copy of t on like's device, with like's dtype. */
RSI_API rsi_tensor *rsi_tensor_to_like(const rsi_tensor *t,
                                       const rsi_tensor *like);
/* The dtype (rsi_dtype), or -1 for one rsicam does not use. */
RSI_API int rsi_tensor_dtype(const rsi_tensor *t);
/* 1 when a and b are on the same device, 0 when not, -1 on error. */
RSI_API int rsi_tensor_same_device(const rsi_tensor *a, const rsi_tensor *b);
/* 1 when a and b have the same shape, dtype and device and their elements
 * the same bits (so -0 differs from 0, and a NaN equals itself), 0 when
 * not, -1 on error. */
RSI_API int rsi_tensor_same_bits(const rsi_tensor *a, const rsi_tensor *b);
/* "[1, 3, 32, 32] Float on cpu" into buf (for messages); returns buf. */
RSI_API const char *rsi_tensor_describe(const rsi_tensor *t, char *buf,
                                        size_t n);
/* Same data with a new shape (element count unchanged). */
RSI_API rsi_tensor *rsi_tensor_reshape(const rsi_tensor *t,
                                       const int64_t *shape, int ndim);

/* Elementwise arithmetic. */
RSI_API rsi_tensor *rsi_tensor_add(const rsi_tensor *a, const rsi_tensor *b);
RSI_API rsi_tensor *rsi_tensor_sub(const rsi_tensor *a, const rsi_tensor *b);
RSI_API rsi_tensor *rsi_tensor_mul(const rsi_tensor *a, const rsi_tensor *b);
RSI_API rsi_tensor *rsi_tensor_div(const rsi_tensor *a, const rsi_tensor *b);
RSI_API rsi_tensor *rsi_tensor_scale(const rsi_tensor *a, double s);
/* alpha * a + beta * b: the one primitive behind interpolating paths. */
RSI_API rsi_tensor *rsi_tensor_axpby(double alpha, const rsi_tensor *a,
                                     double beta, const rsi_tensor *b);
/* The n rows a + alpha[k] (b - a), k < n, for a and b of one row each
 * [1, ...]: row k is rsi_tensor_axpby(1, a, alpha[k], b - a) to the bit,
 * a itself where alpha[k] is 0 and b where it is 1. */
RSI_API rsi_tensor *rsi_tensor_lerp(const rsi_tensor *a, const rsi_tensor *b,
                                    const double *alpha, int64_t n);
RSI_API rsi_tensor *rsi_tensor_relu(const rsi_tensor *a);
/* 1 where a > 0, else 0 (same dtype as a). */
RSI_API rsi_tensor *rsi_tensor_positive(const rsi_tensor *a);
/* Elementwise square root (NaN below 0). */
RSI_API rsi_tensor *rsi_tensor_sqrt(const rsi_tensor *a);
/* In place: acc += t (t is converted to acc's dtype). */
RSI_API int rsi_tensor_add_(rsi_tensor *acc, const rsi_tensor *t);

/* Structure. */
RSI_API rsi_tensor *rsi_tensor_cat(const rsi_tensor *const *ts, int n, int dim);
RSI_API rsi_tensor *rsi_tensor_narrow(const rsi_tensor *t, int dim,
                                      int64_t start, int64_t length);

/* Reductions. */
RSI_API rsi_tensor *rsi_tensor_sum_dim(const rsi_tensor *t, int dim,
                                       int keepdim);
RSI_API rsi_tensor *rsi_tensor_mean_dims(const rsi_tensor *t,
                                         const int64_t *dims, int ndims,
                                         int keepdim);
RSI_API int rsi_tensor_sum_all(const rsi_tensor *t, double *out);
RSI_API int rsi_tensor_min_max(const rsi_tensor *t, double *min, double *max);
/* 1 when every element is finite. */
RSI_API int rsi_tensor_all_finite(const rsi_tensor *t);
/* The Riemann-Stieltjes engine's pass over a batch of path points, in one
 * pass where it can be. Gradients g and activations a come as the points
 * [prev; batch]: prev, where not NULL (for both or neither), the previous
 * batch's last point (float64 [1, ...]), then the batch (float32 or
 * float64 [B, ...], the same shape for both); two points at least.
 *     *sum      += 0.5 * sum over r of (g[r + 1] + g[r]) * (a[r + 1] - a[r])
 *     *sum_relu += the same with relu(g)          (unless sum_relu is NULL)
 * all in float64, the increments too; each sum (float64, a point's shape)
 * is made when NULL. */
RSI_API int rsi_tensor_trapezoids_add(rsi_tensor **sum, rsi_tensor **sum_relu,
                                      const rsi_tensor *g_prev,
                                      const rsi_tensor *g,
                                      const rsi_tensor *a_prev,
                                      const rsi_tensor *a);

/* Images ([N, C, H, W]). */
/* Bilinear resize, half-pixel centres (align_corners = false). */
RSI_API rsi_tensor *rsi_tensor_resize_bilinear(const rsi_tensor *t, int64_t h,
                                               int64_t w);
/* Per-channel Gaussian blur, reflect padding; sigma in pixels (0: copy). */
RSI_API rsi_tensor *rsi_tensor_gaussian_blur(const rsi_tensor *t, double sigma);

#ifdef __cplusplus
}
#endif
#endif
