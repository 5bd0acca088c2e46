/* rsicam — class activation maps from integrated or plain gradients.
 *
 * Variants of RSI-Grad-CAM, with IG the Riemann-Stieltjes sum (engine.h),
 * A_m the activations at the image and A_0 at the baseline:
 *   relu:   IG from ReLU(G); w_k = mean_uv IG_k; cam = ReLU(mean_k w_k A_m^k)
 *   plain:  IG from raw G;   w_k = mean_uv IG_k; cam = ReLU(mean_k w_k A_m^k)
 *   guided: IG from raw G, kept only at units where A_m > 0, IG > 0 and
 *           A_m - A_0 > 0;   w_k = mean_uv IG_k; cam = ReLU(sum_k w_k A_m^k)
 * Grad-CAM: w_k = mean_uv G_m^k; cam = ReLU(sum_k w_k A_m^k).
 * (The relu/plain and guided reductions follow the method's PyTorch and
 * Keras notebooks respectively.)
 */
#ifndef RSICAM_CAM_H
#define RSICAM_CAM_H

#include "rsicam/tensor.h"

typedef enum rsi_variant {
    RSI_VARIANT_RELU = 0,
    RSI_VARIANT_GUIDED = 1,
    RSI_VARIANT_PLAIN = 2,
    RSI_VARIANT_COUNT
} rsi_variant;

const char *rsi_variant_name(rsi_variant v);
/* -1 when the name is unknown. */
int rsi_variant_parse(const char *name);

/* cam [h, w] for a variant. ig is the sum for that variant ([K, h, w]; the
 * ReLU-gradient sum for relu), act_m and act_0 are [1, K, h, w]. */
rsi_tensor *rsi_cam_rsi(rsi_variant v, const rsi_tensor *ig,
                        const rsi_tensor *act_m, const rsi_tensor *act_0);
/* Grad-CAM's cam [h, w] from G_m and A_m, both [1, K, h, w]. */
rsi_tensor *rsi_cam_gradcam(const rsi_tensor *grad_m, const rsi_tensor *act_m);

/* cam [h, w] -> heatmap [H, W] (bilinear, half-pixel centres) copied into
 * out (H * W floats) and min-max normalised to [0, 1]; a constant map
 * becomes all zeros. */
int rsi_cam_heatmap(const rsi_tensor *cam, int64_t height, int64_t width,
                    float *out);
/* Min-max normalisation of n floats in place (constant -> zeros). */
void rsi_normalise_min_max(float *v, int64_t n);

#endif
