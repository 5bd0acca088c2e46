/* rsicam — between pixels ([N, C, H, W] RGB in [0, 1]) and a model's
 * normalised input space ((v - mean[c]) / std[c]), for the host table's
 * to_model_space and to_pixel_space. One-channel tensors use the first
 * mean/std entry. */
#ifndef RSICAM_PIXEL_SPACE_H
#define RSICAM_PIXEL_SPACE_H

#include "rsicam/model.h"

/* (t - mean[c]) / std[c], in float64 and stored as float32: the same
 * arithmetic as the image reader (input.c), so that pixels normalised
 * here and the image being explained agree bit for bit. */
rsi_tensor *rsi_pixels_to_model(const rsi_tensor *t,
                                const rsi_model_info *info);
/* t * std[c] + mean[c], likewise. */
rsi_tensor *rsi_pixels_from_model(const rsi_tensor *t,
                                  const rsi_model_info *info);

#endif
