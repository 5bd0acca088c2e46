/* rsicam — explaining images (see explain.h). */
#include "explain.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "input.h"
#include "params.h"
#include "results.h"
#include "rsicam/error.h"

/* The next image, read on a thread while the current one walks its path:
 * decoding costs milliseconds a GPU would otherwise wait for. */
typedef struct read_ahead {
    pthread_t thread;
    int started; /* a thread runs or has run and is not joined */
    char *next;  /* the path the caller said comes next */
    char *path;  /* the path being read */
    const rsi_model_info *info;
    rsi_image img;
    rsi_tensor *x; /* the normalised input on the host; NULL: failed */
    char error[1024];
    rsi_error_class error_class;
} read_ahead;

static void read_ahead_drop(read_ahead *a);

struct rsi_explainer {
    rsi_model *model;
    rsi_explain_options opt;
    rsi_param_value *baseline_values, *path_values;
    int n_kinds;
    rsi_score_kind kinds[2];
    /* Per image: one target per (class, score kind), class-major. */
    rsi_target targets[RSI_EXPLAIN_MAX_CLASSES * 2];
    int n_targets;
    int64_t forwards;
    char *results_file;
    read_ahead ahead;
};

typedef struct image_facts image_facts;

/* One image's walk along its path. */
typedef struct pass {
    /* the image, which rides along with the path's first batch so that
     * its logits choose the classes (then n_targets and the sums exist) */
    const rsi_tensor *x;
    int64_t label;
    image_facts *facts;
    int chosen;
    int n_layers, n_targets;
    rsi_rs_layer *layers; /* [n_layers] */
    rsi_rs_sum *sums;     /* [n_targets * n_layers] */
    double score_first[RSI_EXPLAIN_MAX_CLASSES * 2]; /* per target: at x_0 */
    double score_last[RSI_EXPLAIN_MAX_CLASSES * 2];  /* per target: at x_m */
    int64_t points;                                  /* run through the model */
    int64_t steps;                                   /* the path's steps m */
} pass;

static const char *const score_names[2] = {"softmax", "logit"};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* DIR/results.jsonl (new string). */
static char *results_in(const char *dir)
{
    char *s = NULL;
    return asprintf(&s, "%s/%s", dir, RSI_RESULTS_FILE) < 0 ? NULL : s;
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
    if (opt->steps < 1 || opt->batch < 1 ||
        (opt->tol > 0 && opt->max_steps < opt->steps)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: steps and batch must be >= 1 (got "
                            "steps %lld, batch %lld)",
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
    e->results_file = opt->results_file
                          ? strdup(opt->results_file)
                          : results_in(opt->out_dir ? opt->out_dir : ".");
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

void rsi_explainer_free(rsi_explainer *e)
{
    if (!e)
        return;
    read_ahead_drop(&e->ahead);
    free(e->ahead.next);
    rsi_params_free(e->baseline_values);
    rsi_params_free(e->path_values);
    free(e->results_file);
    free(e);
}

int64_t rsi_explainer_forwards(const rsi_explainer *e)
{
    return e->forwards;
}

static void *read_ahead_main(void *arg)
{
    read_ahead *a = arg;
    if (!(a->x = rsi_input_read(a->path, a->info, &a->img))) {
        snprintf(a->error, sizeof a->error, "%s", rsi_error_message());
        a->error_class = rsi_error_get_class();
        rsi_error_clear();
    }
    return NULL;
}

/* Waits for the thread and forgets what it read. */
static void read_ahead_drop(read_ahead *a)
{
    if (a->started)
        pthread_join(a->thread, NULL);
    rsi_tensor_free(a->x);
    rsi_image_release(&a->img);
    free(a->path);
    a->x = NULL;
    a->path = NULL;
    a->started = 0;
}

/* Starts reading the image named by rsi_explainer_prefetch(), if any. */
static void read_ahead_start(rsi_explainer *e)
{
    read_ahead *a = &e->ahead;
    read_ahead_drop(a);
    if (!a->next)
        return;
    a->path = a->next;
    a->next = NULL;
    a->info = rsi_model_get_info(e->model);
    a->error[0] = '\0';
    /* no thread: the image is simply read when its turn comes */
    a->started = pthread_create(&a->thread, NULL, read_ahead_main, a) == 0;
    if (!a->started) {
        free(a->path);
        a->path = NULL;
    }
}

/* The input of path if it was read ahead (1: *x set, or -1 with its error
 * pending), else 0. */
static int read_ahead_take(rsi_explainer *e, const char *path, rsi_image *img,
                           rsi_tensor **x)
{
    read_ahead *a = &e->ahead;
    if (!a->started || strcmp(a->path, path) != 0)
        return 0;
    pthread_join(a->thread, NULL);
    a->started = 0;
    int rc = 1;
    if (a->x) {
        *x = a->x;
        *img = a->img;
        a->x = NULL;
        a->img = (rsi_image){0};
    } else {
        rsi_error_class_set(a->error_class, "%s", a->error);
        rc = -1;
    }
    read_ahead_drop(a);
    return rc;
}

int rsi_explainer_prefetch(rsi_explainer *e, const char *next_path)
{
    free(e->ahead.next);
    e->ahead.next = next_path ? strdup(next_path) : NULL;
    if (next_path && !e->ahead.next) {
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

/* Empties the pass's sums (and the layers they follow). */
static void pass_reset_sums(pass *p, const rsi_explainer *e)
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
    p->n_targets = e->n_targets;
    p->layers = calloc((size_t)p->n_layers, sizeof *p->layers);
    p->sums = calloc((size_t)(p->n_layers * p->n_targets), sizeof *p->sums);
    if (!p->layers || !p->sums) {
        rsi_error("out of memory");
        return -1;
    }
    pass_reset_sums(p, e);
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

/* NaN or Inf in the model's output or gradients makes every map
 * meaningless: refuse rather than write one. */
static int check_finite(const rsi_forward_result *res, int n_layers,
                        int n_targets)
{
    int ok = rsi_tensor_all_finite(res->logits) == 1;
    for (int i = 0; ok && i < n_layers * n_targets; i++)
        ok = rsi_tensor_all_finite(res->grads[i]) == 1;
    for (int l = 0; ok && l < n_layers; l++)
        ok = rsi_tensor_all_finite(res->acts[l]) == 1;
    if (!ok)
        rsi_error_class_set(RSI_ERR_MODEL,
                            "the model produced NaN or Inf in its output, "
                            "activations or gradients");
    return ok ? 0 : -1;
}

/* Runs one batch of path points and feeds every sum, or, with a store,
 * keeps the points there. The scores at the path's ends are taken from the
 * first and last points unless the batch refines a path (mid points). */
typedef struct choosing {
    rsi_explainer *e;
    pass *p;
} choosing;

static int choose_targets(void *user, const rsi_tensor *logits,
                          rsi_target *targets, int max);

static int feed_batch(rsi_explainer *e, pass *p, const rsi_tensor *batch,
                      rsi_rs_store *store, int refining)
{
    const int nl = e->opt.n_layers, max_t = RSI_EXPLAIN_MAX_CLASSES * 2;
    rsi_tensor *acts[nl], *grads[nl * max_t], *scores[max_t];
    rsi_forward_result res = {
        .logits = NULL, .acts = acts, .grads = grads, .scores = scores};
    if (!p->chosen) {
        /* the image in front, unless the batch is the image (Grad-CAM) */
        const int lead = batch != p->x;
        const rsi_tensor *parts[2] = {p->x, batch};
        rsi_tensor *first = lead ? rsi_tensor_cat(parts, 2, 0) : NULL;
        choosing c = {e, p};
        int n = 0,
            rc = lead && !first
                     ? -1
                     : rsi_model_run_choosing(e->model, lead ? first : batch,
                                              lead, choose_targets, &c,
                                              e->targets, max_t, &n, &res);
        rsi_tensor_free(first);
        if (rc < 0)
            return -1;
        p->chosen = 1;
    } else if (rsi_model_run(e->model, batch, e->targets, p->n_targets, &res) <
               0) {
        return -1;
    }
    const int nt = p->n_targets;
    e->forwards++;
    int rc = check_finite(&res, nl, nt);
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
    const int64_t b = rsi_tensor_size(batch, 0);
    for (int t = 0; rc == 0 && !refining && t < nt; t++) {
        float s[b];
        rc = rsi_tensor_to_floats(scores[t], s, b);
        if (rc == 0 && p->points == 0)
            p->score_first[t] = s[0];
        p->score_last[t] = s[b - 1];
    }
    p->points += b;
    rsi_forward_result_release(&res, nl, nt);
    return rc;
}

/* The rows of a batch (its first row at index first on the path) that
 * want marks; NULL without an error when there are none. */
static rsi_tensor *wanted_rows(const rsi_tensor *batch, int64_t first,
                               const unsigned char *want)
{
    const int64_t b = rsi_tensor_size(batch, 0);
    rsi_tensor *rows[b];
    rsi_tensor *out = NULL;
    int64_t n = 0;
    int ok = 1;
    for (int64_t r = 0; ok && r < b; r++)
        if (want[first + r])
            ok = (rows[n++] = rsi_tensor_narrow(batch, 0, r, 1)) != NULL;
    if (ok && n > 0)
        out = rsi_tensor_cat((const rsi_tensor *const *)rows, (int)n, 0);
    for (int64_t i = 0; i < n; i++)
        rsi_tensor_free(rows[i]);
    return out;
}

/* Runs the points of the path at `steps` through the model: every point
 * into the pass's sums (store NULL) or into store, or only those that want
 * marks (steps + 1 flags; refining: the targets are known), into store.
 * Returns the points the path produced, or -1. */
static int64_t walk_points(rsi_explainer *e, pass *p, const rsi_context *ctx,
                           const rsi_tensor *baseline, const rsi_tensor *x,
                           int64_t steps, const unsigned char *want,
                           rsi_rs_store *store)
{
    const rsi_path_entry *path = e->opt.path->desc->entry;
    void *state = path->open(ctx, e->path_values, baseline, x, steps);
    if (!state) {
        if (!rsi_error_pending())
            rsi_error("path '%s' failed to open", e->opt.path->desc->name);
        rsi_error_prefix("path '%s': ", e->opt.path->desc->name);
        return -1;
    }
    int rc, fed_failed = 0;
    int64_t produced = 0;
    rsi_tensor *batch = NULL;
    while ((rc = path->next(state, e->opt.batch, &batch)) == 1) {
        const int64_t b = rsi_tensor_size(batch, 0);
        rsi_tensor *run = batch;
        if (want) /* past steps + 1 points none is wanted: the caller says */
            run = produced + b <= steps + 1 ? wanted_rows(batch, produced, want)
                                            : NULL;
        produced += b;
        rc = run ? feed_batch(e, p, run, store, want != NULL) : 0;
        if (run != batch)
            rsi_tensor_free(run);
        rsi_tensor_free(batch);
        batch = NULL;
        if ((fed_failed = rc < 0))
            break;
    }
    if (rc < 0 && !fed_failed) { /* next() failed: name the plugin */
        if (!rsi_error_pending())
            rsi_error_class_set(RSI_ERR_PLUGIN, "failed without saying why");
        rsi_error_prefix("path '%s': ", e->opt.path->desc->name);
    }
    path->close(state);
    return rc < 0 ? -1 : produced;
}

/* ||a - b|| / ||a|| (0 when both are zero). */
static int relative_change(const rsi_tensor *a, const rsi_tensor *b,
                           double *out)
{
    rsi_tensor *d = rsi_tensor_sub(a, b);
    rsi_tensor *dd = d ? rsi_tensor_mul(d, d) : NULL;
    rsi_tensor *aa = rsi_tensor_mul(a, a);
    double num = 0, den = 0;
    int rc = dd && aa && rsi_tensor_sum_all(dd, &num) == 0 &&
                     rsi_tensor_sum_all(aa, &den) == 0
                 ? 0
                 : -1;
    rsi_tensor_free(d);
    rsi_tensor_free(dd);
    rsi_tensor_free(aa);
    *out = num == 0 ? 0 : den == 0 ? INFINITY : sqrt(num / den);
    return rc;
}

/* Whether every map has converged (see rsi_explain_options.tol); cams
 * holds each RSI map's cam from the previous refinement (NULL at first)
 * and receives this one's. */
static int converged(const rsi_explainer *e, const pass *p, rsi_tensor **cams,
                     int *done)
{
    const int nl = p->n_layers;
    int ok = 1;
    for (int t = 0; t < p->n_targets; t++) {
        const double ds = p->score_last[t] - p->score_first[t];
        for (int l = 0; l < nl; l++) {
            const rsi_rs_layer *layer = &p->layers[l];
            const rsi_rs_sum *sum = &p->sums[t * nl + l];
            double ig = 0;
            if (rsi_tensor_sum_all(sum->ig, &ig) < 0)
                return -1;
            ok = ok && fabs(ig - ds) <= e->opt.tol * fabs(ds);
            for (int v = 0; v < RSI_VARIANT_COUNT; v++) {
                if (!(e->opt.variants & (1 << v)))
                    continue;
                rsi_tensor **prev = &cams[(t * nl + l) * RSI_VARIANT_COUNT + v];
                rsi_tensor *cam =
                    rsi_cam_rsi((rsi_variant)v,
                                v == RSI_VARIANT_RELU ? sum->ig_relu : sum->ig,
                                layer->last_act, layer->first_act);
                double change = INFINITY;
                if (!cam ||
                    (*prev && relative_change(cam, *prev, &change) < 0)) {
                    rsi_tensor_free(cam);
                    return -1;
                }
                ok = ok && change <= e->opt.tol;
                rsi_tensor_free(*prev);
                *prev = cam;
            }
        }
    }
    *done = ok;
    return 0;
}

/* Runs the path at steps (want: only the points it marks) into store
 * (empty: {0}) and checks that the path followed the steps, as refining
 * needs. */
static int walk_into(rsi_explainer *e, pass *p, const rsi_context *ctx,
                     const rsi_tensor *baseline, const rsi_tensor *x,
                     int64_t steps, const unsigned char *want,
                     rsi_rs_store *store)
{
    int64_t got = walk_points(e, p, ctx, baseline, x, steps, want, store);
    if (got < 0)
        return -1;
    if (got != steps + 1) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "path '%s' gave %lld points for %lld steps: "
                            "adaptive steps need a path whose points follow "
                            "the steps asked for",
                            e->opt.path->desc->name, (long long)got,
                            (long long)steps);
        return -1;
    }
    return 0;
}

/* The points kept by adaptive steps: where they lie on the path at the
 * finest resolution opened so far, and which intervals between them are
 * split next. */
typedef struct grid {
    int64_t resolution;   /* the path's steps: positions are 0..resolution */
    int64_t n;            /* points */
    int64_t *pos;         /* [n], increasing */
    unsigned char *split; /* [n - 1]: bisect this interval next */
} grid;

static void grid_free(grid *g)
{
    free(g->pos);
    free(g->split);
    *g = (grid){0};
}

/* Which intervals to split next, from the local errors of the last
 * splits (err[k] for the point at row rows[k], whose two halves it
 * judges): the fewest halves that carry 90% of the error; every interval
 * when none stands out. */
static void choose_splits(grid *g, const int64_t *rows, const double *err,
                          int64_t k)
{
    double total = 0, sorted[k > 0 ? k : 1];
    for (int64_t i = 0; i < k; i++)
        total += sorted[i] = err[i];
    /* descending insertion sort: k is at most the points */
    for (int64_t i = 1; i < k; i++)
        for (int64_t j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double threshold = 0, covered = 0;
    for (int64_t i = 0; i < k && covered < 0.9 * total; i++)
        covered += threshold = sorted[i];
    memset(g->split, 0, (size_t)(g->n - 1));
    int any = 0;
    for (int64_t i = 0; i < k; i++)
        if (err[i] > 0 && err[i] >= threshold) {
            g->split[rows[i] - 1] = g->split[rows[i]] = 1;
            any = 1;
        }
    if (!any)
        memset(g->split, 1, (size_t)(g->n - 1));
}

/* Splits the marked intervals: runs their midpoints on the path at twice
 * the resolution, merges them into all and chooses the next splits. */
static int refine(rsi_explainer *e, pass *p, const rsi_context *ctx,
                  const rsi_tensor *baseline, const rsi_tensor *x,
                  rsi_rs_store *all, grid *g)
{
    const int64_t res = 2 * g->resolution;
    int64_t k = 0;
    for (int64_t i = 0; i + 1 < g->n; i++)
        k += g->split[i];
    const int64_t n = g->n + k;
    unsigned char *want = calloc((size_t)res + 1, 1);
    unsigned char *from_mid = calloc((size_t)n, 1);
    int64_t *pos = calloc((size_t)n, sizeof *pos);
    int64_t *rows = calloc((size_t)(k > 0 ? k : 1), sizeof *rows);
    double *err = calloc((size_t)(k > 0 ? k : 1), sizeof *err);
    unsigned char *split = calloc((size_t)n, 1);
    rsi_rs_store mid = {0};
    int rc = want && from_mid && pos && rows && err && split ? 0 : -1;
    if (rc < 0)
        rsi_error("out of memory");
    for (int64_t i = 0, r = 0, m = 0; rc == 0 && i < g->n; i++) {
        pos[r++] = 2 * g->pos[i];
        if (i + 1 < g->n && g->split[i]) {
            const int64_t c = g->pos[i] + g->pos[i + 1]; /* (2a + 2b) / 2 */
            want[c] = 1;
            from_mid[r] = 1;
            rows[m++] = r;
            pos[r++] = c;
        }
    }
    if (rc == 0)
        rc = walk_into(e, p, ctx, baseline, x, res, want, &mid);
    if (rc == 0)
        rc = rsi_rs_store_merge(all, &mid, from_mid, n);
    if (rc == 0)
        rc = rsi_rs_store_split_errors(all, rows, k, err);
    if (rc == 0) {
        free(g->pos);
        free(g->split);
        *g = (grid){.resolution = res, .n = n, .pos = pos, .split = split};
        pos = NULL;
        split = NULL;
        choose_splits(g, rows, err, k);
    }
    rsi_rs_store_release(&mid);
    free(want);
    free(from_mid);
    free(pos);
    free(rows);
    free(err);
    free(split);
    return rc;
}

/* Adaptive steps: the path at m steps, then, until converged(), the
 * midpoints of the intervals that carry the error, on the path at 2m, 4m,
 * ... steps; only new points go through the model, and the sums are redone
 * over all of them (the trapezoid rule needs no even spacing). */
static int walk_adaptive(rsi_explainer *e, pass *p, const rsi_context *ctx,
                         const rsi_tensor *baseline, const rsi_tensor *x)
{
    rsi_rs_store all = {0};
    rsi_tensor **cams = NULL;
    size_t n_cams = 0;
    const int64_t m = e->opt.steps;
    grid g = {.resolution = m, .n = m + 1};
    g.pos = calloc((size_t)(m + 1), sizeof *g.pos);
    g.split = malloc((size_t)m);
    int rc = g.pos && g.split ? 0 : -1;
    for (int64_t i = 0; rc == 0 && i <= m; i++)
        g.pos[i] = i;
    if (rc == 0)
        memset(g.split, 1, (size_t)m);
    /* the first walk chooses the targets: the cams are counted after it */
    if (rc == 0)
        rc = walk_into(e, p, ctx, baseline, x, m, NULL, &all);
    if (rc == 0) {
        n_cams = (size_t)(p->n_layers * p->n_targets * RSI_VARIANT_COUNT);
        cams = calloc(n_cams, sizeof *cams);
        rc = cams ? 0 : -1;
    }
    if (rc < 0 && !rsi_error_pending())
        rsi_error("out of memory");
    for (int done = 0; rc == 0;) {
        pass_reset_sums(p, e);
        rc = rsi_rs_store_sums(&all, p->layers, p->sums);
        if (rc == 0)
            rc = converged(e, p, cams, &done);
        if (rc < 0 || done || 2 * g.resolution > e->opt.max_steps)
            break;
        rc = refine(e, p, ctx, baseline, x, &all, &g);
    }
    for (size_t i = 0; i < n_cams; i++)
        rsi_tensor_free(cams[i]);
    free(cams);
    rsi_rs_store_release(&all);
    p->steps = g.n - 1;
    grid_free(&g);
    return rc;
}

/* Walks the path plugin from baseline to image; Grad-CAM alone needs only
 * the image itself. */
static int walk(rsi_explainer *e, pass *p, const rsi_context *ctx,
                const rsi_tensor *baseline, const rsi_tensor *x)
{
    p->steps = e->opt.steps;
    if (!(e->opt.methods & RSI_METHOD_RSI))
        return feed_batch(e, p, x, NULL, 0);
    if (e->opt.tol > 0)
        return walk_adaptive(e, p, ctx, baseline, x);
    /* a path with its own points (sequence) sets the steps */
    int64_t got = walk_points(e, p, ctx, baseline, x, e->opt.steps, NULL, NULL);
    if (got < 0)
        return -1;
    p->steps = got - 1;
    if (p->points < 2) {
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "path '%s' produced %lld point(s); at least 2 "
                            "are needed",
                            e->opt.path->desc->name, (long long)p->points);
        return -1;
    }
    return 0;
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

typedef struct image_facts {
    const char *path;
    char stem[256];
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

/* The records of one map: one per rule that chose its class (explain
 * without rules: just one). The hook sees the first; the others copy it,
 * so that metrics are computed once per map, not once per rule. */
static int add_records(rsi_explainer *e, image_facts *f, rsi_map_record *rec,
                       const char *stem, int class_slot, const float *heat,
                       rsi_score_kind kind)
{
    const int n_rules = e->opt.n_rules;
    json_t *first = NULL;
    for (int r = 0; r < (n_rules ? n_rules : 1); r++) {
        if (n_rules && f->rule_class[r] != class_slot)
            continue;
        rec->target = n_rules ? e->opt.rules[r].tag : NULL;
        json_t *o;
        if (!first) {
            o = rsi_results_map_json(rec, e->opt.file_prefix, stem,
                                     e->opt.files);
            rsi_map_view view = {.image_path = f->path,
                                 .img = f->img,
                                 .x = f->x,
                                 .heatmap = heat,
                                 .class_index = rec->class_index,
                                 .score = kind};
            if (o && e->opt.hook &&
                e->opt.hook(e->opt.hook_user, e->model, &view, o) < 0) {
                json_decref(o);
                return -1;
            }
            first = o;
        } else if ((o = json_deep_copy(first)) != NULL) {
            json_object_set_new(o, "target", json_string(rec->target));
        }
        if (!o || json_array_append_new(f->records, o) < 0) {
            rsi_error("out of memory");
            return -1;
        }
    }
    return 0;
}

/* One map: its cam, heatmap, files and records. */
static int write_map(rsi_explainer *e, image_facts *f, rsi_map_record *rec,
                     const char *stem, rsi_tensor *cam, float *heat,
                     int class_slot, rsi_score_kind kind)
{
    const int64_t H = f->img->height, W = f->img->width;
    if (!cam || rsi_cam_heatmap(cam, H, W, heat) < 0 ||
        rsi_results_write_files(e->opt.out_dir, stem, e->opt.files, cam, heat,
                                f->img) < 0)
        return -1;
    if (json_array_append_new(f->written, json_string(stem)) < 0) {
        rsi_results_remove_files(e->opt.out_dir, stem);
        rsi_error("out of memory");
        return -1;
    }
    return add_records(e, f, rec, stem, class_slot, heat, kind);
}

static int write_maps(rsi_explainer *e, const pass *p, image_facts *f)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const int nl = p->n_layers;
    float *heat =
        malloc((size_t)f->img->height * (size_t)f->img->width * sizeof(float));
    if (!heat) {
        rsi_error("out of memory");
        return -1;
    }
    rsi_map_record rec = {
        .image = f->path,
        .model = e->opt.model_name,
        .baseline = e->opt.baseline->desc->name,
        .path = e->opt.path->desc->name,
        .steps = p->steps,
        .tol = e->opt.tol,
        .points = p->points,
        .seconds = f->seconds,
    };
    int rc = 0;
    for (int t = 0; rc == 0 && t < p->n_targets; t++) {
        const int c = t / e->n_kinds;
        rec.class_index = f->classes[c];
        rec.probability = f->probabilities[c];
        rec.label = rec.class_index < info->num_labels
                        ? info->labels[rec.class_index]
                        : NULL;
        /* the class joins the name when an image has several, or when
         * rules choose it (names then do not depend on the image) */
        char class_tag[32] = "";
        if (f->n_classes > 1 || e->opt.n_rules > 0)
            snprintf(class_tag, sizeof class_tag, ".c%lld",
                     (long long)rec.class_index);
        for (int l = 0; rc == 0 && l < nl; l++) {
            const rsi_rs_layer *layer = &p->layers[l];
            const rsi_rs_sum *sum = &p->sums[t * nl + l];
            rec.layer = e->opt.layers[l];
            rec.score = score_names[e->targets[t].kind];
            rec.score_image = p->score_last[t];
            rec.score_baseline = p->score_first[t];
            for (int m = 0; rc == 0 && m <= RSI_VARIANT_COUNT; m++) {
                /* m < RSI_VARIANT_COUNT: an RSI variant; the last: Grad-CAM */
                int is_rsi = m < RSI_VARIANT_COUNT;
                if (is_rsi ? !(e->opt.methods & RSI_METHOD_RSI) ||
                                 !(e->opt.variants & (1 << m))
                           : !(e->opt.methods & RSI_METHOD_GRADCAM))
                    continue;
                rsi_tensor *cam;
                if (is_rsi) {
                    const rsi_tensor *ig =
                        m == RSI_VARIANT_RELU ? sum->ig_relu : sum->ig;
                    cam = rsi_cam_rsi((rsi_variant)m, ig, layer->last_act,
                                      layer->first_act);
                    rec.has_ig = rsi_tensor_sum_all(sum->ig, &rec.ig_sum) == 0;
                    rec.method = "rsi";
                    rec.variant = rsi_variant_name((rsi_variant)m);
                } else {
                    cam = rsi_cam_gradcam(sum->last_grad, layer->last_act);
                    rec.has_ig = 0;
                    rec.method = "gradcam";
                    rec.variant = "";
                }
                char stem[512];
                snprintf(stem, sizeof stem, "%s.%s.%s%s%s.%s%s", f->stem,
                         rec.layer, rec.method, is_rsi ? "-" : "", rec.variant,
                         rec.score, class_tag);
                rc = write_map(e, f, &rec, stem, cam, heat, c,
                               e->targets[t].kind);
                rsi_tensor_free(cam);
            }
        }
    }
    free(heat);
    return rc;
}

/* Softmax probabilities (float64, shifted by the maximum for range) of
 * the logits v[k]; -1 when a logit is not finite. */
static int softmax(const float *v, int64_t k, double *p)
{
    double max = v[0], z = 0;
    for (int64_t i = 0; i < k; i++) {
        if (!isfinite(v[i])) {
            rsi_error_class_set(RSI_ERR_MODEL,
                                "the model produced NaN or Inf logits");
            return -1;
        }
        max = v[i] > max ? v[i] : max;
    }
    for (int64_t i = 0; i < k; i++)
        z += p[i] = exp((double)v[i] - max);
    for (int64_t i = 0; i < k; i++)
        p[i] /= z;
    return 0;
}

/* The n most probable of k classes (n <= k), in order, ties to the lower
 * index. */
static void top_classes(const double *p, int64_t k, int n, int64_t *out)
{
    for (int i = 0; i < n; i++) {
        int64_t best = -1;
        for (int64_t c = 0; c < k; c++) {
            int taken = 0;
            for (int j = 0; j < i; j++)
                taken |= out[j] == c;
            if (!taken && (best < 0 || p[c] > p[best]))
                best = c;
        }
        out[i] = best;
    }
}

/* The class ranked rank (1: the most probable) among k; -1 past k. */
static int64_t ranked(const double *p, int64_t k, int rank)
{
    if (rank < 1 || rank > k)
        return -1;
    int64_t top[RSI_EXPLAIN_MAX_CLASSES];
    top_classes(p, k, rank, top);
    return top[rank - 1];
}

/* The classes the rules choose for an image: each distinct class once in
 * f->classes, and per rule the slot of its class. */
static int apply_rules(const rsi_explainer *e, const double *p, int64_t k,
                       int64_t label, image_facts *f)
{
    for (int r = 0; r < e->opt.n_rules; r++) {
        const rsi_target_rule *rule = &e->opt.rules[r];
        int64_t c = rule->kind == RSI_TARGET_CLASS   ? rule->value
                    : rule->kind == RSI_TARGET_LABEL ? label
                    : rule->value >= 1 && rule->value <= RSI_EXPLAIN_MAX_CLASSES
                        ? ranked(p, k, (int)rule->value)
                        : -1;
        if (rule->kind == RSI_TARGET_LABEL && label < 0) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "target '%s': the image has no label",
                                rule->tag);
            return -1;
        }
        if (c < 0 || c >= k) {
            rsi_error_class_set(RSI_ERR_MODEL,
                                "target '%s': class %lld out of range: the "
                                "model has %lld classes",
                                rule->tag, (long long)c, (long long)k);
            return -1;
        }
        int slot = 0;
        while (slot < f->n_classes && f->classes[slot] != c)
            slot++;
        if (slot == f->n_classes)
            f->classes[f->n_classes++] = c;
        f->rule_class[r] = slot;
    }
    return 0;
}

/* The classes to explain for an image, from the logits at the image: as
 * the rules say, else the given classes, else the image's label when
 * asked, else the top k. */
static int choose_classes(rsi_explainer *e, const rsi_tensor *logits,
                          int64_t label, image_facts *f)
{
    const int64_t k = rsi_tensor_size(logits, 1);
    float *v = malloc((size_t)k * sizeof(float));
    double *p = malloc((size_t)k * sizeof(double));
    int rc = v && p ? rsi_tensor_to_floats(logits, v, k) : -1;
    if (rc == 0)
        rc = softmax(v, k, p);
    const rsi_explain_options *o = &e->opt;
    f->n_classes = 0;
    if (rc == 0 && o->n_rules > 0) {
        rc = apply_rules(e, p, k, label, f);
    } else if (rc == 0 && (o->n_classes > 0 || (o->use_label && label >= 0))) {
        int n = o->n_classes > 0 ? o->n_classes : 1;
        for (int i = 0; rc == 0 && i < n; i++) {
            int64_t c = o->n_classes > 0 ? o->classes[i] : label;
            if (c < 0 || c >= k) {
                rsi_error_class_set(RSI_ERR_MODEL,
                                    "class %lld out of range: the model has "
                                    "%lld classes",
                                    (long long)c, (long long)k);
                rc = -1;
            }
            f->classes[f->n_classes++] = c;
        }
    } else if (rc == 0) {
        int n = o->top_k > 0 ? o->top_k : 1;
        f->n_classes = n < k ? n : (int)k;
        top_classes(p, k, f->n_classes, f->classes);
    }
    for (int i = 0; rc == 0 && i < f->n_classes; i++)
        f->probabilities[i] = p[f->classes[i]];
    if (!v || !p)
        rsi_error("out of memory");
    free(v);
    free(p);
    return rc;
}

/* The targets from the logits at the image: its classes times the score
 * kinds; then the sums can be made. */
static int choose_targets(void *user, const rsi_tensor *logits,
                          rsi_target *targets, int max)
{
    choosing *c = user;
    rsi_explainer *e = c->e;
    const image_facts *f = c->p->facts;
    if (choose_classes(e, logits, c->p->label, c->p->facts) < 0)
        return -1;
    e->n_targets = 0;
    for (int i = 0; i < f->n_classes; i++)
        for (int k = 0; k < e->n_kinds && e->n_targets < max; k++)
            targets[e->n_targets++] =
                (rsi_target){.class_index = f->classes[i], .kind = e->kinds[k]};
    return pass_init(c->p, e) < 0 ? -1 : e->n_targets;
}

static int explain(rsi_explainer *e, image_facts *fp, int64_t label, pass *p,
                   rsi_image *img, rsi_tensor **x, rsi_tensor **baseline)
{
    const double start = now_seconds();
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const char *image_path = fp->path;
    image_facts f = *fp;
    f.img = img;
    rsi_tensor *host_x = NULL;
    int ahead = read_ahead_take(e, image_path, img, &host_x);
    if (ahead == 0)
        host_x = rsi_input_read(image_path, info, img);
    read_ahead_start(e); /* the next image, while this one walks */
    /* on the model's device from here on: baselines and paths follow it */
    *x = host_x ? rsi_model_place(e->model, host_x) : NULL;
    rsi_tensor_free(host_x);
    if (!*x)
        return -1;
    f.x = *x;
    const double t_read = now_seconds();
    rsi_context ctx = {.host = rsi_host(),
                       .model = e->model,
                       .info = info,
                       .image_path = image_path,
                       .cache_dir = e->opt.out_dir};
    if (e->opt.methods & RSI_METHOD_RSI) {
        const rsi_baseline_entry *b = e->opt.baseline->desc->entry;
        if (!(*baseline = b->make(&ctx, e->baseline_values, *x))) {
            if (!rsi_error_pending())
                rsi_error_class_set(RSI_ERR_PLUGIN, "failed");
            rsi_error_prefix("baseline '%s': ", e->opt.baseline->desc->name);
            return -1;
        }
    }
    /* the classes are chosen from the first batch of the walk */
    p->x = *x;
    p->label = label;
    p->facts = &f;
    const double t_baseline = now_seconds();
    if (walk(e, p, &ctx, *baseline, *x) < 0)
        return -1;
    f.seconds = now_seconds() - start;
    if (getenv("RSICAM_TRACE"))
        fprintf(stderr,
                "rsicam: trace: %s: read %.2f ms, baseline %.2f ms, walk "
                "%.2f ms\n",
                image_path, 1e3 * (t_read - start), 1e3 * (t_baseline - t_read),
                1e3 * (now_seconds() - t_baseline));
    return write_maps(e, p, &f);
}

/* Explains an image into records and written (the stems of its maps). On
 * failure the maps written are removed and records holds the failure. */
static int collect(rsi_explainer *e, const char *image_path, int64_t label,
                   const char *stem, json_t *records, json_t *written)
{
    image_facts f = {
        .path = image_path, .records = records, .written = written};
    if (stem)
        snprintf(f.stem, sizeof f.stem, "%s", stem);
    else
        image_stem(image_path, f.stem, sizeof f.stem);
    pass p = {0};
    rsi_image img = {0};
    rsi_tensor *x = NULL, *baseline = NULL;
    int rc = explain(e, &f, label, &p, &img, &x, &baseline);
    pass_release(&p);
    rsi_image_release(&img);
    rsi_tensor_free(x);
    rsi_tensor_free(baseline);
    if (rc < 0) {
        /* Every message names the input; image errors already do. */
        if (!strstr(rsi_error_message(), image_path))
            rsi_error_prefix("image '%s': ", image_path);
        size_t i;
        json_t *s;
        json_array_foreach(written, i, s)
            rsi_results_remove_files(e->opt.out_dir, json_string_value(s));
        json_array_clear(written);
        json_array_clear(records);
        json_array_append_new(
            records, rsi_results_failure_json(image_path, e->opt.model_name,
                                              rsi_error_message(),
                                              rsi_error_get_class()));
    }
    return rc;
}

int rsi_explain_image_records(rsi_explainer *e, const char *image_path,
                              int64_t label, const char *stem, json_t **records)
{
    json_t *r = json_array(), *written = json_array();
    *records = NULL;
    if (!r || !written) {
        json_decref(r);
        json_decref(written);
        rsi_error("out of memory");
        return -1;
    }
    int rc = collect(e, image_path, label, stem, r, written);
    json_decref(written);
    *records = r;
    return rc;
}

int rsi_explain_image(rsi_explainer *e, const char *image_path, int64_t label)
{
    json_t *records = json_array(), *written = json_array();
    if (!records || !written) {
        json_decref(records);
        json_decref(written);
        rsi_error("out of memory");
        return -1;
    }
    int rc = collect(e, image_path, label, NULL, records, written);
    /* all of the image's records in one write, after all of its files */
    if (rsi_results_append(e->results_file, records) < 0 && rc == 0) {
        size_t i;
        json_t *s;
        json_array_foreach(written, i, s)
            rsi_results_remove_files(e->opt.out_dir, json_string_value(s));
        rc = -1;
    }
    json_decref(records);
    json_decref(written);
    return rc;
}
