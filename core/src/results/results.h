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
 *
 * An image's records are appended together, in one write, after all of its
 * files exist: a reader (or a resumed experiment) sees all of an image's
 * records or none of them, and every record it sees names files that are
 * complete.
 */
#ifndef RSICAM_RESULTS_H
#define RSICAM_RESULTS_H

#include <jansson.h>
#include <stdint.h>

#include "image.h"
#include "rsicam/tensor.h"

typedef struct rsi_map_record {
    const char *image, *model, *layer, *method, *variant, *score;
    const char *label; /* NULL when the model has no labels */
    const char *baseline, *path;
    const char *target;  /* the rule that chose the class ("top1"); NULL:
                            no "target" field */
    const char *warning; /* why the map says nothing (all zero); NULL: no
                            "warning" field */
    int64_t class_index, steps, points;
    double tol; /* adaptive steps' tolerance; 0: fixed steps, no field */
    double probability; /* softmax probability of the class at the image */
    double score_image, score_baseline;
    int has_ig;     /* RSI maps: ig_sum and the completeness gap */
    double ig_sum;  /* sum of the raw integrated gradients */
    double seconds; /* the image's pass, from its read to the end of its
                       walk, shared by its maps (images that share
                       forwards overlap) */
} rsi_map_record;

#define RSI_RESULTS_FILE "results.jsonl"

/* A map's files, as bits: which to write. */
enum {
    RSI_FILE_CAM = 1,     /* STEM.cam.npy */
    RSI_FILE_HEATMAP = 2, /* STEM.heatmap.npy */
    RSI_FILE_OVERLAY = 4, /* STEM.png */
    RSI_FILE_ALL = 7
};

/* Writes the files of map stem selected by files into dir. heat holds the
 * heatmap (img->height x img->width, from rsi_cam_heatmap). On failure
 * none of the files it created is left; a file that was there before (an
 * earlier run's) stays, whole, old or new. */
int rsi_results_write_files(const char *dir, const char *stem, int files,
                            const rsi_tensor *cam, const float *heat,
                            const rsi_image *img);
/* Removes the files of map stem from dir that this process created (a
 * later map of the image failed, or its record could not be written);
 * files that were there before it wrote them stay. */
void rsi_results_remove_files(const char *dir, const char *stem);

/* The record of a map (new object): rec's fields and, under "cam",
 * "heatmap" and "overlay", prefix + stem + suffix for each file in files
 * (null for the others). prefix: where the files lie relative to the
 * results file ("" or NULL: beside it). */
json_t *rsi_results_map_json(const rsi_map_record *rec, const char *prefix,
                             const char *stem, int files);
/* The record of an image that failed, with its error (new object). */
json_t *rsi_results_failure_json(const char *image, const char *model,
                                 const char *message, int error_class);
/* Appends every object of the array records to file, one line each, in a
 * single write (see above). An empty array writes nothing. */
int rsi_results_append(const char *file, const json_t *records);

/* Writes all of a map's files into out_dir and appends its record to
 * out_dir/results.jsonl at once. img is the input at the model's size,
 * under the overlay. */
int rsi_results_write_map(const char *out_dir, const char *stem,
                          const rsi_tensor *cam, const rsi_image *img,
                          const rsi_map_record *rec);

/* Appends a record of an image that failed, with its error. */
int rsi_results_write_failure(const char *out_dir, const char *image,
                              const char *model, const char *message,
                              int error_class);

#endif
