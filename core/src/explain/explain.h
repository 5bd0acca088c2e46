/* rsicam — explaining images: one pass along a path per image serves every
 * layer, score kind, variant and method asked for.
 *
 * For each image: read and normalise it, pick the class (the top prediction
 * unless given), make the baseline, walk the path in batches through the
 * model (forward + one tail-only backward per score kind), feed the
 * Riemann-Stieltjes sums, then turn them into maps and write the outputs.
 * Several images' points share a forward when one image's do not fill it.
 */
#ifndef RSICAM_EXPLAIN_H
#define RSICAM_EXPLAIN_H

#include <jansson.h>
#include <stdint.h>

#include "cam.h"
#include "image.h"
#include "map_kinds.h"
#include "plugin_registry.h"
#include "rsicam/model.h"

/* The most classes explained per image (each a backward per score kind). */
#define RSI_EXPLAIN_MAX_CLASSES 32

/* Experiments name how each class was chosen, so that one pass can serve
 * several rules ("the top 2 and the true label") and every record says
 * which rule it answers. */
typedef enum rsi_target_rule_kind {
    RSI_TARGET_CLASS = 1, /* a fixed class index (value) */
    RSI_TARGET_LABEL = 2, /* the image's ground-truth label */
    RSI_TARGET_RANK = 3   /* the value-th prediction (1: the top one) */
} rsi_target_rule_kind;

typedef struct rsi_target_rule {
    rsi_target_rule_kind kind;
    int64_t value;
    const char *tag; /* the record's "target" ("top1", "label", "class:3") */
} rsi_target_rule;

/* What a hook sees of one map; everything is borrowed for the call. */
typedef struct rsi_map_view {
    const char *image_path;
    const rsi_image *img; /* the input at the model's size */
    const rsi_tensor *x;  /* the normalised input [1, C, H, W] */
    const float *heatmap; /* img->height x img->width, in [0, 1] */
    int64_t class_index;
    rsi_score_kind score;
} rsi_map_view;

/* Called once per map after its files are written, with its record (a
 * JSON object) to add fields to (metrics). Returns 0, or -1 with an error
 * pending, which fails the image. */
typedef int (*rsi_map_hook)(void *user, rsi_model *model,
                            const rsi_map_view *view, json_t *record);

typedef struct rsi_explain_options {
    const char *const *layers; /* module paths */
    int n_layers;
    int methods;            /* the maps to make: methods and variants */
    int variants;           /* as bit sets (map_kinds.h) */
    int score_kinds;        /* bit (1 << rsi_score_kind) per kind */
    const int64_t *classes; /* classes to explain; NULL: see below */
    int n_classes;
    int top_k;     /* otherwise: the top k predictions (0 means 1) */
    int64_t steps; /* path steps m (m + 1 points); adaptive: the first m */
    /* Adaptive steps when tol > 0: start at steps, then split (at their
     * midpoints, running only the new points) the intervals whose last
     * split showed most of the local error, until, for every map, the
     * completeness gap |sum IG - (score(x) - score(x'))| /
     * |score(x) - score(x')| and the relative L2 change of the cam since
     * the last refinement are both <= tol, or until an interval would be
     * finer than 1/max_steps of the path. The record's steps are then the
     * intervals used. */
    double tol;
    int64_t max_steps;
    int64_t batch; /* path points per forward (one more in the last
                      forwards, rather than a short one at the end);
                      0: rsi_explain_auto_batch */
    const rsi_plugin *baseline;
    const char *baseline_params; /* "k=v,..." or NULL */
    const rsi_plugin *path;
    const char *path_params;
    const char *out_dir;
    const char *model_name; /* as reported in results */
    /* Optional; zero values keep explain's behaviour. */
    const rsi_target_rule *rules; /* n_rules > 0: these choose the classes
                                     (over classes and top_k), each
                                     record names its rule, and the class
                                     joins every map's name */
    int n_rules;
    const char *results_file; /* NULL: out_dir/results.jsonl */
    const char *file_prefix;  /* before file names in records: where
                                 out_dir lies from the results file */
    int files;                /* RSI_FILE_* bits to write; 0: all */
    /* Each forward holds the points of one image only, never the next
     * image's after them. The rows of a forward change its results in the
     * last float bits (the kernels block and sum by batch), so only then
     * are an image's maps the same whatever images come before it: an
     * experiment's resume, which skips the images recorded, and its shards
     * depend on that. */
    int image_per_forward;
    /* The images the whole run explains, of which --batch auto on a CPU
     * charges each batch's one-time costs to (0: those queued when the
     * first image starts). An experiment counts the images it skips on
     * resume too, so that its batch, and so its maps, stay the same. */
    int64_t planned_images;
    rsi_map_hook hook;
    void *hook_user;
} rsi_explain_options;

typedef struct rsi_explainer rsi_explainer;

/* The batch of `--batch auto` (opt->batch 0) for a model on a GPU or not:
 * on a GPU, four images' points, 4 (m + 1), with fixed steps, else 64; on
 * the CPU 8 points, until the explainer has measured the machine's best on
 * its first image (or read it from the cache of an earlier run). */
int64_t rsi_explain_auto_batch(int on_gpu, const rsi_explain_options *opt);

/* Checks the options, parses plugin parameters and exposes the layers on
 * the model (borrowed; it must outlive the explainer). */
rsi_explainer *rsi_explainer_new(rsi_model *model,
                                 const rsi_explain_options *opt);
void rsi_explainer_free(rsi_explainer *e);

/* What one queued image is explained as and for; everything is copied. */
typedef struct rsi_image_request {
    const char *stem; /* names its map files; NULL: the image's file name
                         without its extension */
    int64_t label;    /* its ground-truth class, < 0: none, for
                         RSI_TARGET_LABEL rules */
    /* Its own classes, over opt->classes and top_k (an
     * explainer with rules takes none): 0 to RSI_EXPLAIN_MAX_CLASSES,
     * none meaning the explainer's choice; each checked against the
     * model's classes once the image's logits are known. */
    const int64_t *classes;
    int n_classes;
} rsi_image_request;

/* Queues an image to explain (req NULL: no label, stem and classes).
 * Images are explained in the order queued; while one walks its path the
 * next is read on a thread, and with fixed steps a forward holds
 * opt->batch path points, of the images after it too when one image's
 * points do not fill it (unless opt->image_per_forward). */
int rsi_explainer_queue(rsi_explainer *e, const char *image_path,
                        const rsi_image_request *req);

/* The same for an image held in memory, already at the model's input
 * size (rsi_image_from_pixels resizes as reading a file does); on success
 * the explainer owns img's pixels and img is zeroed. name stands for the
 * image's path in records, errors and plugins' contexts, and, without a
 * stem, names its map files as a path would. */
int rsi_explainer_queue_image(rsi_explainer *e, rsi_image *img,
                              const char *name, const rsi_image_request *req);

/* Explains the oldest queued image, writing its maps into opt->out_dir and
 * one line per map to the results file, all of the image's lines in one
 * write after all of its files exist (results.h). On failure the image is
 * recorded as failed, nothing partial is left, and -1 returns with the
 * error pending. Forwards may carry points of the images queued after it
 * (unless opt->image_per_forward), which moves the maps only in their last
 * float bits. */
int rsi_explain_next(rsi_explainer *e);

/* The same without appending: *records receives a new JSON array with the
 * image's records (on failure: the one failure record, with nothing of
 * the image left on disk; NULL when not even that could be made). The
 * caller appends them (rsi_results_append) once it has added what it
 * needs. */
int rsi_explain_next_records(rsi_explainer *e, json_t **records);

/* Forgets every image queued and not yet returned by rsi_explain_next*():
 * reads ahead, walks and map files already written for them (removed), as
 * if they had never been queued. The model, its layers and the batch
 * measured on it stay, so the explainer takes new images as it is: the
 * way on after a caller stops partway (an image failed, Ctrl-C).
 * rsi_explainer_free does the same first. */
void rsi_explainer_drop_queued(rsi_explainer *e);

/* The model's number of classes, from one forward pass of a zero input
 * at its input size. Returns 0, or -1 with an error (the forward failed,
 * or its output is not [N, classes] with classes >= 1). */
int rsi_model_count_classes(rsi_model *model, int64_t *classes);

/* Forward passes run so far (batches), for tests and reports. */
int64_t rsi_explainer_forwards(const rsi_explainer *e);
/* The forwards that carried points of the image rsi_explain_next*() last
 * returned (some possibly shared with other images). */
int64_t rsi_explainer_image_forwards(const rsi_explainer *e);

#endif
