/* rsicam — images to model inputs and back. */
#ifndef RSICAM_INPUT_H
#define RSICAM_INPUT_H

#include "image.h"
#include "rsicam/model.h"

/* [1, 3, H, W] float32, (pixel - mean) / std per channel, from an image
 * already at the model's input size. */
rsi_tensor *rsi_input_from_image(const rsi_image *img,
                                 const rsi_model_info *info);

/* Reads an image file at the model's input size and normalises it. Also
 * returns the resized image when img != NULL (release it). */
rsi_tensor *rsi_input_read(const char *path, const rsi_model_info *info,
                           rsi_image *img);

/* The host table's image_read: [1, 3, h, w] in [0, 1] at the file's own
 * size (not normalised); .npy files are returned as stored. */
rsi_tensor *rsi_host_image_read(const char *path);

#endif
