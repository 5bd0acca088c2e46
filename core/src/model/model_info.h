/* rsicam — a model's preprocessing and labels (rsi_model_info).
 *
 * Model files carry an extra file "rsicam.json" (written by
 * tools/rsicam_meta.py):
 *   {"input_size": [H, W], "mean": [r, g, b], "std": [r, g, b],
 *    "labels": [...], "default_layer": "...", "temperature": T,
 *    "channel_order": "rgb" | "bgr",
 *    "preprocessing": "caffe" | "tf" | "torch"}
 * Every key is optional; defaults are 224x224, ImageNet mean/std and RGB.
 * "preprocessing" names a Keras mode (mean, std and channel order at
 * once); the other keys override its parts.
 */
#ifndef RSICAM_MODEL_INFO_H
#define RSICAM_MODEL_INFO_H

#include "rsicam/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RSI_MODEL_EXTRA_FILE "rsicam.json"

void rsi_model_info_init(rsi_model_info *info);
/* Parses the JSON text of the extra file into info (over the defaults).
 * Errors name the model file. */
int rsi_model_info_parse(rsi_model_info *info, const char *json,
                         const char *model_path);
void rsi_model_info_release(rsi_model_info *info);
/* "rgb" or "bgr" into *bgr (0 / 1); -1 for anything else. */
int rsi_channel_order_parse(const char *text, int *bgr);
/* A labels file's size bound: ImageNet-21k's names are under 1 MB. */
#define RSI_LABELS_MAX_BYTES (16 << 20)

/* Replaces the labels with the lines of a text file (one label a line):
 * a regular file of at most RSI_LABELS_MAX_BYTES, UTF-8. Whether their
 * count matches the model's classes is checked where the classes are
 * known (rsi_explain_check_labels). */
int rsi_model_info_read_labels(rsi_model_info *info, const char *path);

#ifdef __cplusplus
}
#endif
#endif
