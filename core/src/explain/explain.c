/* rsicam — explaining images (see explain.h and explain_impl.h): the
 * explainer's options, its queue of images, and each image's way out in
 * order, walked by the stream (explain_stream.c) or, with adaptive steps,
 * by explain_adaptive.c, then its maps, records and files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain_impl.h"
#include "fileio.h"
#include "params.h"
#include "path.h"
#include "results.h"

/* On a CPU, 8 points per forward until the first image has measured the
 * machine's best (batch_calibrate.c); 8 beat 16 and 32 on 2 cores of an
 * Intel CPU with AVX-512 (the CPU benchmark's ideas). On an H200 (run 7), four
 * images per forward came within 7% of eight on ResNet50 and beat it by 9% on
 * VGG19, with half the memory: four images' m + 1 rows each, which are now m
 * points and the image's own row (besides the points; it stands for the last
 * point of a path that ends at the image, as the linear path does). Adaptive
 * refinements add up to a power of two of points at a time. */
int64_t rsi_explain_auto_batch(int on_gpu, const rsi_explain_options *opt)
{
    if (!on_gpu)
        return 8;
    return opt->tol > 0 ? 64 : 4 * opt->steps;
}

/* Classes to explain an image for: at most RSI_EXPLAIN_MAX_CLASSES, each
 * >= 0 and once (a class twice would write its maps twice, over the same
 * files). */
static int check_classes(const int64_t *classes, int n)
{
    if (n < 0 || n > RSI_EXPLAIN_MAX_CLASSES || (n > 0 && !classes)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "at most %d classes per image (%d asked)",
                            RSI_EXPLAIN_MAX_CLASSES, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int twice = 0;
        for (int j = 0; j < i; j++)
            twice |= classes[j] == classes[i];
        if (classes[i] < 0 || twice) {
            rsi_error_class_set(RSI_ERR_USAGE, "class %lld: %s",
                                (long long)classes[i],
                                twice ? "asked twice" : "classes are >= 0");
            return -1;
        }
    }
    return 0;
}

rsi_explainer *rsi_explainer_new(rsi_model *model,
                                 const rsi_explain_options *opt)
{
    if (opt->n_layers < 1 || !opt->methods || !opt->score_kinds ||
        !rsi_map_kinds_cover(opt->methods, opt->variants)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: nothing to compute (no layer, method, "
                            "variant or score kind)");
        return NULL;
    }
    if (opt->top_k > RSI_EXPLAIN_MAX_CLASSES ||
        opt->n_rules > RSI_EXPLAIN_MAX_CLASSES) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: at most %d classes per image",
                            RSI_EXPLAIN_MAX_CLASSES);
        return NULL;
    }
    if (check_classes(opt->classes, opt->n_classes) < 0) {
        rsi_error_prefix("explain");
        return NULL;
    }
    if (opt->steps < 1 || opt->batch < 0 ||
        (opt->tol > 0 && opt->max_steps < opt->steps)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: steps must be >= 1 and batch >= 0, "
                            "0 for auto (got steps %lld, batch %lld)",
                            (long long)opt->steps, (long long)opt->batch);
        return NULL;
    }
    /* `--batch auto` on a CPU measures; a bad setting for it fails here,
     * before any work */
    const int calibrate = !opt->batch && !rsi_model_on_gpu(model);
    const double max_wait = calibrate ? ex_calibration_max_wait() : 0;
    if (max_wait < 0)
        return NULL;
    rsi_explainer *e = calloc(1, sizeof *e);
    if (!e) {
        rsi_error("out of memory");
        return NULL;
    }
    e->model = model;
    e->opt = *opt;
    /* the head as a forward's rows, whatever an explainer before this one
     * set (ex_settle_forward_rows) */
    if (rsi_model_set_head_rows(model, 0) < 0)
        rsi_error_clear();
    ex_trace_init(&e->trace);
    if (!opt->batch) {
        e->opt.batch = rsi_explain_auto_batch(rsi_model_on_gpu(model), opt);
        e->calibrate_batch = calibrate;
        e->calibration_max_wait = max_wait;
    }
    e->results_file = opt->results_file
                          ? strdup(opt->results_file)
                          : rsi_path_join(opt->out_dir ? opt->out_dir : ".",
                                          RSI_RESULTS_FILE);
    if (!e->results_file) {
        rsi_error("out of memory");
        free(e);
        return NULL;
    }
    for (int k = 0; k < RSI_SCORE_KINDS; k++)
        if (opt->score_kinds & (1 << k))
            e->kinds[e->n_kinds++] = (rsi_score_kind)k;
    if (rsi_plugin_parse_params(opt->baseline, opt->baseline_params,
                                &e->baseline_values) < 0 ||
        rsi_plugin_parse_params(opt->path, opt->path_params, &e->path_values) <
            0 ||
        rsi_model_select_layers(model, opt->layers, opt->n_layers) < 0) {
        rsi_explainer_free(e);
        return NULL;
    }
    return e;
}

int64_t rsi_explainer_forwards(const rsi_explainer *e)
{
    return e->forwards;
}

int64_t rsi_explainer_image_forwards(const rsi_explainer *e)
{
    return e->last_image_forwards;
}

/* ---- the queue ------------------------------------------------------- */

/* The request's classes, checked as far as they can be before a forward. */
static int check_request(const rsi_explainer *e, const char *image_path,
                         const rsi_image_request *req)
{
    if (req->n_classes > 0 && e->opt.n_rules > 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "image '%s': classes of its own, but the "
                            "explainer's targets choose them",
                            image_path);
        return -1;
    }
    if (check_classes(req->classes, req->n_classes) < 0) {
        rsi_error_prefix("image '%s'", image_path);
        return -1;
    }
    return 0;
}

static void queued_release(queued *q)
{
    free(q->path);
    free(q->stem);
    free(q->classes);
    rsi_image_release(&q->pixels);
}

/* Appends an image; on success the queue owns pixels (zeroed here). */
static int queue_entry(rsi_explainer *e, const char *image_path,
                       const rsi_image_request *req, rsi_image *pixels)
{
    static const rsi_image_request plain = {.label = -1};
    req = req ? req : &plain;
    if (check_request(e, image_path, req) < 0)
        return -1;
    if (e->n_queued == e->cap_queued) {
        int64_t cap = e->cap_queued ? 2 * e->cap_queued : 16;
        queued *grown = realloc(e->queue, (size_t)cap * sizeof *grown);
        if (!grown) {
            rsi_error("out of memory");
            return -1;
        }
        e->queue = grown;
        e->cap_queued = cap;
    }
    const size_t class_bytes = (size_t)req->n_classes * sizeof *req->classes;
    queued q = {.path = strdup(image_path),
                .stem = req->stem ? strdup(req->stem) : NULL,
                .label = req->label,
                .classes = class_bytes ? malloc(class_bytes) : NULL,
                .n_classes = req->n_classes};
    if (!q.path || (req->stem && !q.stem) || (class_bytes && !q.classes)) {
        queued_release(&q);
        rsi_error("out of memory");
        return -1;
    }
    if (class_bytes)
        memcpy(q.classes, req->classes, class_bytes);
    if (pixels) {
        q.pixels = *pixels;
        *pixels = (rsi_image){0};
    }
    e->queue[e->n_queued++] = q;
    return 0;
}

int rsi_explainer_queue(rsi_explainer *e, const char *image_path,
                        const rsi_image_request *req)
{
    return queue_entry(e, image_path, req, NULL);
}

int rsi_explainer_queue_image(rsi_explainer *e, rsi_image *img,
                              const char *name, const rsi_image_request *req)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    if (!img->data || img->width != info->input_w ||
        img->height != info->input_h) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "image '%s': %dx%d in memory, but the model takes "
                            "%lldx%lld",
                            name, img->height, img->width,
                            (long long)info->input_h, (long long)info->input_w);
        return -1;
    }
    return queue_entry(e, name, req, img);
}

/* Whether to run the next forward while the oldest image's files are
 * written: when some image still has points to run, and at most one
 * forward's worth of images wait with their maps (which bounds the images
 * in flight to about two forwards' worth). */
static int run_ahead(const rsi_explainer *e)
{
    if (ex_adaptive(e))
        return 0;
    int waiting = 0, running = 0;
    for (int i = 0; i < e->n_flights; i++) {
        waiting += e->flights[i]->finished;
        running += !e->flights[i]->finished;
    }
    const int64_t per_forward = ex_images_per_forward(e);
    return waiting <= (per_forward > 1 ? per_forward : 1) &&
           (running > 0 || e->head + e->n_flights < e->n_queued);
}

/* Runs the oldest queued image to its end: its walk, maps and files. */
static void finish_oldest(rsi_explainer *e)
{
    if (e->n_flights == 0 && ex_flight_start_next(e) < 0)
        return; /* out of memory: the caller reports it */
    flight *fl = e->flights[0];
    if (e->calibrate_batch && !fl->failed) {
        e->opt.batch = ex_calibrated_batch(e, fl);
        e->calibrate_batch = 0;
        ex_settle_forward_rows(e);
    }
    if (ex_adaptive(e) && !fl->finished) {
        if (ex_walk_adaptive(e, fl) < 0)
            ex_flight_fail(fl);
        ex_flight_walked(e, fl);
    }
    while (!fl->finished)
        if (ex_stream_batch(e) < 0)
            ex_flight_fail(fl);
    if (!fl->failed && !fl->maps_made)
        ex_flight_make_maps(e, fl);
    if (fl->failed)
        return;
    const double start = ex_now();
    /* a failure here is the next images' (or recurs for them) */
    if (run_ahead(e) && ex_stream_batch(e) < 0)
        rsi_error_clear();
    const double ran = ex_now();
    if (ex_files_finish(&fl->files, fl->f.written) < 0)
        ex_flight_fail(fl);
    ex_trace_files(&e->trace, fl->f.path, start, ran);
}

/* Removes the files of the maps written (stems). */
static void remove_maps(const rsi_explainer *e, const json_t *written)
{
    size_t i;
    json_t *stem;
    json_array_foreach(written, i, stem)
        rsi_results_remove_files(e->opt.out_dir, json_string_value(stem));
}

/* The oldest image's records and the stems of its maps (both new); on
 * failure -1 with the error pending, its one failure record and no map
 * of it left on disk. */
static int next_records(rsi_explainer *e, json_t **records, json_t **written)
{
    *records = *written = NULL;
    if (e->head >= e->n_queued) {
        rsi_error_class_set(RSI_ERR_USAGE, "explain: no image queued");
        return -1;
    }
    finish_oldest(e);
    if (e->n_flights == 0)
        return -1; /* out of memory before it could start */
    flight *fl = e->flights[0];
    const char *image_path = fl->f.path;
    int rc = 0;
    if (fl->failed) {
        rsi_error_raise(&fl->error);
        /* Every message names the input; image errors already do. */
        if (!strstr(rsi_error_message(), image_path))
            rsi_error_prefix("image '%s': ", image_path);
        remove_maps(e, fl->f.written);
        json_array_clear(fl->f.written);
        json_array_clear(fl->f.records);
        json_array_append_new(fl->f.records,
                              rsi_results_failure_json(
                                  image_path, e->opt.model_name,
                                  rsi_error_message(), rsi_error_get_class()));
        rc = -1;
    }
    e->last_image_forwards = fl->forwards;
    *records = json_incref(fl->f.records);
    *written = json_incref(fl->f.written);
    ex_flight_free(fl);
    memmove(e->flights, e->flights + 1,
            (size_t)(--e->n_flights) * sizeof *e->flights);
    queued_release(&e->queue[e->head]);
    if (++e->head == e->n_queued)
        e->head = e->n_queued = 0;
    return rc;
}

int rsi_explain_next_records(rsi_explainer *e, json_t **records)
{
    json_t *written = NULL;
    int rc = next_records(e, records, &written);
    json_decref(written);
    return rc;
}

int rsi_explain_next(rsi_explainer *e)
{
    json_t *records = NULL, *written = NULL;
    int rc = next_records(e, &records, &written);
    /* all of the image's records in one write, after all of its files */
    if (records && rsi_results_append(e->results_file, records) < 0 &&
        rc == 0) {
        remove_maps(e, written);
        rc = -1;
    }
    json_decref(records);
    json_decref(written);
    return rc;
}

void rsi_explainer_drop_queued(rsi_explainer *e)
{
    for (int i = 0; i < RSI_EXPLAIN_READ_AHEAD; i++)
        rsi_read_ahead_drop(&e->ahead[i]);
    for (int i = 0; i < e->n_flights; i++) {
        /* maps written ahead for an image nobody will be told of */
        ex_files_discard(&e->flights[i]->files);
        ex_flight_free(e->flights[i]);
    }
    e->n_flights = 0;
    for (int64_t i = e->head; i < e->n_queued; i++)
        queued_release(&e->queue[i]);
    e->head = e->n_queued = 0;
}

void rsi_explainer_free(rsi_explainer *e)
{
    if (!e)
        return;
    ex_trace_finish(&e->trace, e->forwards);
    rsi_explainer_drop_queued(e);
    free(e->flights);
    free(e->queue);
    rsi_params_free(e->baseline_values);
    rsi_params_free(e->path_values);
    free(e->results_file);
    free(e);
}
