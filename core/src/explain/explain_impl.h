/* rsicam — what the explain files share (explain.h is the interface).
 * Each file uses only those listed below it, never one above:
 *
 *   explain.c           the explainer's options, its queue of images, and
 *                       each image's way out, in order
 *   explain_stream.c    images in flight and the stream of path points
 *                       that fills every forward, across images when one
 *                       image's points do not fill it
 *   explain_adaptive.c  adaptive steps, one image at a time
 *   explain_feed.c      rows through the model into each image's sums
 *   explain_classes.c   which classes an image is explained for
 *   explain_maps.c      the sums turned into maps, records and files
 *   explain_trace.c     RSICAM_TRACE and RSICAM_PROFILE, read once
 */
#ifndef RSICAM_EXPLAIN_IMPL_H
#define RSICAM_EXPLAIN_IMPL_H

#include <pthread.h>

#include "engine.h"
#include "explain.h"
#include "kept_error.h"
#include "plugin_call.h"
#include "read_ahead.h"
#include "results.h"
#include "rsicam/error.h"

/* What is known of an image and what it produced. */
typedef struct image_facts {
    const char *path;
    char stem[256];
    int64_t label; /* < 0: none */
    int n_asked;   /* its own classes (asked), over the explainer's */
    int64_t asked[RSI_EXPLAIN_MAX_CLASSES];
    int64_t n_outputs; /* the model's classes, from the image's logits */
    const rsi_image *img;
    const rsi_tensor *x; /* the normalised input, for hooks */
    int n_classes;
    int64_t classes[RSI_EXPLAIN_MAX_CLASSES];
    double probabilities[RSI_EXPLAIN_MAX_CLASSES];
    int rule_class[RSI_EXPLAIN_MAX_CLASSES]; /* per rule: index in classes */
    double seconds;
    json_t *records; /* the image's records, appended at its end */
    json_t *written; /* stems of the maps written, removed on failure */
} image_facts;

/* One image's walk along its path: its targets and the sums they feed. */
typedef struct pass {
    int chosen; /* the targets are known and the sums exist */
    /* one target per (class, score kind), class-major */
    rsi_target targets[RSI_EXPLAIN_MAX_CLASSES * 2];
    int n_layers, n_targets;
    rsi_rs_layer *layers; /* [n_layers] */
    rsi_rs_sum *sums;     /* [n_targets * n_layers] */
    double score_first[RSI_EXPLAIN_MAX_CLASSES * 2]; /* per target: at x_0 */
    double score_last[RSI_EXPLAIN_MAX_CLASSES * 2];  /* per target: at x_m */
    int64_t points;                                  /* run through the model */
    int64_t steps;                                   /* the path's steps m */
} pass;

/* The image's own row. Its logits choose the targets, so it runs first,
 * in its image's first forward, where it is also differentiated (in
 * float32 under a reduced-precision head) and kept; when the path's last
 * point turns out to be the image, bit for bit (the linear path's is),
 * that point takes no row of a later forward: the kept row is fed in its
 * place (otherwise it only chose the targets). The stream and the
 * adaptive walk (ex_feed_batch) both keep it. */
typedef struct image_row {
    int kept_here;   /* this forward's part starts with the image's row */
    int stands_last; /* the path's last point was dropped for the kept row */
    /* one row each: activations [n_layers], then gradients per target
     * [n_targets * n_layers] (NULL until kept) */
    rsi_tensor **views;
    int n_views;
    double scores[RSI_EXPLAIN_MAX_CLASSES * 2];
} image_row;

/* A map's files, to be written. */
typedef struct ex_map_file {
    char *stem;
    rsi_tensor *cam; /* on the host */
    float *heat;     /* img->height x img->width */
} ex_map_file;

/* An image's map files, written on a thread while the model runs the next
 * images' points. */
typedef struct ex_files {
    struct { /* maps the thread makes first (ex_maps_start) */
        struct rsi_explainer *e;
        const struct pass *p;
        struct image_facts *f;
    } make;
    ex_map_file *maps;
    int n, cap;
    const char *out_dir;
    int which; /* RSI_FILE_* bits */
    const rsi_image *img;
    pthread_t thread;
    int started;
    int written; /* maps whose files are complete */
    int failed;  /* error says why */
    rsi_kept_error error;
} ex_files;

/* An image from its start to its records. */
typedef struct flight {
    image_facts f;
    pass p;
    rsi_image img;
    rsi_tensor *x; /* on the model's device */
    rsi_tensor *baseline;
    rsi_context ctx;    /* the run's facts that plugins see */
    rsi_path_call path; /* the open path while it has points to give */
    image_row image;
    int64_t forwards; /* forwards that carried its points */
    int exhausted;    /* every point given (and, once fed, summed) */
    int finished;     /* nothing more to run: maps to write, or failed */
    int failed;       /* error says why */
    rsi_kept_error error;
    double start, t_read, t_baseline;
    int maps_made; /* its maps and records exist, its files are written */
    ex_files files;
} flight;

/* One target per (class, score kind). */
#define EX_MAX_TARGETS (RSI_EXPLAIN_MAX_CLASSES * 2)

/* RSICAM_TRACE and RSICAM_PROFILE, read once per explainer, and the
 * stream's pace: the ends of the first and the latest forward, and the
 * points run after the first. */
typedef struct ex_trace {
    int on;                   /* RSICAM_TRACE is set */
    const char *profile_file; /* RSICAM_PROFILE, or NULL */
    int profiling;            /* its recording runs (from the first
                                 forward's end) */
    double first_forward_end, last_forward_end;
    int64_t points_after_first;
} ex_trace;

/* The most images read ahead at once. */
#define RSI_EXPLAIN_READ_AHEAD 16

typedef struct queued {
    char *path, *stem; /* stem NULL: the file name's */
    int64_t label;
    int64_t *classes; /* its own classes (rsi_image_request), on the heap
                         since experiments queue every image at once */
    int n_classes;
    rsi_image pixels; /* held in memory (data NULL: read from path, which
                         then only names it) */
} queued;

struct rsi_explainer {
    rsi_model *model;
    rsi_explain_options opt;
    rsi_param_value *baseline_values, *path_values;
    int n_kinds;
    rsi_score_kind kinds[RSI_SCORE_KINDS];
    int64_t forwards;
    int64_t last_image_forwards; /* of the image last explained */
    ex_trace trace;
    char *results_file;
    queued *queue; /* images queued, in order; head is the next explained */
    int64_t n_queued, cap_queued, head;
    flight **flights; /* started images: flights[i] is queue[head + i];
                         each allocated alone, since plugins may keep a
                         pointer to its ctx */
    int n_flights, cap_flights;
    /* the next images, read on threads: as many as a forward holds */
    rsi_read_ahead ahead[RSI_EXPLAIN_READ_AHEAD];
    /* `--batch auto` on a CPU: measured on the first image that starts,
     * and cached unless libtorch's threads waited for a CPU more than
     * this share of the measuring (ex_calibration_max_wait) */
    int calibrate_batch;
    double calibration_max_wait;
    /* the points a forward takes where `--batch auto` found the network
     * after the layer wide (ex_settle_forward_rows); else 0: opt.batch */
    int64_t forward_rows;
};

static inline int ex_walks_path(const rsi_explainer *e)
{
    return rsi_map_kinds_integrate(e->opt.methods, e->opt.variants);
}

static inline int ex_adaptive(const rsi_explainer *e)
{
    return ex_walks_path(e) && e->opt.tol > 0;
}

/* The most points a forward takes. */
static inline int64_t ex_forward_rows(const rsi_explainer *e)
{
    return e->forward_rows ? e->forward_rows : e->opt.batch;
}

/* ---- batch_calibrate.c ---- */

/* `--batch auto` on a CPU: the batch that runs the points queued in the
 * least time, one-time costs included, from a measurement on the first
 * image that starts (on the model's device, its path open) at 1, 2, 4, 8
 * and 16 rows or from the cache of an earlier one (RSICAM_CACHE_DIR, else
 * $XDG_CACHE_HOME/rsicam or ~/.cache/rsicam). Never fails: when measuring
 * fails, one line says so and opt.batch stays. */
int64_t ex_calibrated_batch(rsi_explainer *e, const flight *first);
/* The choice from a measurement of the first n candidates (1, 2, 4, ...
 * rows): ms[i] the pace in milliseconds per point, once[i] what the
 * candidate's first run cost besides. A command of `points` points at
 * candidate i pays once[0] + ... + once[i] (a fresh process's forwards of
 * those rows touch the memory that every smaller candidate's did, and
 * more; this overstates it by the smaller shapes' kernels, some 40 ms for
 * ResNet50's) plus points * ms[i]. The fewest rows within 1% of the least
 * cost win: more rows hold more memory for nothing. */
int64_t ex_auto_batch_choice(const double *ms, const double *once, int n,
                             double points);
/* The candidates' measurement behind ex_calibrated_batch, one forward
 * at a time through probe (rows copies of the first image: milliseconds
 * per point, < 0 on failure with the error pending). Fills ms[i] and
 * once[i] for the EX_BATCH_CANDIDATES candidates 1, 2, 4, 8 and 16 rows
 * as ex_auto_batch_choice takes them, -1 for those not measured. Returns
 * 0, or -1 with the error pending. */
enum { EX_BATCH_CANDIDATES = 5 };
typedef double (*ex_pace_probe)(void *ctx, int64_t rows);
int ex_measure_candidates(ex_pace_probe probe, void *ctx, double *ms,
                          double *once);
/* RSICAM_CALIBRATION_MAX_WAIT, or its default; -1 with a usage error
 * when it is not a share in [0, 1]. */
double ex_calibration_max_wait(void);

/* ---- explain_stream.c ---- */

/* Starts the next queued image that has not started: 1 when there is
 * none, -1 out of memory. An image that cannot start is a failed flight. */
int ex_flight_start_next(rsi_explainer *e);
/* The flight's walk is over: every point it gave has been summed. */
void ex_flight_walked(rsi_explainer *e, flight *fl);
/* The flight's maps, records and files: all on a thread while the model
 * runs the next points, or, for a hook (which sees the caller's state of
 * the image), the maps here and the files on a thread. */
void ex_flight_make_maps(rsi_explainer *e, flight *fl);
void ex_flight_free(flight *fl);
/* Once `--batch auto` has chosen opt.batch on a CPU: where the model's
 * tail is wide (rsi_model_wide_tail), forwards of up to 64 points with
 * the head run opt.batch rows at a time. A given --batch, or a tail that
 * is not wide, keeps forwards of opt.batch. Never fails: a model that
 * cannot say keeps opt.batch. */
void ex_settle_forward_rows(rsi_explainer *e);
/* How many images' points a forward holds whole (0: one image's points
 * span forwards). */
int64_t ex_images_per_forward(const rsi_explainer *e);
/* One forward of up to opt.batch points: the oldest flights' next points
 * in order, starting queued images while there is room. Flights whose
 * points have all been summed then end their walk. */
int ex_stream_batch(rsi_explainer *e);

/* ---- explain_adaptive.c ---- */

/* Walks the flight's path with adaptive steps (rsi_explain_options.tol). */
int ex_walk_adaptive(rsi_explainer *e, flight *fl);

/* ---- explain_feed.c ---- */

/* Empties the pass's sums (and the layers they follow). */
void ex_pass_reset_sums(pass *p, const rsi_explainer *e);
void ex_pass_release(pass *p);
/* Ends the flight with the pending error, which it keeps for its record;
 * the error is cleared, so that the other images go on. */
void ex_flight_fail(flight *fl);
/* Runs x through the model in parts (one per flight, see
 * rsi_model_run_parts) and feeds each part to its flight. A flight that
 * fails fails alone; -1 when the run itself failed (every flight then
 * failed with its error). */
int ex_run_and_feed(rsi_explainer *e, const rsi_tensor *x, rsi_run_part *parts,
                    flight **owners, int n, rsi_rs_store *store, int refining);
/* Feeds the kept image row as the path's last point (into the sums, or
 * with a store, after the points there), when no row of a forward is left
 * to carry it; -1 with an error pending. */
int ex_feed_image_row(flight *fl, rsi_rs_store *store);
void ex_image_row_release(image_row *r);
/* Whether the last row of points, the path's last point, is the image bit
 * for bit: then the kept image row stands for it (image_row.stands_last),
 * *rest receives the rows before it (NULL when there are none) and 1 is
 * returned; 0 when it is not or when the kept row would not exist by the
 * time the last point is fed (kept: the row runs in this forward, ahead
 * of the flight's points_here points, of which at least one must stay;
 * otherwise it must have run before); -1 with an error pending. */
int ex_drop_image_point(flight *fl, int kept, int64_t points_here,
                        const rsi_tensor *points, rsi_tensor **rest);
/* The rows of a part (its rows set, image.kept_here and exhausted known)
 * that run in float32 under a reduced-precision head: the image's kept
 * row (it may stand for the path's last point), the path's first point
 * (starts) and its last unless the kept row stands for it. */
void ex_full_precision_rows(rsi_run_part *part, const flight *fl, int starts);

/* Runs one batch of the flight's path points (all of the batch's rows
 * are its points; until the targets are chosen, the image's own row runs
 * ahead of them and is kept, as on the stream) and feeds every sum, or,
 * with a store, keeps the points there; refining: mid points, which leave
 * the end scores alone; first, last: the batch starts with the path's
 * first point, ends with its last. */
int ex_feed_batch(rsi_explainer *e, flight *fl, const rsi_tensor *batch,
                  rsi_rs_store *store, int refining, int first, int last);

/* ---- explain_classes.c ---- */

/* The classes to explain for an image, from the logits at the image, into
 * f->classes (see rsi_explain_options). */
/* Why a map is all zero when the reason is known (one class under
 * softmax, a score that did not change along the path), for the record's
 * "warning"; NULL otherwise. */
const char *ex_zero_map_warning(const image_facts *f, const rsi_map_record *rec,
                                const rsi_tensor *cam);
int ex_choose_classes(const rsi_explainer *e, const rsi_tensor *logits,
                      image_facts *f);

/* ---- explain_maps.c ---- */

/* The pass's maps: cams, heatmaps and records (into f->records) now, their
 * files into files. */
int ex_make_maps(rsi_explainer *e, const pass *p, image_facts *f,
                 ex_files *files);
/* Starts writing the files (each map all its files or none). */
void ex_files_start(ex_files *files);
/* Starts a thread that makes the pass's maps and records (ex_make_maps,
 * which must need no caller state: no hook) and then writes their files,
 * while this thread runs the next images' points. */
void ex_maps_start(rsi_explainer *e, const pass *p, image_facts *f,
                   ex_files *files);
/* Waits for them, adds the stems written to written, and makes them
 * durable; -1 with the writer's error pending. */
int ex_files_finish(ex_files *files, json_t *written);
/* Waits for them and removes the files written: the image they belong to
 * is dropped before its records were ever given out. */
void ex_files_discard(ex_files *files);
void ex_files_release(ex_files *files);

/* ---- explain_trace.c ---- */

/* CLOCK_MONOTONIC in seconds. */
double ex_now(void);
void ex_trace_init(ex_trace *t);
/* A forward of rows path points and image_rows images' own rows
 * (image_row), of images images, has ended (forwards: how many so far);
 * the first one starts the profile. */
void ex_trace_forward(ex_trace *t, int64_t forwards, int64_t rows,
                      int image_rows, int images, int64_t full_precision_rows);
/* An image's phases: read, baseline, walk (ending at end). */
void ex_trace_image(const ex_trace *t, const flight *fl, double end);
/* The files of image, written while the next forward ran from start to
 * ran. */
void ex_trace_files(const ex_trace *t, const char *image, double start,
                    double ran);
/* Stops the profile and says the stream's pace. */
void ex_trace_finish(ex_trace *t, int64_t forwards);

#endif
