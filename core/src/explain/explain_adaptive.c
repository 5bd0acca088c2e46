/* rsicam — adaptive steps, one image at a time (explain_impl.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain_impl.h"

/* The path's grid at opt.steps, every point through the model into
 * store; the first batch chooses the targets. The path is opened here
 * once for the image: refinements ask it only for their new positions. */
static int walk_grid(rsi_explainer *e, flight *fl, rsi_rs_store *store)
{
    rsi_path_call *c = &fl->path;
    if (rsi_call_path_open(c, e->opt.path, e->path_values, &fl->ctx,
                           fl->baseline, fl->x, e->opt.steps) < 0)
        return -1;
    if (c->sequential) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "path '%s' is a fixed list of points: adaptive "
                            "steps need a path of positions (use fixed "
                            "--steps)",
                            e->opt.path->desc->name);
        return -1;
    }
    rsi_tensor *batch = NULL;
    int rc;
    while ((rc = rsi_call_path_next(c, ex_forward_rows(e), &batch)) == 1) {
        const int64_t b = rsi_tensor_size(batch, 0);
        rc = ex_feed_batch(e, fl, batch, store, 0, c->given == b,
                           c->given == c->total);
        rsi_tensor_free(batch);
        if (rc < 0)
            break;
    }
    return rc < 0 ? -1 : 0;
}

/* The points at positions pos[0..n) / resolution (none an end) through
 * the model into store, a forward's rows at a time. */
static int walk_positions(rsi_explainer *e, flight *fl, const int64_t *pos,
                          int64_t n, int64_t resolution, rsi_rs_store *store)
{
    const int64_t rows = ex_forward_rows(e);
    const int64_t most = n < rows ? n : rows;
    double *alpha = malloc((size_t)most * sizeof *alpha);
    int rc = alpha ? 0 : (rsi_error("out of memory"), -1);
    for (int64_t first = 0; rc == 0 && first < n; first += most) {
        const int64_t b = n - first < most ? n - first : most;
        /* i / m exactly as the grid's */
        for (int64_t k = 0; k < b; k++)
            alpha[k] = (double)pos[first + k] / (double)resolution;
        rsi_tensor *batch = rsi_call_path_points(&fl->path, alpha, b);
        rc = batch ? ex_feed_batch(e, fl, batch, store, 1, 0, 0) : -1;
        rsi_tensor_free(batch);
    }
    free(alpha);
    return rc;
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
    const int nl = p->n_layers, nk = rsi_map_kind_count();
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
            for (int m = 0; m < nk; m++) {
                const rsi_map_kind *k = rsi_map_kind_at(m);
                if (!k->integrates ||
                    !rsi_map_kind_chosen(k, e->opt.methods, e->opt.variants))
                    continue;
                rsi_tensor **prev = &cams[(t * nl + l) * nk + m];
                rsi_tensor *cam = k->cam(sum, layer);
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
static int descending(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static int choose_splits(grid *g, const int64_t *rows, const double *err,
                         int64_t k)
{
    double total = 0,
           *sorted = malloc((size_t)(k > 0 ? k : 1) * sizeof *sorted);
    if (!sorted) {
        rsi_error("out of memory");
        return -1;
    }
    for (int64_t i = 0; i < k; i++)
        total += sorted[i] = err[i];
    qsort(sorted, (size_t)k, sizeof *sorted, descending);
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
    free(sorted);
    return 0;
}

/* Splits the marked intervals: runs their midpoints (positions on a grid
 * of twice the resolution), merges them into all and chooses the next
 * splits. Only the midpoints are asked of the path. */
static int refine(rsi_explainer *e, flight *fl, rsi_rs_store *all, grid *g)
{
    const int64_t res = 2 * g->resolution;
    int64_t k = 0;
    for (int64_t i = 0; i + 1 < g->n; i++)
        k += g->split[i];
    const int64_t n = g->n + k;
    int64_t *mids = calloc((size_t)(k > 0 ? k : 1), sizeof *mids);
    unsigned char *from_mid = calloc((size_t)n, 1);
    int64_t *pos = calloc((size_t)n, sizeof *pos);
    int64_t *rows = calloc((size_t)(k > 0 ? k : 1), sizeof *rows);
    double *err = calloc((size_t)(k > 0 ? k : 1), sizeof *err);
    unsigned char *split = calloc((size_t)n, 1);
    rsi_rs_store mid = {0};
    int rc = mids && from_mid && pos && rows && err && split ? 0 : -1;
    if (rc < 0)
        rsi_error("out of memory");
    for (int64_t i = 0, r = 0, m = 0; rc == 0 && i < g->n; i++) {
        pos[r++] = 2 * g->pos[i];
        if (i + 1 < g->n && g->split[i]) {
            const int64_t c = g->pos[i] + g->pos[i + 1]; /* (2a + 2b) / 2 */
            mids[m] = c;
            from_mid[r] = 1;
            rows[m++] = r;
            pos[r++] = c;
        }
    }
    if (rc == 0)
        rc = walk_positions(e, fl, mids, k, res, &mid);
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
        rc = choose_splits(g, rows, err, k);
    }
    rsi_rs_store_release(&mid);
    free(mids);
    free(from_mid);
    free(pos);
    free(rows);
    free(err);
    free(split);
    return rc;
}

/* Adaptive steps: the path at m steps, then, until converged(), the
 * midpoints of the intervals that carry the error, at positions on grids
 * of 2m, 4m, ... steps; only new points are made and go through the
 * model, and the sums are redone over all of them (the trapezoid rule
 * needs no even spacing). */
int ex_walk_adaptive(rsi_explainer *e, flight *fl)
{
    pass *p = &fl->p;
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
        rc = walk_grid(e, fl, &all);
    if (rc == 0) {
        n_cams = (size_t)(p->n_layers * p->n_targets * rsi_map_kind_count());
        cams = calloc(n_cams, sizeof *cams);
        rc = cams ? 0 : -1;
    }
    if (rc < 0 && !rsi_error_pending())
        rsi_error("out of memory");
    for (int done = 0; rc == 0;) {
        ex_pass_reset_sums(p, e);
        rc = rsi_rs_store_sums(&all, p->layers, p->sums);
        if (rc == 0)
            rc = converged(e, p, cams, &done);
        if (rc < 0 || done || 2 * g.resolution > e->opt.max_steps)
            break;
        rc = refine(e, fl, &all, &g);
    }
    for (size_t i = 0; i < n_cams; i++)
        rsi_tensor_free(cams[i]);
    free(cams);
    rsi_rs_store_release(&all);
    rsi_call_path_close(&fl->path);
    p->steps = g.n - 1;
    grid_free(&g);
    return rc;
}
