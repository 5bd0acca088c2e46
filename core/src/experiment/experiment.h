/* rsicam — experiments: a YAML file naming a model, images and lists of
 * settings; rsicam runs every combination, with resume and sharding.
 *
 * Loading checks the whole file, with the command line's overrides, against
 * the schema (docs/experiments.md) and every plugin's declared parameters,
 * opens the model to check layers and classes, and expands the image
 * sources, before anything is computed; every problem is reported at
 * once.
 *
 * Lists expand to the product of settings. Baselines x paths x steps are
 * pass groups: each needs its own walk along a path. Layers, methods,
 * score kinds and targets share that walk (one explainer per group
 * computes them all). A work unit is one image in one group; units are
 * numbered image-major (unit = image * groups + group), which fixes the
 * order of results.jsonl, the split into shards, and what a resumed run
 * skips.
 */
#ifndef RSICAM_EXPERIMENT_H
#define RSICAM_EXPERIMENT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "explain.h"
#include "metrics.h"
#include "plugin_registry.h"
#include "samples.h"

/* A baseline or path as configured. */
typedef struct rsi_xp_plugin {
    const rsi_plugin *plugin; /* borrowed from the experiment's registry */
    char *params;             /* "k=v,..." for rsi_plugin_parse_params */
    json_t *json;             /* {"name": N, every declared parameter} */
} rsi_xp_plugin;

/* One pass group: a baseline, a path and a step count. */
typedef struct rsi_xp_group {
    int baseline, path;
    int64_t steps;
    char *slug;       /* its map directory under maps/ */
    json_t *settings; /* {"baseline": {...}, "path": {...}, "steps": N} */
} rsi_xp_group;

typedef struct rsi_xp_image {
    char *path;    /* absolute */
    int64_t label; /* -1: none */
    int has_box;
    rsi_box box; /* in the image's own pixels */
    char *stem;  /* its map files' names start with this; unique */
} rsi_xp_image;

/* What to write per map (the first three are RSI_FILE_* bits) and per
 * image. */
enum {
    RSI_XP_OUT_CAM = 1,
    RSI_XP_OUT_HEATMAP = 2,
    RSI_XP_OUT_OVERLAY = 4,
    RSI_XP_OUT_MONTAGE = 8
};

/* Metrics per map. */
enum {
    RSI_XP_POINTING = 1,     /* pointing game (needs boxes) */
    RSI_XP_ENERGY = 2,       /* energy in the box (needs boxes) */
    RSI_XP_COMPLETENESS = 4, /* ig_sum against the score difference */
    RSI_XP_DELETION = 8,     /* deletion AUC (metrics.h) */
    RSI_XP_INSERTION = 16,   /* insertion AUC */
    RSI_XP_AVG_DROP = 32,    /* Average Drop */
    RSI_XP_INCREASE = 64     /* Increase in Confidence */
};

typedef struct rsi_xp_curve {
    int steps, batch;
    rsi_substrate deletion, insertion;
} rsi_xp_curve;

typedef struct rsi_experiment {
    char *config_path;
    json_t *resolved; /* the configuration after overrides and defaults */
    rsi_registry *registry;
    rsi_model *model;
    char *model_name; /* "model" in records: the model file, or plugin */
    int64_t num_classes;
    char **layers;
    int n_layers;
    rsi_target_rule *rules; /* tags owned */
    int n_rules;
    int methods, variants, score_kinds; /* explain.h bit sets */
    rsi_xp_plugin *baselines, *paths;
    int n_baselines, n_paths;
    int64_t *steps; /* 0: auto (adaptive steps) */
    int n_steps;
    double tol;        /* adaptive steps: tolerance and finest interval */
    int64_t max_steps; /* (1/max_steps of the path) */
    int64_t batch;     /* 0: auto (rsi_explain_auto_batch) */
    int threads;
    rsi_xp_image *images;
    int n_images;
    char *output; /* absolute */
    int outputs;  /* RSI_XP_OUT_* */
    int metrics;  /* RSI_XP_* metric bits */
    rsi_xp_curve curve;
    rsi_xp_group *groups;
    int n_groups;
} rsi_experiment;

/* Loads path, applies overrides ("steps=100", "baseline.blur.sigma=8",
 * "layers=[layer4,layer3]", "output=dir"), validates everything and
 * expands images and groups. plugin_dirs are searched before the file's
 * plugin_path. Returns NULL when anything is wrong, with every problem in
 * d (an internal failure: with the error pending and d empty). */
rsi_experiment *rsi_experiment_load(const char *path,
                                    const char *const *overrides,
                                    int n_overrides,
                                    const char *const *plugin_dirs,
                                    int n_plugin_dirs, rsi_diag *d);
void rsi_experiment_free(rsi_experiment *xp);

/* Records one unit writes: layers x method variants x scores x targets. */
int rsi_experiment_maps_per_unit(const rsi_experiment *xp);
/* Settings: maps per unit x groups. */
int rsi_experiment_settings(const rsi_experiment *xp);
/* Units: images x groups. */
int64_t rsi_experiment_units(const rsi_experiment *xp);
/* Prints the plan (groups, settings, units, maps) for --check. */
void rsi_experiment_print_plan(const rsi_experiment *xp, int shard_k,
                               int shard_n, FILE *out);

typedef struct rsi_run_options {
    int shard_k, shard_n; /* this run does units u with u % n == k - 1 */
    int quiet;            /* no progress or log lines */
} rsi_run_options;

typedef struct rsi_run_stats {
    int64_t units;    /* this shard's */
    int64_t computed; /* run now */
    int64_t skipped;  /* found finished */
    int64_t failed;   /* recorded as failed now */
    int64_t maps;     /* records written now */
    int64_t forwards; /* forward passes along paths now */
    double seconds;
} rsi_run_stats;

/* Runs the experiment into xp->output (see docs/experiments.md): map
 * files, results.jsonl, montages, summary.csv, resolved.yaml, run.json.
 * Returns 0, the exit code of the first failed image (> 0, the others
 * still ran), or -1 with an error when the run itself could not go on. */
int rsi_experiment_run(rsi_experiment *xp, const rsi_run_options *ro,
                       rsi_run_stats *stats);

/* The stems of the images' map file names (new strings into stems[n]):
 * the file name less its extension, and where two images' names agree
 * (ignoring case, as some file systems do) "-" and 8 hex digits of a hash
 * of the path, so that no two images' maps share files. 0, or -1 (out of
 * memory) with every stems[i] NULL. */
int rsi_image_stems(const char *const *paths, int n, char **stems);

/* Combines the output directories of shards into out (see merge.c).
 * Returns 0 or -1 with an error. */
int rsi_experiment_merge(const char *out, const char *const *dirs, int n,
                         int quiet);

#endif
