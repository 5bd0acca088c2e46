/* rsicam — what `explain` writes for each map.
 *
 * Into the output directory, for a map named STEM
 * (IMAGE.LAYER.METHOD.SCORE, e.g. "cat.layer4.rsi-relu.softmax"):
 *   STEM.cam.npy      float32 [h, w]: the layer-resolution map after the
 *                     final ReLU, before normalisation;
 *   STEM.heatmap.npy  float32 [H, W]: upsampled to the model's input size,
 *                     min-max normalised to [0, 1];
 *   STEM.png          the input at the model's size with the heatmap over
 *                     it (jet colormap, alpha 0.5);
 * and one JSON object per map appended to results.jsonl. Each file is
 * written atomically; a map whose files cannot all be written leaves none.
 */
#ifndef RSICAM_RESULTS_H
#define RSICAM_RESULTS_H

#include <stdint.h>

#include "image.h"
#include "rsicam/tensor.h"

typedef struct rsi_map_record {
    const char *image, *model, *layer, *method, *variant, *score;
    const char *label; /* NULL when the model has no labels */
    const char *baseline, *path;
    int64_t class_index, steps, points;
    double probability; /* softmax probability of the class at the image */
    double score_image, score_baseline;
    int has_ig;    /* RSI maps: ig_sum and the completeness gap */
    double ig_sum; /* sum of the raw integrated gradients */
    double seconds; /* the image's whole pass, shared by its maps */
} rsi_map_record;

#define RSI_RESULTS_FILE "results.jsonl"

/* Writes the map's files and appends its record. img is the input at the
 * model's size, under the overlay. */
int rsi_results_write_map(const char *out_dir, const char *stem,
                          const rsi_tensor *cam, const rsi_image *img,
                          const rsi_map_record *rec);

/* Appends a record of an image that failed, with its error. */
int rsi_results_write_failure(const char *out_dir, const char *image,
                              const char *model, const char *message,
                              int error_class);

#endif
