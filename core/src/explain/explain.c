/* rsicam — explaining images (see explain.h and explain_impl.h).
 *
 * Images wait in a queue. With fixed steps, the points of their paths form
 * one stream cut into forwards of opt.batch rows: an image's points fill a
 * forward, and when they do not (a GPU takes hundreds of rows at once),
 * the next images' points fill the rest. Each image keeps its own targets
 * and sums; the model computes every row's gradient for its own image's
 * targets (rsi_model_run_parts). Images still leave the queue in order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "explain_impl.h"
#include "fileio.h"
#include "host_services.h"
#include "input.h"
#include "params.h"
#include "results.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int walks_path(const rsi_explainer *e)
{
    return (e->opt.methods & RSI_METHOD_RSI) != 0;
}

static int adaptive(const rsi_explainer *e)
{
    return walks_path(e) && e->opt.tol > 0;
}

/* On 2 CPU cores 8 points per forward beat 16 and 32 (the CPU benchmark's
 * ideas). On an H200 (run 7), four images per forward came within 7% of
 * eight on ResNet50 and beat it by 9% on VGG19, with half the memory;
 * adaptive refinements add up to a power of two of points at a time. */
int64_t rsi_explain_auto_batch(int on_gpu, const rsi_explain_options *opt)
{
    if (!on_gpu)
        return 8;
    return opt->tol > 0 ? 64 : 4 * (opt->steps + 1);
}

rsi_explainer *rsi_explainer_new(rsi_model *model,
                                 const rsi_explain_options *opt)
{
    if (opt->n_layers < 1 || !opt->methods || !opt->score_kinds ||
        ((opt->methods & RSI_METHOD_RSI) && !opt->variants)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: nothing to compute (no layer, method, "
                            "variant or score kind)");
        return NULL;
    }
    if (opt->n_classes > RSI_EXPLAIN_MAX_CLASSES ||
        opt->top_k > RSI_EXPLAIN_MAX_CLASSES ||
        opt->n_rules > RSI_EXPLAIN_MAX_CLASSES) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: at most %d classes per image",
                            RSI_EXPLAIN_MAX_CLASSES);
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
    rsi_explainer *e = calloc(1, sizeof *e);
    if (!e) {
        rsi_error("out of memory");
        return NULL;
    }
    e->model = model;
    e->opt = *opt;
    if (!opt->batch)
        e->opt.batch = rsi_explain_auto_batch(rsi_model_on_gpu(model), opt);
    e->results_file = opt->results_file
                          ? strdup(opt->results_file)
                          : rsi_path_join(opt->out_dir ? opt->out_dir : ".",
                                          RSI_RESULTS_FILE);
    if (!e->results_file) {
        rsi_error("out of memory");
        free(e);
        return NULL;
    }
    for (int k = 0; k < 2; k++)
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

/* ---- one image's sums ---------------------------------------------- */

void ex_pass_reset_sums(pass *p, const rsi_explainer *e)
{
    int want_relu = (e->opt.methods & RSI_METHOD_RSI) &&
                    (e->opt.variants & (1 << RSI_VARIANT_RELU));
    for (int l = 0; l < p->n_layers; l++) {
        rsi_rs_layer_release(&p->layers[l]);
        rsi_rs_layer_init(&p->layers[l]);
    }
    for (int i = 0; i < p->n_layers * p->n_targets; i++) {
        rsi_rs_sum_release(&p->sums[i]);
        rsi_rs_sum_init(&p->sums[i], want_relu);
    }
}

/* Allocates the sums once the targets are known. */
static int pass_init(pass *p, const rsi_explainer *e)
{
    p->n_layers = e->opt.n_layers;
    p->layers = calloc((size_t)p->n_layers, sizeof *p->layers);
    p->sums = calloc((size_t)(p->n_layers * p->n_targets), sizeof *p->sums);
    if (!p->layers || !p->sums) {
        rsi_error("out of memory");
        return -1;
    }
    ex_pass_reset_sums(p, e);
    p->chosen = 1;
    return 0;
}

static void pass_release(pass *p)
{
    for (int l = 0; p->layers && l < p->n_layers; l++)
        rsi_rs_layer_release(&p->layers[l]);
    for (int i = 0; p->sums && i < p->n_layers * p->n_targets; i++)
        rsi_rs_sum_release(&p->sums[i]);
    free(p->layers);
    free(p->sums);
    *p = (pass){0};
}

/* ---- an image in flight -------------------------------------------- */

/* Ends the flight with the pending error, which it keeps for its record;
 * the error is cleared, so that the other images go on. */
static void flight_fail(flight *fl)
{
    if (!fl->failed)
        rsi_error_keep(&fl->error);
    rsi_error_clear();
    rsi_call_path_close(&fl->path);
    fl->failed = fl->finished = 1;
}

static void flight_free(flight *fl)
{
    if (!fl)
        return;
    rsi_call_path_close(&fl->path);
    ex_files_release(&fl->files); /* waits for its writer */
    pass_release(&fl->p);
    rsi_image_release(&fl->img);
    rsi_tensor_free(fl->x);
    rsi_tensor_free(fl->baseline);
    json_decref(fl->f.records);
    json_decref(fl->f.written);
    free(fl);
}

/* The stem of a file name: no directory, no extension. */
static void image_stem(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    snprintf(out, n, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* How many images' points a forward holds whole (0: one image's points
 * span forwards). */
static int64_t images_per_forward(const rsi_explainer *e)
{
    return e->opt.batch /
           (walks_path(e) && !adaptive(e) ? e->opt.steps + 1 : 1);
}

/* The images read ahead: as many as a forward holds whole, and one more. */
static int ahead_slots(const rsi_explainer *e)
{
    const int64_t n = images_per_forward(e) + 1;
    return n < RSI_EXPLAIN_READ_AHEAD ? (int)n : RSI_EXPLAIN_READ_AHEAD;
}

/* Starts reading the images queued after the started ones, as many as
 * there are slots (each on its thread), while the model runs. */
static void read_ahead(rsi_explainer *e)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const int slots = ahead_slots(e);
    const int64_t first = e->head + e->n_flights;
    for (int64_t j = first; j < e->n_queued && j < first + slots; j++) {
        if (e->queue[j].pixels.data)
            continue; /* held in memory: nothing to read */
        int reading = 0, idle = -1;
        for (int i = 0; i < slots; i++) {
            const rsi_read_ahead *a = &e->ahead[i];
            if (a->path && strcmp(a->path, e->queue[j].path) == 0)
                reading = 1;
            else if (!a->path && idle < 0)
                idle = i;
        }
        if (!reading && idle >= 0)
            rsi_read_ahead_start(&e->ahead[idle], e->queue[j].path, info);
    }
}

/* Reads, places and prepares the flight's image: its baseline and, for
 * the stream, its open path. */
static int flight_prepare(rsi_explainer *e, flight *fl)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const char *path = fl->f.path;
    rsi_tensor *host_x = NULL;
    int taken = 0;
    if (fl->img.data) /* queued in memory */
        taken = (host_x = rsi_input_from_image(&fl->img, info)) ? 1 : -1;
    for (int i = 0; !taken && i < ahead_slots(e); i++)
        taken = rsi_read_ahead_take(&e->ahead[i], path, &fl->img, &host_x);
    if (!taken)
        host_x = rsi_input_read(path, info, &fl->img);
    read_ahead(e);
    /* on the model's device from here on: baselines and paths follow it;
     * the key names the image to seeded random numbers, on any device */
    fl->x = host_x ? rsi_model_place(e->model, host_x) : NULL;
    const uint64_t key = fl->x ? rsi_image_key(host_x) : 0;
    rsi_tensor_free(host_x);
    if (!fl->x || rsi_error_pending())
        return -1;
    fl->t_read = now_seconds();
    fl->ctx = (rsi_context){.model = e->model,
                            .info = info,
                            .image_path = path,
                            .cache_dir = e->opt.out_dir,
                            .image_key = key};
    if (walks_path(e) &&
        !(fl->baseline = rsi_call_baseline(e->opt.baseline, e->baseline_values,
                                           &fl->ctx, fl->x)))
        return -1;
    fl->t_baseline = now_seconds();
    if (walks_path(e) && !adaptive(e) &&
        rsi_call_path_open(&fl->path, e->opt.path, e->path_values, &fl->ctx,
                           fl->baseline, fl->x, e->opt.steps) < 0)
        return -1;
    return 0;
}

/* Starts the next queued image that has not started: 1 when there is
 * none, -1 out of memory. An image that cannot start is a failed flight. */
static int flight_start_next(rsi_explainer *e)
{
    const int64_t j = e->head + e->n_flights;
    if (j >= e->n_queued)
        return 1;
    if (e->n_flights == e->cap_flights) {
        int cap = e->cap_flights ? 2 * e->cap_flights : 4;
        flight **grown = realloc(e->flights, (size_t)cap * sizeof *grown);
        if (!grown)
            goto oom;
        e->flights = grown;
        e->cap_flights = cap;
    }
    flight *fl = calloc(1, sizeof *fl);
    if (!fl)
        goto oom;
    queued *q = &e->queue[j];
    fl->f.path = q->path;
    fl->f.label = q->label;
    fl->img = q->pixels; /* the flight owns them from here */
    q->pixels = (rsi_image){0};
    if (q->stem)
        snprintf(fl->f.stem, sizeof fl->f.stem, "%s", q->stem);
    else
        image_stem(q->path, fl->f.stem, sizeof fl->f.stem);
    fl->f.records = json_array();
    fl->f.written = json_array();
    if (!fl->f.records || !fl->f.written) {
        flight_free(fl);
        goto oom;
    }
    fl->start = now_seconds();
    e->flights[e->n_flights++] = fl;
    if (flight_prepare(e, fl) < 0)
        flight_fail(fl);
    return 0;
oom:
    rsi_error("out of memory");
    return -1;
}

/* The flight's maps, records and files: all on a thread while the model
 * runs the next points, or, for a hook (which sees the caller's state of
 * the image), the maps here and the files on a thread. */
static void flight_make_maps(rsi_explainer *e, flight *fl)
{
    fl->maps_made = 1;
    fl->f.img = &fl->img;
    fl->f.x = fl->x;
    if (!e->opt.hook)
        ex_maps_start(e, &fl->p, &fl->f, &fl->files);
    else if (ex_make_maps(e, &fl->p, &fl->f, &fl->files) < 0)
        flight_fail(fl);
    else
        ex_files_start(&fl->files);
}

/* The flight's walk is over: every point it gave has been summed. */
static void flight_walked(rsi_explainer *e, flight *fl)
{
    pass *p = &fl->p;
    if (fl->finished)
        return;
    if (!walks_path(e)) {
        p->steps = e->opt.steps;
    } else if (!adaptive(e)) {
        /* a path with its own points (sequence) sets the steps */
        p->steps = p->points - 1;
        if (p->points < 2) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "path '%s' produced %lld point(s); at least "
                                "2 are needed",
                                e->opt.path->desc->name, (long long)p->points);
            flight_fail(fl);
            return;
        }
    }
    const double end = now_seconds();
    fl->f.seconds = end - fl->start;
    if (getenv("RSICAM_TRACE"))
        fprintf(stderr,
                "rsicam: trace: %s: read %.2f ms, baseline %.2f ms, walk "
                "%.2f ms\n",
                fl->f.path, 1e3 * (fl->t_read - fl->start),
                1e3 * (fl->t_baseline - fl->t_read),
                1e3 * (end - fl->t_baseline));
    fl->finished = 1;
    /* at once, so that images ending together write their files together;
     * a hook (metrics) sees an image only when the caller asks for it */
    if (!e->opt.hook)
        flight_make_maps(e, fl);
}

/* ---- running rows through the model --------------------------------- */

typedef struct choosing {
    rsi_explainer *e;
    flight *fl;
} choosing;

/* The targets from the logits at the image: its classes times the score
 * kinds; then the sums can be made. An image whose classes cannot be
 * chosen fails alone: its rows get stand-in targets and are not used. */
static int choose_targets(void *user, const rsi_tensor *logits,
                          rsi_target *targets, int max)
{
    choosing *c = user;
    rsi_explainer *e = c->e;
    flight *fl = c->fl;
    pass *p = &fl->p;
    if (ex_choose_classes(e, logits, &fl->f) < 0) {
        /* no class to stand in with: the model is wrong, not the image */
        if (rsi_tensor_size(logits, 1) < 1)
            return -1;
        flight_fail(fl);
        for (int k = 0; k < e->n_kinds; k++)
            targets[k] = (rsi_target){.class_index = 0, .kind = e->kinds[k]};
        return e->n_kinds;
    }
    p->n_targets = 0;
    for (int i = 0; i < fl->f.n_classes; i++)
        for (int k = 0; k < e->n_kinds && p->n_targets < max; k++)
            targets[p->n_targets++] = (rsi_target){
                .class_index = fl->f.classes[i], .kind = e->kinds[k]};
    return pass_init(p, e) < 0 ? -1 : p->n_targets;
}

/* NaN or Inf in the model's output or gradients makes every map
 * meaningless: refuse rather than write one. */
static int check_finite(const float *finite, int64_t rows)
{
    for (int64_t r = 0; r < rows; r++)
        if (finite[r] == 0) {
            rsi_error_class_set(RSI_ERR_MODEL,
                                "the model produced NaN or Inf in its "
                                "output, activations or gradients");
            return -1;
        }
    return 0;
}

/* Feeds rows [off, off + rows) of a run's result, the flight's points, to
 * its sums, or, with a store, keeps them there; the scores at the path's
 * ends come from its first and last points unless refining. */
static int feed_part(rsi_explainer *e, flight *fl,
                     const rsi_forward_result *res, int64_t off, int64_t rows,
                     const float *finite, float *const *scores,
                     rsi_rs_store *store, int refining)
{
    pass *p = &fl->p;
    const int nl = e->opt.n_layers, nt = p->n_targets;
    rsi_tensor *acts[nl], *grads[nl * nt];
    int made = 0, rc = check_finite(finite + off, rows);
    for (int l = 0; rc == 0 && l < nl; l++, made++)
        rc = (acts[l] = rsi_tensor_narrow(res->acts[l], 0, off, rows)) ? 0 : -1;
    for (int i = 0; rc == 0 && i < nl * nt; i++, made++)
        rc = (grads[i] = rsi_tensor_narrow(res->grads[i], 0, off, rows)) ? 0
                                                                         : -1;
    /* a store starts with its first batch: only then are the targets known */
    if (rc == 0 && store && !store->acts)
        rc = rsi_rs_store_init(store, nl, nt);
    if (rc == 0 && store)
        rc = rsi_rs_store_append(store, acts, grads);
    for (int l = 0; rc == 0 && !store && l < nl; l++) {
        rsi_rs_layer *layer = &p->layers[l];
        rc = rsi_rs_layer_begin_batch(layer, acts[l]);
        for (int t = 0; rc == 0 && t < nt; t++)
            rc = rsi_rs_sum_add(&p->sums[t * nl + l], layer, grads[t * nl + l]);
        if (rc == 0)
            rc = rsi_rs_layer_end_batch(layer, acts[l]);
    }
    for (int t = 0; rc == 0 && !refining && t < nt; t++) {
        if (p->points == 0)
            p->score_first[t] = scores[t][off];
        p->score_last[t] = scores[t][off + rows - 1];
    }
    p->points += rows;
    for (int i = 0; i < made; i++)
        rsi_tensor_free(i < nl ? acts[i] : grads[i - nl]);
    return rc;
}

/* The stream's pace and RSICAM_PROFILE's recording start once the first
 * forward has paid for start-up (cuDNN's tuning, the graph executor's
 * profiling runs). A profiler that cannot start leaves the run alone. */
static void profile_failed(const char *file)
{
    fprintf(stderr, "rsicam: RSICAM_PROFILE '%s': %s\n", file,
            rsi_error_message());
    rsi_error_clear();
}

static void first_forward_ended(rsi_explainer *e, double end)
{
    e->first_forward_end = end;
    const char *file = getenv("RSICAM_PROFILE");
    if (file && *file) {
        if (rsi_torch_profile_start() == 0)
            e->profile = file;
        else
            profile_failed(file);
    }
}

/* Runs x through the model in parts (one per flight, see
 * rsi_model_run_parts) and feeds each part to its flight. A flight that
 * fails fails alone; -1 when the run itself failed (every flight then
 * failed with its error). */
static int run_and_feed(rsi_explainer *e, const rsi_tensor *x,
                        rsi_run_part *parts, flight **owners, int n,
                        rsi_rs_store *store, int refining)
{
    const int nl = e->opt.n_layers, max_t = RSI_EXPLAIN_MAX_CLASSES * 2;
    rsi_tensor *acts[nl], *grads[nl * max_t], *scores[max_t];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    choosing how[n];
    for (int i = 0; i < n; i++) {
        how[i] = (choosing){e, owners[i]};
        parts[i].targets = owners[i]->p.targets;
        parts[i].user = &how[i];
        parts[i].choose = owners[i]->p.chosen ? NULL : choose_targets;
        if (owners[i]->p.chosen)
            parts[i].n_targets = owners[i]->p.n_targets;
    }
    const int slots = rsi_model_run_parts(e->model, x, parts, n, max_t, &res);
    if (slots < 0) { /* the run's error is each of its images' */
        rsi_kept_error why;
        rsi_error_keep(&why);
        for (int i = 0; i < n; i++) {
            owners[i]->error = why;
            owners[i]->failed = 1;
            flight_fail(owners[i]);
        }
        return -1;
    }
    e->forwards++;
    const int64_t rows = rsi_tensor_size(res.logits, 0);
    float *finite = malloc((size_t)rows * sizeof *finite);
    float *host =
        malloc((size_t)(rows * (slots > 0 ? slots : 1)) * sizeof *host);
    float *score_rows[max_t];
    /* one wait for the device, then copies of what is already there */
    int rc = finite && host ? rsi_tensor_to_floats(res.finite, finite, rows)
                            : (rsi_error("out of memory"), -1);
    const double end = now_seconds();
    /* after the first, the time since the last forward ended: this one's
     * share of the stream, one-time costs (a graph optimised anew) showing
     * alone */
    if (getenv("RSICAM_TRACE")) {
        fprintf(stderr,
                "rsicam: trace: forward: %lld points of %d image(s), %lld in "
                "float32",
                (long long)rows, n, (long long)res.full_precision_rows);
        if (e->forwards > 1)
            fprintf(stderr, ", %.1f ms after the last",
                    1e3 * (end - e->last_forward_end));
        fputc('\n', stderr);
    }
    if (e->forwards > 1)
        e->points_after_first += rows;
    else
        first_forward_ended(e, end);
    e->last_forward_end = end;
    for (int t = 0; rc == 0 && !refining && t < slots; t++)
        rc = rsi_tensor_to_floats(scores[t], score_rows[t] = host + t * rows,
                                  rows);
    for (int64_t i = 0, off = 0; i < n; off += parts[i].rows, i++) {
        flight *fl = owners[i];
        fl->forwards++;
        if (fl->failed)
            continue;
        if (rc < 0 || feed_part(e, fl, &res, off, parts[i].rows, finite,
                                score_rows, store, refining) < 0)
            flight_fail(fl);
    }
    free(finite);
    free(host);
    rsi_forward_result_release(&res, nl, slots);
    return 0;
}

int ex_feed_batch(rsi_explainer *e, flight *fl, const rsi_tensor *batch,
                  rsi_rs_store *store, int refining, int first, int last)
{
    /* the image in front until its logits have chosen the targets */
    const int lead = !fl->p.chosen;
    const rsi_tensor *both[2] = {fl->x, batch};
    rsi_tensor *joined = lead ? rsi_tensor_cat(both, 2, 0) : NULL;
    if (lead && !joined)
        return -1;
    rsi_run_part part = {.rows = rsi_tensor_size(batch, 0),
                         .lead = lead,
                         .full_precision_first = first,
                         .full_precision_last = last};
    run_and_feed(e, lead ? joined : batch, &part, &fl, 1, store, refining);
    rsi_tensor_free(joined);
    return fl->failed ? -1 : 0; /* the flight keeps its error */
}

/* ---- the stream of points ------------------------------------------- */

/* Up to max of the flight's next points (1 with *out, 0 at the end, -1
 * with an error pending). Grad-CAM alone needs only the image itself. */
static int next_points(rsi_explainer *e, flight *fl, int64_t max,
                       rsi_tensor **out)
{
    if (!walks_path(e)) {
        *out = rsi_tensor_narrow(fl->x, 0, 0, 1);
        fl->exhausted = 1;
        return *out ? 1 : -1;
    }
    rsi_path_call *c = &fl->path;
    const int rc = rsi_call_path_next(c, max, out);
    /* known at once, so that the image need not wait for the next forward
     * to learn that it has ended */
    if (rc == 0 || (rc == 1 && c->given >= c->total)) {
        fl->exhausted = 1;
        rsi_call_path_close(c);
    }
    return rc;
}

/* One forward of up to opt.batch points: the oldest flights' next points
 * in order, starting queued images while there is room. Flights whose
 * points have all been summed then end their walk. */
static int stream_batch(rsi_explainer *e)
{
    const int64_t cap = e->opt.batch;
    /* each part and each piece has at least one row */
    rsi_tensor **pieces = calloc((size_t)(2 * cap), sizeof *pieces);
    rsi_run_part *parts = calloc((size_t)cap, sizeof *parts);
    flight **owners = calloc((size_t)cap, sizeof *owners);
    if (!pieces || !parts || !owners) {
        free(pieces);
        free(parts);
        free(owners);
        rsi_error("out of memory");
        return -1;
    }
    int n_pieces = cap, n_parts = 0, n_leads = 0, rc = 0;
    int64_t budget = cap;
    for (int i = 0; budget > 0; i++) {
        if (i == e->n_flights && (rc = flight_start_next(e)) != 0) {
            rc = rc < 0 ? -1 : 0; /* 1: nothing more to start */
            break;
        }
        flight *fl = e->flights[i];
        int64_t got = 0;
        const int first_piece = n_pieces;
        const int starts = fl->path.given == 0;
        while (budget > 0 && !fl->exhausted && !fl->finished) {
            rsi_tensor *t = NULL;
            int r = next_points(e, fl, budget, &t);
            if (r < 0)
                flight_fail(fl);
            if (r != 1)
                break;
            const int64_t b = rsi_tensor_size(t, 0);
            pieces[n_pieces++] = t;
            got += b;
            budget -= b;
        }
        if (fl->failed) { /* its points go nowhere */
            while (n_pieces > first_piece)
                rsi_tensor_free(pieces[--n_pieces]);
            budget += got;
        } else if (got > 0) {
            const int lead = walks_path(e) && !fl->p.chosen;
            if (lead) /* leads go first, pieces after cap */
                pieces[n_leads++] = fl->x;
            /* the path's ends, baseline and image, in full precision */
            parts[n_parts] =
                (rsi_run_part){.rows = got,
                               .lead = lead,
                               .full_precision_first = starts,
                               .full_precision_last = fl->exhausted};
            owners[n_parts++] = fl;
        }
    }
    if (rc == 0 && n_parts > 0) {
        /* the leads (borrowed) then the pieces, into one input */
        const rsi_tensor *in[n_leads + n_pieces - cap];
        int k = 0;
        for (int i = 0; i < n_leads; i++)
            in[k++] = pieces[i];
        for (int i = (int)cap; i < n_pieces; i++)
            in[k++] = pieces[i];
        rsi_tensor *x = k == 1 ? NULL : rsi_tensor_cat(in, k, 0);
        if (k > 1 && !x) {
            for (int i = 0; i < n_parts; i++)
                flight_fail(owners[i]);
        } else {
            run_and_feed(e, x ? x : in[0], parts, owners, n_parts, NULL, 0);
        }
        rsi_tensor_free(x);
    }
    for (int i = (int)cap; i < n_pieces; i++)
        rsi_tensor_free(pieces[i]);
    for (int i = 0; i < e->n_flights; i++)
        if (e->flights[i]->exhausted)
            flight_walked(e, e->flights[i]);
    free(pieces);
    free(parts);
    free(owners);
    return rc;
}

/* ---- the queue ------------------------------------------------------- */

/* Appends an image; on success the queue owns pixels (zeroed here). */
static int queue_entry(rsi_explainer *e, const char *image_path, int64_t label,
                       const char *stem, rsi_image *pixels)
{
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
    queued q = {.path = strdup(image_path),
                .stem = stem ? strdup(stem) : NULL,
                .label = label};
    if (!q.path || (stem && !q.stem)) {
        free(q.path);
        free(q.stem);
        rsi_error("out of memory");
        return -1;
    }
    if (pixels) {
        q.pixels = *pixels;
        *pixels = (rsi_image){0};
    }
    e->queue[e->n_queued++] = q;
    return 0;
}

int rsi_explainer_queue(rsi_explainer *e, const char *image_path, int64_t label,
                        const char *stem)
{
    return queue_entry(e, image_path, label, stem, NULL);
}

int rsi_explainer_queue_image(rsi_explainer *e, rsi_image *img,
                              const char *name, int64_t label, const char *stem)
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
    return queue_entry(e, name, label, stem, img);
}

/* Whether to run the next forward while the oldest image's files are
 * written: when some image still has points to run, and at most one
 * forward's worth of images wait with their maps (which bounds the images
 * in flight to about two forwards' worth). */
static int run_ahead(const rsi_explainer *e)
{
    if (adaptive(e))
        return 0;
    int waiting = 0, running = 0;
    for (int i = 0; i < e->n_flights; i++) {
        waiting += e->flights[i]->finished;
        running += !e->flights[i]->finished;
    }
    const int64_t per_forward = images_per_forward(e);
    return waiting <= (per_forward > 1 ? per_forward : 1) &&
           (running > 0 || e->head + e->n_flights < e->n_queued);
}

/* Runs the oldest queued image to its end: its walk, maps and files. */
static void finish_oldest(rsi_explainer *e)
{
    if (e->n_flights == 0 && flight_start_next(e) < 0)
        return; /* out of memory: the caller reports it */
    flight *fl = e->flights[0];
    if (adaptive(e) && !fl->finished) {
        if (ex_walk_adaptive(e, fl) < 0)
            flight_fail(fl);
        flight_walked(e, fl);
    }
    while (!fl->finished)
        if (stream_batch(e) < 0)
            flight_fail(fl);
    if (!fl->failed && !fl->maps_made)
        flight_make_maps(e, fl);
    if (fl->failed)
        return;
    const double start = now_seconds();
    /* a failure here is the next images' (or recurs for them) */
    if (run_ahead(e) && stream_batch(e) < 0)
        rsi_error_clear();
    const double ran = now_seconds();
    if (ex_files_finish(&fl->files, fl->f.written) < 0)
        flight_fail(fl);
    if (getenv("RSICAM_TRACE"))
        fprintf(stderr,
                "rsicam: trace: %s: next forward %.2f ms, then files %.2f ms "
                "more\n",
                fl->f.path, 1e3 * (ran - start), 1e3 * (now_seconds() - ran));
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
    flight_free(fl);
    memmove(e->flights, e->flights + 1,
            (size_t)(--e->n_flights) * sizeof *e->flights);
    free(e->queue[e->head].path);
    free(e->queue[e->head].stem);
    rsi_image_release(&e->queue[e->head].pixels);
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

void rsi_explainer_free(rsi_explainer *e)
{
    if (!e)
        return;
    if (e->profile && rsi_torch_profile_stop(e->profile) < 0)
        profile_failed(e->profile);
    /* the pace once started: process start, model load, device start-up
     * and the first forward's tuning left out */
    if (getenv("RSICAM_TRACE") && e->points_after_first > 0)
        fprintf(stderr,
                "rsicam: trace: stream: %lld points in %lld forwards after "
                "the first, %.3f s: %.4f ms per point\n",
                (long long)e->points_after_first, (long long)e->forwards - 1,
                e->last_forward_end - e->first_forward_end,
                1e3 * (e->last_forward_end - e->first_forward_end) /
                    (double)e->points_after_first);
    for (int i = 0; i < RSI_EXPLAIN_READ_AHEAD; i++)
        rsi_read_ahead_drop(&e->ahead[i]);
    for (int i = 0; i < e->n_flights; i++)
        flight_free(e->flights[i]);
    free(e->flights);
    for (int64_t i = e->head; i < e->n_queued; i++) {
        free(e->queue[i].path);
        free(e->queue[i].stem);
        rsi_image_release(&e->queue[i].pixels);
    }
    free(e->queue);
    rsi_params_free(e->baseline_values);
    rsi_params_free(e->path_values);
    free(e->results_file);
    free(e);
}
