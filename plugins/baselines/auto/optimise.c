/* The auto baseline's optimisation (auto.h).
 *
 * The uniformity term is KL(U || p) = -(1/K) sum_k log p_k - log K, the
 * divergence of the model's output p from the uniform U, not the
 * notebooks' max_k |p_k - 1/K|: on a saturated model (the shipped
 * fmnist_cnn_t20.pt) the max term's subgradient, which pushes one class
 * at a time, makes the iterates swap which class is farthest and stall
 * (measured in docs/plugins.md), and the gradient of a probability
 * vanishes as it saturates. The KL term is smooth and its gradient with
 * respect to the logits is p - 1/K, which does not vanish. Both are 0 at
 * the uniform output only; the target and the report still speak of
 * max_k |p_k - 1/K|.
 *
 * The host's model_input_grad_softmax computes upstream . dp/db for an
 * upstream row; the row u_k = -w_u / (K p_k) gives the KL term's gradient
 * in one backward pass (p_k from the forward before it, which also yields
 * the loss). The distance term's gradient, 2 * w_d * (b - b0) / N, needs
 * no model at all.
 *
 * The result is the best iterate (lowest loss, b0 included), not the last:
 * RMSprop's steps do not shrink as the loss does, and with a step too
 * large for the model the last iterate can be far worse than b0. Nor do
 * they shrink near the minimum, around which the iterates can circle (the
 * t20 model did, on some machines, for hundreds of steps): after
 * `patience` steps without a better iterate the optimisation goes back to
 * the best one with half the step. It stops early once the best iterate's
 * max_k |p_k - 1/K| <= target.
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

/* Log-softmax of one row of logits, in double; K >= 2 checked by the
 * caller. */
static void log_softmax(const float *logits, double *logp, int64_t k)
{
    double max = logits[0], z = 0;
    for (int64_t i = 1; i < k; i++)
        max = logits[i] > max ? logits[i] : max;
    for (int64_t i = 0; i < k; i++)
        z += exp((double)logits[i] - max);
    for (int64_t i = 0; i < k; i++)
        logp[i] = (double)logits[i] - max - log(z);
}

/* What one forward says about b: KL(U || p), the probabilities' farthest
 * class from 1/K and how far, the mean squared distance to b0, and the
 * upstream row of the KL term's gradient. */
typedef struct probe {
    rsi_tensor *logits; /* [1, K], on the model's device */
    float *up;          /* [K]: -w_u / (K p_k) */
    int64_t k;
    double kl, dev, msd, loss;
} probe;

static void probe_free(const rsi_host_api *h, probe *pr)
{
    h->tensor_free(pr->logits);
    free(pr->up);
    pr->logits = NULL;
    pr->up = NULL;
}

/* Fills pr->k, kl, dev and up from the logits at b. */
static int deviation(const rsi_host_api *h, const auto_options *o, probe *pr)
{
    pr->k = h->tensor_size(pr->logits, 1);
    if (h->tensor_ndim(pr->logits) != 2 || pr->k < 2) {
        h->error("expected logits [1, K] with K >= 2 classes");
        return -1;
    }
    float *logits = malloc((size_t)pr->k * sizeof *logits);
    double *logp = malloc((size_t)pr->k * sizeof *logp);
    pr->up = malloc((size_t)pr->k * sizeof *pr->up);
    int rc = logits && logp && pr->up
                 ? h->tensor_to_floats(pr->logits, logits, pr->k)
                 : -1;
    const double uniform = 1.0 / (double)pr->k;
    if (rc == 0) {
        log_softmax(logits, logp, pr->k);
        pr->kl = -log((double)pr->k);
        for (int64_t i = 0; i < pr->k; i++) {
            const double p = exp(logp[i]);
            pr->dev = fmax(pr->dev, fabs(p - uniform));
            pr->kl -= uniform * logp[i];
            /* a probability that underflows float gets a bounded row */
            pr->up[i] = (float)(-o->w_u * uniform / fmax(p, 1e-30));
        }
    }
    free(logits);
    free(logp);
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
    int rc = pr->logits ? deviation(h, o, pr) : -1;
    if (rc == 0)
        rc = mean_sq_distance(h, b, b0, &pr->msd);
    pr->loss = o->w_u * pr->kl + o->w_d * pr->msd;
    if (rc == 0 && !isfinite(pr->loss)) {
        h->error_class(RSI_ERR_MODEL, "the loss is not finite (%g)", pr->loss);
        rc = -1;
    }
    if (rc < 0)
        probe_free(h, pr);
    return rc;
}

/* The loss's gradient at b. */
static rsi_tensor *gradient(const rsi_context *ctx, const auto_options *o,
                            const rsi_tensor *b, const rsi_tensor *b0,
                            const probe *pr)
{
    const rsi_host_api *h = ctx->host;
    const int64_t shape[2] = {1, pr->k};
    rsi_tensor *host_up = h->tensor_from_floats(pr->up, shape, 2);
    rsi_tensor *up = host_up ? h->tensor_to_like(host_up, pr->logits) : NULL;
    h->tensor_free(host_up);
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
static int rmsprop_step(const rsi_host_api *h, const auto_options *o, double lr,
                        rsi_tensor **b, rsi_tensor **v, const rsi_tensor *g,
                        const rsi_tensor *eps)
{
    rsi_tensor *g2 = h->tensor_mul(g, g);
    rsi_tensor *v1 =
        g2 ? h->tensor_axpby(o->alpha, *v, 1 - o->alpha, g2) : NULL;
    rsi_tensor *root = v1 ? h->tensor_sqrt(v1) : NULL;
    rsi_tensor *den = root ? h->tensor_add(root, eps) : NULL;
    rsi_tensor *step = den ? h->tensor_div(g, den) : NULL;
    rsi_tensor *b1 = step ? h->tensor_axpby(1.0, *b, -lr, step) : NULL;
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
    double lr = o->lr;
    int64_t since = 0; /* the iteration lr last changed */
    for (int64_t it = 0; ok; it++) {
        probe pr;
        ok = run_probe(ctx, o, b, b0, &pr) == 0;
        if (ok && it == 0) {
            r->loss_first = pr.loss;
            r->dev_first = pr.dev;
        }
        ok = ok && keep_if_best(h, &pr, b, it, &best, r) == 0;
        /* the result is the best iterate: stop once it is good enough */
        if (ok && (it == o->iterations || r->dev_last <= o->target)) {
            probe_free(h, &pr);
            break;
        }
        /* no better iterate for `patience` steps: back to the best one,
         * with half the step */
        if (ok && o->patience > 0 && it - since >= o->patience &&
            it - r->best_iteration >= o->patience) {
            rsi_tensor *again = h->tensor_clone(best);
            ok = again != NULL;
            if (ok) {
                h->tensor_free(b);
                b = again;
                lr *= 0.5;
                since = it;
                probe_free(h, &pr);
                ok = run_probe(ctx, o, b, b0, &pr) == 0;
            }
        }
        rsi_tensor *g = ok ? gradient(ctx, o, b, b0, &pr) : NULL;
        ok = g && rmsprop_step(h, o, lr, &b, &v, g, eps) == 0;
        h->tensor_free(g);
        probe_free(h, &pr);
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
    probe_free(ctx->host, &pr);
    if (rc == 0) {
        r->loss_last = pr.loss;
        r->dev_last = pr.dev;
        r->rms = sqrt(pr.msd);
    }
    return rc;
}
