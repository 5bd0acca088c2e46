/* rsicam — running path points through the model and into each image's
 * sums (explain_impl.h): the targets chosen from the logits at the
 * image, the rows of one forward split among the images they belong to,
 * and every part checked and fed to its image's Riemann-Stieltjes sums.
 * The stream and the adaptive walk both feed through here; nothing here
 * calls back up to them.
 */
#include <stdlib.h>

#include "explain_impl.h"

void ex_pass_reset_sums(pass *p, const rsi_explainer *e)
{
    int want_relu = rsi_map_kinds_use_relu_sum(e->opt.methods, e->opt.variants);
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

void ex_pass_release(pass *p)
{
    for (int l = 0; p->layers && l < p->n_layers; l++)
        rsi_rs_layer_release(&p->layers[l]);
    for (int i = 0; p->sums && i < p->n_layers * p->n_targets; i++)
        rsi_rs_sum_release(&p->sums[i]);
    free(p->layers);
    free(p->sums);
    *p = (pass){0};
}

/* ---- an image's failure ------------------------------------------- */

/* Ends the flight with the pending error, which it keeps for its record;
 * the error is cleared, so that the other images go on. */
void ex_flight_fail(flight *fl)
{
    if (!fl->failed)
        rsi_error_keep(&fl->error);
    rsi_error_clear();
    rsi_call_path_close(&fl->path);
    fl->failed = fl->finished = 1;
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
        ex_flight_fail(fl);
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

/* Views of rows [off, off + rows) of a run's result: the layers'
 * activations [nl], then their gradients per target [nt * nl]; NULL with
 * an error pending. */
static rsi_tensor **row_views(const rsi_forward_result *res, int nl, int nt,
                              int64_t off, int64_t rows)
{
    rsi_tensor **views = calloc((size_t)(nl + nl * nt), sizeof *views);
    if (!views) {
        rsi_error("out of memory");
        return NULL;
    }
    for (int i = 0; i < nl + nl * nt; i++) {
        const rsi_tensor *all = i < nl ? res->acts[i] : res->grads[i - nl];
        if (!(views[i] = rsi_tensor_narrow(all, 0, off, rows))) {
            for (int j = 0; j < i; j++)
                rsi_tensor_free(views[j]);
            free(views);
            return NULL;
        }
    }
    return views;
}

static void views_free(rsi_tensor **views, int n)
{
    for (int i = 0; views && i < n; i++)
        rsi_tensor_free(views[i]);
    free(views);
}

void ex_image_row_release(image_row *r)
{
    views_free(r->views, r->n_views);
    *r = (image_row){0};
}

/* Feeds consecutive points to the pass's sums: acts[l] and grads[t * nl +
 * l] hold one row per point. */
static int sum_points(pass *p, rsi_tensor *const *acts,
                      rsi_tensor *const *grads)
{
    const int nl = p->n_layers;
    int rc = 0;
    for (int l = 0; rc == 0 && l < nl; l++) {
        rsi_rs_layer *layer = &p->layers[l];
        rc = rsi_rs_layer_begin_batch(layer, acts[l]);
        for (int t = 0; rc == 0 && t < p->n_targets; t++)
            rc = rsi_rs_sum_add(&p->sums[t * nl + l], layer, grads[t * nl + l]);
        if (rc == 0)
            rc = rsi_rs_layer_end_batch(layer, acts[l]);
    }
    return rc;
}

/* Keeps row off of a run's result, the image's, as copies: the views
 * would hold the whole forward's tensors until the path ends. */
static int keep_image_row(pass *p, image_row *r, const rsi_forward_result *res,
                          int64_t off, float *const *scores)
{
    const int nl = p->n_layers, n = nl + nl * p->n_targets;
    rsi_tensor **views = row_views(res, nl, p->n_targets, off, 1);
    if (!views)
        return -1;
    for (int i = 0; i < n; i++) {
        rsi_torch_lasting_begin(); /* kept until the path's end */
        rsi_tensor *copy = rsi_tensor_clone(views[i]);
        rsi_torch_lasting_end();
        rsi_tensor_free(views[i]);
        if (!(views[i] = copy)) {
            views_free(views, n);
            return -1;
        }
    }
    views_free(r->views, r->n_views); /* none before, in the stream */
    r->views = views;
    r->n_views = n;
    for (int t = 0; t < p->n_targets; t++)
        r->scores[t] = scores[t][off];
    return 0;
}

int ex_feed_image_row(flight *fl, rsi_rs_store *store)
{
    pass *p = &fl->p;
    image_row *r = &fl->image;
    rsi_tensor **acts = r->views, **grads = r->views + p->n_layers;
    int rc = store ? rsi_rs_store_append(store, acts, grads)
                   : sum_points(p, acts, grads);
    for (int t = 0; rc == 0 && t < p->n_targets; t++)
        p->score_last[t] = r->scores[t];
    p->points++;
    ex_image_row_release(r);
    return rc;
}

int ex_drop_image_point(flight *fl, int kept, int64_t points_here,
                        const rsi_tensor *points, rsi_tensor **rest)
{
    *rest = NULL;
    /* the kept row must exist by the time the last point is fed: run
     * earlier, or in this forward ahead of at least one point */
    if (kept ? points_here < 2 : fl->image.views == NULL)
        return 0;
    const int64_t rows = rsi_tensor_size(points, 0);
    rsi_tensor *last = rsi_tensor_narrow(points, 0, rows - 1, 1);
    const int same = last ? rsi_tensor_same_bits(last, fl->x) : -1;
    rsi_tensor_free(last);
    if (same != 1)
        return same;
    if (rows > 1 && !(*rest = rsi_tensor_narrow(points, 0, 0, rows - 1)))
        return -1;
    fl->image.stands_last = 1;
    return 1;
}

void ex_full_precision_rows(rsi_run_part *part, const flight *fl, int starts)
{
    const int kept = fl->image.kept_here;
    part->n_full_precision = 0;
    if (kept)
        part->full_precision_at[part->n_full_precision++] = 0;
    if (starts)
        part->full_precision_at[part->n_full_precision++] = kept;
    if (fl->exhausted && !fl->image.stands_last)
        part->full_precision_at[part->n_full_precision++] = part->rows - 1;
}

/* Feeds rows [off, off + rows) of a run's result, the flight's points, to
 * its sums, or, with a store, keeps them there; the scores at the path's
 * ends come from its first and last points unless refining. A part that
 * starts with the image's own row keeps it (image_row); one that ends
 * the path without its last point is followed by the kept row. */
static int feed_part(rsi_explainer *e, flight *fl,
                     const rsi_forward_result *res, int64_t off, int64_t rows,
                     const float *finite, float *const *scores,
                     rsi_rs_store *store, int refining)
{
    pass *p = &fl->p;
    const int nl = e->opt.n_layers, nt = p->n_targets;
    int rc = check_finite(finite + off, rows);
    if (rc == 0 && fl->image.kept_here) {
        fl->image.kept_here = 0;
        rc = keep_image_row(p, &fl->image, res, off, scores);
        off++;
        rows--;
    }
    rsi_tensor **views = rc == 0 ? row_views(res, nl, nt, off, rows) : NULL;
    rc = views ? rc : -1;
    rsi_tensor **acts = views, **grads = views ? views + nl : NULL;
    /* a store starts with its first batch: only then are the targets known */
    if (rc == 0 && store && !store->acts)
        rc = rsi_rs_store_init(store, nl, nt);
    if (rc == 0 && store)
        rc = rsi_rs_store_append(store, acts, grads);
    if (rc == 0 && !store)
        rc = sum_points(p, acts, grads);
    for (int t = 0; rc == 0 && !refining && t < nt; t++) {
        if (p->points == 0)
            p->score_first[t] = scores[t][off];
        p->score_last[t] = scores[t][off + rows - 1];
    }
    p->points += rows;
    views_free(views, nl + nl * nt);
    if (rc == 0 && fl->image.stands_last && fl->exhausted)
        rc = ex_feed_image_row(fl, store);
    return rc;
}

int ex_run_and_feed(rsi_explainer *e, const rsi_tensor *x, rsi_run_part *parts,
                    flight **owners, int n, rsi_rs_store *store, int refining)
{
    const int nl = e->opt.n_layers, max_t = EX_MAX_TARGETS;
    rsi_tensor *scores[EX_MAX_TARGETS];
    rsi_tensor **acts = calloc((size_t)(nl + nl * max_t), sizeof *acts);
    choosing *how = calloc((size_t)n, sizeof *how);
    if (!acts || !how) {
        free(acts);
        free(how);
        rsi_error("out of memory");
        for (int i = 0; i < n; i++)
            ex_flight_fail(owners[i]);
        return -1;
    }
    rsi_forward_result res = {
        .acts = acts, .grads = acts + nl, .scores = scores};
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
            ex_flight_fail(owners[i]);
        }
        free(acts);
        free(how);
        return -1;
    }
    e->forwards++;
    const int64_t rows = rsi_tensor_size(res.logits, 0);
    float *finite = malloc((size_t)rows * sizeof *finite);
    float *host =
        malloc((size_t)(rows * (slots > 0 ? slots : 1)) * sizeof *host);
    float *score_rows[EX_MAX_TARGETS];
    /* one wait for the device, then copies of what is already there */
    int rc = finite && host ? rsi_tensor_to_floats(res.finite, finite, rows)
                            : (rsi_error("out of memory"), -1);
    int image_rows = 0;
    for (int i = 0; i < n; i++)
        image_rows += owners[i]->image.kept_here;
    ex_trace_forward(&e->trace, e->forwards, rows - image_rows, image_rows, n,
                     res.full_precision_rows);
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
            ex_flight_fail(fl);
    }
    free(finite);
    free(host);
    rsi_forward_result_release(&res, nl, slots);
    free(acts);
    free(how);
    return 0;
}

int ex_feed_batch(rsi_explainer *e, flight *fl, const rsi_tensor *batch,
                  rsi_rs_store *store, int refining, int first, int last)
{
    /* the image's own row in front until its logits have chosen the
     * targets; when the path ends at the image, that row is its last point */
    const int kept = !fl->p.chosen;
    const int64_t given = rsi_tensor_size(batch, 0);
    rsi_tensor *rest = NULL;
    const int dropped =
        last ? ex_drop_image_point(fl, kept, given, batch, &rest) : 0;
    if (dropped < 0)
        return -1;
    const int64_t rows = given - dropped;
    fl->exhausted = last;
    if (rows == 0 && !kept) { /* the path's other points were all fed */
        int rc = ex_feed_image_row(fl, store);
        rsi_tensor_free(rest);
        return rc;
    }
    /* rows > 0 here: ex_drop_image_point leaves a kept row a point */
    const rsi_tensor *points = dropped ? rest : batch;
    const rsi_tensor *both[2] = {fl->x, points};
    rsi_tensor *joined = kept ? rsi_tensor_cat(both, 2, 0) : NULL;
    if (kept && !joined) {
        rsi_tensor_free(rest);
        return -1;
    }
    fl->image.kept_here = kept;
    rsi_run_part part = {.rows = rows + kept};
    ex_full_precision_rows(&part, fl, first);
    ex_run_and_feed(e, kept ? joined : points, &part, &fl, 1, store, refining);
    rsi_tensor_free(joined);
    rsi_tensor_free(rest);
    return fl->failed ? -1 : 0; /* the flight keeps its error */
}
