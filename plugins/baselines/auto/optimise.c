/* The auto baseline's optimisation (auto.h).
 *
 * The loss's max term has no gradient, only a subgradient: at
 * k* = argmax_k |p_k - 1/K| it is w_u * sign(p_k* - 1/K) times the
 * gradient of p_k* with respect to b. The host's model_input_grad_softmax
 * computes upstream . dp/db for an upstream row, so a one-hot row scaled
 * by w_u * sign(...) gives it in one backward pass. k* must be known
 * before that pass, hence a plain forward first (model_logits); the same
 * forward yields the loss. The distance term's gradient,
 * 2 * w_d * (b - b0) / N, needs no model at all.
 *
 * The result is the best iterate (lowest loss, b0 included), not the last:
 * RMSprop's steps do not shrink as the loss does, and with a step too
 * large for the model the last iterate can be far worse than b0. It stops
 * early once max_k |p_k - 1/K| <= target.
 *
 * RMSprop as torch.optim.RMSprop with its defaults (no momentum, not
 * centred, no weight decay):
 *     v <- alpha * v + (1 - alpha) * g^2
 *     b <- b - lr * g / (sqrt(v) + eps)
 */
#include <math.h>
#include <stdlib.h>

#include "../../common/pixels.h"
#include "auto.h"

/* Softmax of one row of logits, in double; K >= 2 checked by the caller. */
static void softmax(const float *logits, double *p, int64_t k)
{
    double max = logits[0], z = 0;
    for (int64_t i = 1; i < k; i++)
        max = logits[i] > max ? logits[i] : max;
    for (int64_t i = 0; i < k; i++)
        z += (p[i] = exp((double)logits[i] - max));
    for (int64_t i = 0; i < k; i++)
        p[i] /= z;
}

/* What one forward says about b: the probabilities' farthest class from
 * 1/K, how far, and the mean squared distance to b0. */
typedef struct probe {
    rsi_tensor *logits; /* [1, K], kept for the one-hot upstream */
    int64_t k, worst;
    double dev, sign, msd, loss;
} probe;

/* Fills pr->k, worst, dev and sign from the logits at b. */
static int deviation(const rsi_host_api *h, probe *pr)
{
    pr->k = h->tensor_size(pr->logits, 1);
    if (h->tensor_ndim(pr->logits) != 2 || pr->k < 2) {
        h->error("expected logits [1, K] with K >= 2 classes");
        return -1;
    }
    float *logits = malloc((size_t)pr->k * sizeof *logits);
    double *p = malloc((size_t)pr->k * sizeof *p);
    int rc = logits && p ? h->tensor_to_floats(pr->logits, logits, pr->k) : -1;
    const double uniform = 1.0 / (double)pr->k;
    if (rc == 0) {
        softmax(logits, p, pr->k);
        for (int64_t i = 0; i < pr->k; i++) {
            double d = fabs(p[i] - uniform);
            if (i == 0 || d > pr->dev) {
                pr->dev = d;
                pr->worst = i;
                pr->sign = p[i] > uniform ? 1.0 : p[i] < uniform ? -1.0 : 0.0;
            }
        }
    }
    free(logits);
    free(p);
    return rc;
}

/* mean((b - b0)^2) */
static int mean_sq_distance(const rsi_host_api *h, const rsi_tensor *b,
                            const rsi_tensor *b0, double *msd)
{
    rsi_tensor *d = h->tensor_sub(b, b0);
    rsi_tensor *d2 = d ? h->tensor_mul(d, d) : NULL;
    double sum = 0;
    int rc = d2 ? h->tensor_sum_all(d2, &sum) : -1;
    h->tensor_free(d);
    h->tensor_free(d2);
    *msd = sum / (double)h->tensor_numel(b);
    return rc;
}

static int run_probe(const rsi_context *ctx, const auto_options *o,
                     const rsi_tensor *b, const rsi_tensor *b0, probe *pr)
{
    const rsi_host_api *h = ctx->host;
    *pr = (probe){0};
    pr->logits = h->model_logits(ctx->model, b);
    int rc = pr->logits ? deviation(h, pr) : -1;
    if (rc == 0)
        rc = mean_sq_distance(h, b, b0, &pr->msd);
    pr->loss = o->w_u * pr->dev + o->w_d * pr->msd;
    if (rc == 0 && !isfinite(pr->loss)) {
        h->error_class(RSI_ERR_MODEL, "the loss is not finite (%g)", pr->loss);
        rc = -1;
    }
    if (rc < 0) {
        h->tensor_free(pr->logits);
        pr->logits = NULL;
    }
    return rc;
}

/* value at column k of a [1, K] row, 0 elsewhere, on like's device. */
static rsi_tensor *one_hot(const rsi_host_api *h, const rsi_tensor *like,
                           int64_t k, double value)
{
    int64_t n = h->tensor_size(like, 1);
    rsi_tensor *slices[3] = {h->tensor_narrow(like, 1, 0, k),
                             h->tensor_narrow(like, 1, k, 1),
                             h->tensor_narrow(like, 1, k + 1, n - k - 1)};
    rsi_tensor *parts[3] = {NULL};
    rsi_tensor *out = NULL;
    int ok = slices[0] && slices[1] && slices[2];
    for (int i = 0; ok && i < 3; i++)
        ok = (parts[i] = h->tensor_full_like(slices[i], i == 1 ? value : 0)) !=
             NULL;
    if (ok)
        out = h->tensor_cat((const rsi_tensor *const *)parts, 3, 1);
    for (int i = 0; i < 3; i++) {
        h->tensor_free(slices[i]);
        h->tensor_free(parts[i]);
    }
    return out;
}

/* The loss's (sub)gradient at b. */
static rsi_tensor *gradient(const rsi_context *ctx, const auto_options *o,
                            const rsi_tensor *b, const rsi_tensor *b0,
                            const probe *pr)
{
    const rsi_host_api *h = ctx->host;
    rsi_tensor *up = one_hot(h, pr->logits, pr->worst, o->w_u * pr->sign);
    /* The gradient comes back on the model's device; b may live elsewhere
     * when the caller keeps images on the CPU. */
    rsi_tensor *gu =
        up ? px_follow(h, h->model_input_grad_softmax(ctx->model, b, up, NULL),
                       b)
           : NULL;
    rsi_tensor *d = gu ? h->tensor_sub(b, b0) : NULL;
    double n = (double)h->tensor_numel(b);
    rsi_tensor *g = d ? h->tensor_axpby(1.0, gu, 2.0 * o->w_d / n, d) : NULL;
    h->tensor_free(up);
    h->tensor_free(gu);
    h->tensor_free(d);
    return g;
}

/* One RMSprop step: replaces *b and *v. */
static int rmsprop_step(const rsi_host_api *h, const auto_options *o,
                        rsi_tensor **b, rsi_tensor **v, const rsi_tensor *g,
                        const rsi_tensor *eps)
{
    rsi_tensor *g2 = h->tensor_mul(g, g);
    rsi_tensor *v1 =
        g2 ? h->tensor_axpby(o->alpha, *v, 1 - o->alpha, g2) : NULL;
    rsi_tensor *root = v1 ? h->tensor_sqrt(v1) : NULL;
    rsi_tensor *den = root ? h->tensor_add(root, eps) : NULL;
    rsi_tensor *step = den ? h->tensor_div(g, den) : NULL;
    rsi_tensor *b1 = step ? h->tensor_axpby(1.0, *b, -o->lr, step) : NULL;
    h->tensor_free(g2);
    h->tensor_free(root);
    h->tensor_free(den);
    h->tensor_free(step);
    if (!b1) {
        h->tensor_free(v1);
        return -1;
    }
    h->tensor_free(*b);
    h->tensor_free(*v);
    *b = b1;
    *v = v1;
    return 0;
}

/* Records b as the best iterate so far when its loss is lower: the result
 * is never worse than b0, whatever the steps did after it. */
static int keep_if_best(const rsi_host_api *h, const probe *pr,
                        const rsi_tensor *b, int64_t it, rsi_tensor **best,
                        auto_report *r)
{
    if (*best && !(pr->loss < r->loss_last))
        return 0;
    rsi_tensor *copy = h->tensor_clone(b);
    if (!copy)
        return -1;
    h->tensor_free(*best);
    *best = copy;
    r->loss_last = pr->loss;
    r->dev_last = pr->dev;
    r->rms = sqrt(pr->msd);
    r->best_iteration = it;
    return 0;
}

rsi_tensor *auto_optimise(const rsi_context *ctx, const auto_options *o,
                          const rsi_tensor *b0, auto_report *r)
{
    const rsi_host_api *h = ctx->host;
    rsi_tensor *b = h->tensor_clone(b0), *best = NULL;
    rsi_tensor *v = b ? h->tensor_full_like(b0, 0.0) : NULL;
    rsi_tensor *eps = v ? h->tensor_full_like(b0, o->eps) : NULL;
    int ok = eps != NULL;
    for (int64_t it = 0; ok; it++) {
        probe pr;
        ok = run_probe(ctx, o, b, b0, &pr) == 0;
        if (ok && it == 0) {
            r->loss_first = pr.loss;
            r->dev_first = pr.dev;
        }
        ok = ok && keep_if_best(h, &pr, b, it, &best, r) == 0;
        if (ok && (it == o->iterations || pr.dev <= o->target)) {
            h->tensor_free(pr.logits);
            break;
        }
        rsi_tensor *g = ok ? gradient(ctx, o, b, b0, &pr) : NULL;
        ok = g && rmsprop_step(h, o, &b, &v, g, eps) == 0;
        h->tensor_free(g);
        h->tensor_free(pr.logits);
        if (!ok)
            h->error("iteration %lld of %lld failed", (long long)it + 1,
                     (long long)o->iterations);
    }
    h->tensor_free(b);
    h->tensor_free(v);
    h->tensor_free(eps);
    if (!ok) {
        h->tensor_free(best);
        return NULL;
    }
    return best;
}

int auto_measure(const rsi_context *ctx, const auto_options *o,
                 const rsi_tensor *b, const rsi_tensor *b0, auto_report *r)
{
    probe pr;
    int rc = run_probe(ctx, o, b, b0, &pr);
    ctx->host->tensor_free(pr.logits);
    if (rc == 0) {
        r->loss_last = pr.loss;
        r->dev_last = pr.dev;
        r->rms = sqrt(pr.msd);
    }
    return rc;
}
