/* Pixel-space helpers shared by the shipped baseline and path plugins.
 *
 * Compiled into each plugin that needs them (a plugin links against
 * nothing of rsicam), and built on the host table only. Tensors are
 * [N, C, H, W] with C = 1 or 3; one-channel tensors use the first
 * mean/std entry, as the zero baseline does. Results are new tensors;
 * NULL means an error was reported through the host.
 */
#ifndef RSICAM_PLUGINS_PIXELS_H
#define RSICAM_PLUGINS_PIXELS_H

#include "rsicam/plugin.h"

/* (t - mean[c]) / std[c] for info's mean and std: the host's
 * to_model_space, which the image being explained went through too. */
rsi_tensor *px_normalise(const rsi_host_api *h, const rsi_tensor *t,
                         const rsi_model_info *info);
/* t * std[c] + mean[c]: back to pixel values in [0, 1]. */
rsi_tensor *px_unnormalise(const rsi_host_api *h, const rsi_tensor *t,
                           const rsi_model_info *info);
/* From one model's normalised space to another's: un-normalise with from,
 * resize bilinearly to to's input size when it differs, normalise with
 * to. A plain copy when the two preprocessings are the same, so that no
 * rounding creeps in where there is nothing to convert. */
rsi_tensor *px_convert(const rsi_host_api *h, const rsi_tensor *t,
                       const rsi_model_info *from, const rsi_model_info *to);
/* An image file (any format host->image_read reads, not .npy) as a model
 * input: [1, 3, H, W] at info's input size, normalised, on like's device. */
rsi_tensor *px_read_input(const rsi_host_api *h, const char *path,
                          const rsi_model_info *info, const rsi_tensor *like);
/* t moved to like's device and dtype; takes t (NULL is passed through).
 * Data made in host memory must follow the image onto the model's device
 * (a GPU, say). */
rsi_tensor *px_follow(const rsi_host_api *h, rsi_tensor *t,
                      const rsi_tensor *like);
/* 1 when a and b have the same shape. */
int px_same_shape(const rsi_host_api *h, const rsi_tensor *a,
                  const rsi_tensor *b);
/* "[1, 3, 32, 32]" into buf (for messages). */
const char *px_shape_text(const rsi_host_api *h, const rsi_tensor *t, char *buf,
                          size_t n);

#endif
