/* The "quadratic" path: x(alpha) = b + alpha^p (x - b), p = exponent.
 *
 * With p > 1 the points crowd near the baseline, where the model's output
 * often changes fastest. Any p is a valid path: the Riemann-Stieltjes sum
 * weighs each gradient by the change of the activations between
 * neighbouring points, not by a fixed step.
 */
#include <math.h>
#include <stdlib.h>

#include <rsicam/plugin.h>

static const rsi_param_spec quadratic_params[] = {
    {.name = "exponent",
     .type = RSI_PARAM_FLOAT,
     .default_value = "2",
     .doc = "p in b + alpha^p (x - b); 1 is the linear path",
     .min = 0.1,
     .max = 10},
    {.name = NULL},
};

static rsi_tensor *quadratic_points(const rsi_context *ctx, const double *alpha,
                                    int64_t n)
{
    const rsi_host_api *h = ctx->host;
    const double p = h->param_float(ctx, "exponent");
    /* n is up to a batch: on the heap, not the stack */
    double *t = malloc((size_t)n * sizeof *t);
    if (!t) {
        h->error("out of memory");
        return NULL;
    }
    for (int64_t k = 0; k < n; k++)
        t[k] = pow(alpha[k], p);
    rsi_tensor *points = h->tensor_lerp(ctx->baseline, ctx->image, t, n);
    free(t);
    return points;
}

RSI_DECLARE_PATH("quadratic", "1.0.0", "MIT",
                 "b + alpha^p (x - b): points crowd near the baseline",
                 quadratic_params, .points = quadratic_points);
