/* The "blur" path: through scale space, from the image blurred with
 * sigma_max down to the image itself (sigma 0).
 *
 * The point at alpha is the image under a Gaussian blur of
 *   linear  sigma = sigma_max (1 - alpha)
 *   log     sigma = sigma_max (sigma_min / sigma_max)^(alpha m / (m - 1))
 *           for alpha < 1 (m: the steps asked for), then 0: on the grid
 *           i / m, equal ratios from sigma_max at i = 0 to sigma_min at
 *           i = m - 1, so fine scales, where most detail appears, get as
 *           many points as coarse ones.
 * The baseline is not used: the path makes its own start, blur(x,
 * sigma_max), so it declares its ends its own. The engine takes the score
 * at the first point it sees, so the completeness check still compares
 * the right two ends. The last point is a copy of the image. The kernel
 * is cut at the image size, so sigmas beyond it blur little more.
 */
#include <math.h>
#include <string.h>

#include "../../common/points.h"
#include "rsicam/plugin.h"

static const rsi_param_spec blur_params[] = {
    {.name = "sigma_max",
     .type = RSI_PARAM_FLOAT,
     .default_value = "32",
     .doc = "blur of the first point, pixels",
     .min = 0,
     .max = 1e6},
    {.name = "spacing",
     .type = RSI_PARAM_STRING,
     .default_value = "linear",
     .doc = "sigma spacing: linear or log"},
    {.name = "sigma_min",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.5",
     .doc = "log spacing: sigma of the last blurred point",
     .min = 0,
     .max = 1e6},
    {.name = NULL},
};

/* The spacing's sigma at alpha (parameters checked by blur_open). */
static double sigma_at(const rsi_context *ctx, double alpha)
{
    const rsi_host_api *h = ctx->host;
    const double max = h->param_float(ctx, "sigma_max");
    const int64_t m = ctx->steps;
    if (alpha >= 1)
        return 0;
    if (strcmp(h->param_string(ctx, "spacing"), "log") != 0)
        return max * (1 - alpha);
    if (m == 1)
        return max;
    const double min = h->param_float(ctx, "sigma_min");
    return max * pow(min / max, alpha * (double)m / (double)(m - 1));
}

/* Checks the parameters once per image; no state is kept. */
static int blur_open(const rsi_context *ctx, void **state)
{
    const rsi_host_api *h = ctx->host;
    const double max = h->param_float(ctx, "sigma_max");
    const double min = h->param_float(ctx, "sigma_min");
    const char *spacing = h->param_string(ctx, "spacing");
    const int log = strcmp(spacing, "log") == 0;
    *state = NULL;
    if (!log && strcmp(spacing, "linear") != 0) {
        h->error_class(RSI_ERR_USAGE,
                       "spacing must be 'linear' or 'log', got '%s'", spacing);
        return -1;
    }
    if (!(max > 0)) {
        h->error_class(RSI_ERR_USAGE, "sigma_max must be > 0, got %g", max);
        return -1;
    }
    if (log && !(min > 0 && min < max)) {
        h->error_class(RSI_ERR_USAGE,
                       "log spacing needs 0 < sigma_min < sigma_max, got "
                       "sigma_min %g, sigma_max %g",
                       min, max);
        return -1;
    }
    return 0;
}

/* One point: the image under the blur of its position. */
static rsi_tensor *blur_point(const rsi_context *ctx, double alpha)
{
    const double sigma = sigma_at(ctx, alpha);
    return sigma > 0 ? ctx->host->tensor_gaussian_blur(ctx->image, sigma)
                     : ctx->host->tensor_clone(ctx->image);
}

typedef struct blur_batch {
    const rsi_context *ctx;
    const double *alpha;
} blur_batch;

static rsi_tensor *blur_row(void *batch, int64_t k)
{
    const blur_batch *b = batch;
    return blur_point(b->ctx, b->alpha[k]);
}

static rsi_tensor *blur_points(const rsi_context *ctx, const double *alpha,
                               int64_t n)
{
    blur_batch b = {ctx, alpha};
    return pt_rows(ctx->host, blur_row, &b, 0, n);
}

static int blur_own_ends(const rsi_context *ctx)
{
    (void)ctx;
    return 1;
}

RSI_DECLARE_PATH("blur", "1.0.0", "MIT",
                 "scale space: from the image blurred by sigma_max to the "
                 "image (ignores the baseline)",
                 blur_params, .points = blur_points, .open = blur_open,
                 .own_ends = blur_own_ends);
