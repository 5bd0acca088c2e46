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

/* The cams; map_kinds.h names them and says which sum each is fed. */

/* relu and plain: cam [h, w] from a sum ig [K, h, w] (ReLU(G)'s for relu,
 * G's for plain) and act_m [1, K, h, w]. */
rsi_tensor *rsi_cam_rsi_mean(const rsi_tensor *ig, const rsi_tensor *act_m);
/* guided: cam [h, w] from G's sum ig [K, h, w] and act_m, act_0
 * [1, K, h, w]. */
rsi_tensor *rsi_cam_rsi_guided(const rsi_tensor *ig, const rsi_tensor *act_m,
                               const rsi_tensor *act_0);
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
