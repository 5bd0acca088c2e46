/* rsicam — deletion/insertion AUC, Average Drop and Increase in Confidence
 * (see metrics.h and docs/metrics.md).
 *
 * The perturbed images are built in host memory, a batch at a time: the
 * curve walks one working image from `from` towards `to`, copying it into
 * the batch after each step, so memory is batch + 1 images whatever
 * n_steps is.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"

double rsi_auc_trapezoid(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double a = 0.0;
    for (int i = 1; i < n; i++)
        a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    return a;
}

/* Sorting (value, index) pairs keeps the comparator free of context, so
 * this stays reentrant without qsort_r. */
typedef struct ranked {
    float v;
    int64_t i;
} ranked;

static int by_saliency(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    int na = isnan(a->v), nb = isnan(b->v);
    if (na != nb)
        return na - nb; /* NaN after every number */
    if (!na && a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i); /* ties: ascending index */
}

int rsi_saliency_order(const float *heat, int64_t n, int64_t *order)
{
    ranked *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) {
        rsi_error("out of memory");
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        r[i] = (ranked){heat[i], i};
    qsort(r, (size_t)n, sizeof *r, by_saliency);
    for (int64_t i = 0; i < n; i++)
        order[i] = r[i].i;
    free(r);
    return 0;
}

int64_t rsi_curve_count(int64_t k, int n_steps, int64_t n)
{
    return k * n / n_steps;
}

/* ---- Shapes and scores ------------------------------------------------- */

/* x must be [1, C, H, W]; sets c and hw. */
static int image_dims(const rsi_tensor *x, const char *what, int64_t *c,
                      int64_t *hw)
{
    if (!x || rsi_tensor_ndim(x) != 4 || rsi_tensor_size(x, 0) != 1) {
        rsi_error_class_set(RSI_ERR_USAGE, "metrics: %s must be [1, C, H, W]",
                            what);
        return -1;
    }
    *c = rsi_tensor_size(x, 1);
    *hw = rsi_tensor_size(x, 2) * rsi_tensor_size(x, 3);
    return 0;
}

static float *floats_of(const rsi_tensor *t)
{
    int64_t n = rsi_tensor_numel(t);
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) {
        rsi_error("out of memory");
        return NULL;
    }
    if (rsi_tensor_to_floats(t, v, n) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Scores of class cls for the images of in [b, C, H, W]. */
static int score_batch(rsi_model *m, const rsi_tensor *in, int64_t cls,
                       rsi_score_kind kind, double *out)
{
    const int64_t b = rsi_tensor_size(in, 0);
    rsi_tensor *logits = rsi_model_logits(m, in);
    if (!logits)
        return -1;
    float *l = NULL;
    int rc = -1;
    if (rsi_tensor_ndim(logits) != 2 || rsi_tensor_size(logits, 0) != b) {
        rsi_error_class_set(RSI_ERR_MODEL, "metrics: unexpected logits shape");
        goto out;
    }
    const int64_t classes = rsi_tensor_size(logits, 1);
    if (cls < 0 || cls >= classes) {
        rsi_error_class_set(RSI_ERR_MODEL,
                            "metrics: class %lld outside the model's %lld",
                            (long long)cls, (long long)classes);
        goto out;
    }
    if (!(l = floats_of(logits)))
        goto out;
    for (int64_t i = 0; i < b; i++) {
        const float *row = l + i * classes;
        if (kind == RSI_SCORE_LOGIT) {
            out[i] = row[cls];
            continue;
        }
        /* Softmax in double, shifted by the maximum against overflow. */
        double mx = row[0], sum = 0.0;
        for (int64_t j = 1; j < classes; j++)
            mx = row[j] > mx ? row[j] : mx;
        for (int64_t j = 0; j < classes; j++)
            sum += exp((double)row[j] - mx);
        out[i] = exp((double)row[cls] - mx) / sum;
    }
    rc = 0;
out:
    free(l);
    rsi_tensor_free(logits);
    return rc;
}

/* The same for b images [b, c, h, w] in host memory. */
static int score_floats(rsi_model *m, const float *data, int64_t b,
                        const int64_t *chw, int64_t cls, rsi_score_kind kind,
                        double *out)
{
    const int64_t shape[4] = {b, chw[0], chw[1], chw[2]};
    rsi_tensor *in = rsi_tensor_from_floats(data, shape, 4);
    int rc = in ? score_batch(m, in, cls, kind, out) : -1;
    rsi_tensor_free(in);
    return rc;
}

/* ---- Substrates -------------------------------------------------------- */

int rsi_substrate_parse(const char *text, rsi_substrate *out)
{
    out->sigma = 0.0;
    if (text && strcmp(text, "black") == 0) {
        out->kind = RSI_SUBSTRATE_BLACK;
        return 0;
    }
    if (text && strcmp(text, "zero") == 0) {
        out->kind = RSI_SUBSTRATE_ZERO;
        return 0;
    }
    if (text && strncmp(text, "blur", 4) == 0 &&
        (text[4] == '\0' || text[4] == ':')) {
        out->kind = RSI_SUBSTRATE_BLUR;
        out->sigma = 5.0; /* RISE's kernel: 11 taps, sigma 5 */
        if (text[4] == '\0')
            return 0;
        char *end;
        out->sigma = strtod(text + 5, &end);
        if (end != text + 5 && *end == '\0' && out->sigma > 0 &&
            isfinite(out->sigma))
            return 0;
    }
    rsi_error_class_set(RSI_ERR_USAGE,
                        "unknown substrate '%s' (black, zero, blur, "
                        "blur:SIGMA with SIGMA > 0)",
                        text ? text : "");
    return -1;
}

rsi_tensor *rsi_substrate_make(const rsi_substrate *s, const rsi_tensor *x,
                               const rsi_model_info *info)
{
    int64_t c, hw;
    if (image_dims(x, "the image", &c, &hw) < 0)
        return NULL;
    if (s->kind == RSI_SUBSTRATE_ZERO)
        return rsi_tensor_full_like(x, 0.0);
    if (s->kind == RSI_SUBSTRATE_BLUR)
        return rsi_tensor_gaussian_blur(x, s->sigma);
    if (c > 3 || !info) {
        rsi_error_class_set(RSI_ERR_USAGE, "metrics: black needs mean/std "
                                           "for at most 3 channels");
        return NULL;
    }
    float *v = floats_of(x);
    if (!v)
        return NULL;
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < hw; i++)
            v[k * hw + i] = (float)((0.0 - info->mean[k]) / info->std[k]);
    const int64_t shape[4] = {1, c, rsi_tensor_size(x, 2),
                              rsi_tensor_size(x, 3)};
    rsi_tensor *t = rsi_tensor_from_floats(v, shape, 4);
    free(v);
    return t;
}

/* ---- Deletion and insertion -------------------------------------------- */

static int check_opts(const rsi_curve_opts *o)
{
    if (!o || o->n_steps < 1 || o->batch < 1) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "metrics: n_steps and batch must be at least 1");
        return -1;
    }
    return 0;
}

int rsi_metric_curve(rsi_model *m, const rsi_tensor *from, const rsi_tensor *to,
                     const float *heat, int64_t cls, const rsi_curve_opts *opts,
                     double *curve, double *auc)
{
    int64_t c, hw, c2, hw2;
    if (check_opts(opts) < 0 || image_dims(from, "the start", &c, &hw) < 0 ||
        image_dims(to, "the end", &c2, &hw2) < 0)
        return -1;
    if (c != c2 || hw != hw2 ||
        rsi_tensor_size(from, 2) != rsi_tensor_size(to, 2)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "metrics: the image and its substrate differ "
                            "in shape");
        return -1;
    }
    const int n = opts->n_steps;
    const int64_t chw[3] = {c, rsi_tensor_size(from, 2),
                            rsi_tensor_size(from, 3)};
    const int64_t img = c * hw, cap = opts->batch < n + 1 ? opts->batch : n + 1;
    float *cur = floats_of(from), *dst = floats_of(to);
    float *batch = malloc((size_t)(cap * img) * sizeof *batch);
    int64_t *order = malloc((size_t)hw * sizeof *order);
    double *own = curve ? NULL : malloc((size_t)(n + 1) * sizeof *own);
    double *frac = malloc((size_t)(n + 1) * sizeof *frac);
    double *y = curve ? curve : own;
    int rc = -1;
    if (!cur || !dst || !batch || !order || !y || !frac) {
        rsi_error("out of memory");
        goto out;
    }
    if (rsi_saliency_order(heat, hw, order) < 0)
        goto out;
    int64_t done = 0; /* pixels changed so far */
    int first = 0;    /* curve index of the batch's first image */
    for (int k = 0; k <= n; k++) {
        int64_t upto = rsi_curve_count(k, n, hw);
        for (; done < upto; done++)
            for (int64_t ch = 0; ch < c; ch++)
                cur[ch * hw + order[done]] = dst[ch * hw + order[done]];
        frac[k] = (double)upto / (double)hw;
        memcpy(batch + (k - first) * img, cur, (size_t)img * sizeof *cur);
        if (k - first + 1 == cap || k == n) {
            if (score_floats(m, batch, k - first + 1, chw, cls, opts->score,
                             y + first) < 0)
                goto out;
            first = k + 1;
        }
    }
    *auc = rsi_auc_trapezoid(frac, y, n + 1);
    rc = 0;
out:
    free(cur);
    free(dst);
    free(batch);
    free(order);
    free(own);
    free(frac);
    return rc;
}

int rsi_metric_deletion_insertion(rsi_model *m, const rsi_tensor *x,
                                  const rsi_tensor *deletion_base,
                                  const rsi_tensor *insertion_base,
                                  const float *heat, int64_t cls,
                                  const rsi_curve_opts *opts,
                                  double *deletion_auc, double *insertion_auc)
{
    *deletion_auc = *insertion_auc = NAN;
    if (deletion_base && rsi_metric_curve(m, x, deletion_base, heat, cls, opts,
                                          NULL, deletion_auc) < 0) {
        rsi_error_prefix("deletion: ");
        return -1;
    }
    if (insertion_base && rsi_metric_curve(m, insertion_base, x, heat, cls,
                                           opts, NULL, insertion_auc) < 0) {
        rsi_error_prefix("insertion: ");
        return -1;
    }
    return 0;
}

/* ---- Average Drop and Increase in Confidence -------------------------- */

void rsi_confidence_from(double y, double o, rsi_confidence *out)
{
    out->y = y;
    out->o = o;
    /* y is a softmax probability, > 0 unless it underflowed; with y == 0
     * nothing can drop. */
    out->drop = y > 0 && o < y ? (y - o) / y : 0.0;
    out->increased = o > y;
}

/* Checks x and info; returns x's values with room for a second image
 * after them, which is set to E (see rsi_explanation_image). */
static float *with_explanation(const rsi_tensor *x, const float *heat,
                               const rsi_model_info *info, int64_t *c)
{
    int64_t hw;
    if (image_dims(x, "the image", c, &hw) < 0)
        return NULL;
    if (*c > 3 || !info) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "metrics: the explanation image needs mean/std "
                            "for at most 3 channels");
        return NULL;
    }
    const int64_t img = *c * hw;
    float *v = malloc((size_t)(2 * img) * sizeof *v);
    if (!v) {
        rsi_error("out of memory");
        return NULL;
    }
    if (rsi_tensor_to_floats(x, v, img) < 0) {
        free(v);
        return NULL;
    }
    for (int64_t k = 0; k < *c; k++) {
        const double mean = info->mean[k], sd = info->std[k];
        for (int64_t i = 0; i < hw; i++) {
            double h = heat[i] > 0 ? (heat[i] < 1 ? heat[i] : 1.0) : 0.0;
            double p = v[k * hw + i] * sd + mean; /* pixel space */
            v[img + k * hw + i] = (float)((p * h - mean) / sd);
        }
    }
    return v;
}

rsi_tensor *rsi_explanation_image(const rsi_tensor *x, const float *heat,
                                  const rsi_model_info *info)
{
    int64_t c;
    float *v = with_explanation(x, heat, info, &c);
    if (!v)
        return NULL;
    const int64_t shape[4] = {1, c, rsi_tensor_size(x, 2),
                              rsi_tensor_size(x, 3)};
    rsi_tensor *t =
        rsi_tensor_from_floats(v + c * shape[2] * shape[3], shape, 4);
    free(v);
    return t;
}

int rsi_metric_confidence(rsi_model *m, const rsi_model_info *info,
                          const rsi_tensor *x, const float *heat, int64_t cls,
                          rsi_confidence *out)
{
    int64_t c;
    float *v = with_explanation(x, heat, info, &c);
    if (!v)
        return -1;
    /* x and E in one batch, built in host memory: no device mixing. */
    const int64_t chw[3] = {c, rsi_tensor_size(x, 2), rsi_tensor_size(x, 3)};
    double p[2];
    int rc = score_floats(m, v, 2, chw, cls, RSI_SCORE_SOFTMAX, p);
    free(v);
    if (rc == 0)
        rsi_confidence_from(p[0], p[1], out);
    return rc;
}

void rsi_confidence_add(rsi_confidence_sum *s, const rsi_confidence *c)
{
    s->n++;
    s->drop += c->drop;
    s->increased += c->increased != 0;
}

double rsi_average_drop(const rsi_confidence_sum *s)
{
    return s->n > 0 ? 100.0 * s->drop / (double)s->n : NAN;
}

double rsi_increase_in_confidence(const rsi_confidence_sum *s)
{
    return s->n > 0 ? 100.0 * (double)s->increased / (double)s->n : NAN;
}
