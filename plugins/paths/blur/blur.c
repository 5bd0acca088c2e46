/* The "blur" path: through scale space, from the image blurred with
 * sigma_max down to the image itself (sigma 0).
 *
 * Point i is the image under a Gaussian blur of sigma_i, i = 0..m:
 *   linear  sigma_i = sigma_max * (m - i) / m
 *   log     sigma_i = sigma_max * (sigma_min / sigma_max)^(i / (m - 1))
 *           for i < m, then 0: equal ratios between neighbours, so fine
 *           scales, where most detail appears, get as many points as
 *           coarse ones.
 * The baseline argument is not used: the path makes its own start,
 * blur(x, sigma_max). The engine takes the score at the first point it
 * sees, so the completeness check still compares the right two ends. The
 * last point is a copy of the image. The kernel is cut at the image size,
 * so sigmas beyond it blur little more.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/points.h"

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

typedef struct blur_state {
    const rsi_host_api *h;
    rsi_tensor *x;
    int64_t steps, next;
    double sigma_max, sigma_min;
    int log;
} blur_state;

static void blur_close(void *state)
{
    blur_state *s = state;
    if (!s)
        return;
    s->h->tensor_free(s->x);
    free(s);
}

static int read_params(const rsi_host_api *h, const rsi_param_value *v,
                       blur_state *s)
{
    s->sigma_max = h->param(blur_params, v, "sigma_max")->f;
    s->sigma_min = h->param(blur_params, v, "sigma_min")->f;
    const char *spacing = h->param(blur_params, v, "spacing")->s;
    s->log = strcmp(spacing, "log") == 0;
    if (!s->log && strcmp(spacing, "linear") != 0) {
        h->error_class(RSI_ERR_USAGE,
                       "spacing must be 'linear' or 'log', got '%s'", spacing);
        return -1;
    }
    if (!(s->sigma_max > 0)) {
        h->error_class(RSI_ERR_USAGE, "sigma_max must be > 0, got %g",
                       s->sigma_max);
        return -1;
    }
    if (s->log && !(s->sigma_min > 0 && s->sigma_min < s->sigma_max)) {
        h->error_class(RSI_ERR_USAGE,
                       "log spacing needs 0 < sigma_min < sigma_max, got "
                       "sigma_min %g, sigma_max %g",
                       s->sigma_min, s->sigma_max);
        return -1;
    }
    return 0;
}

static void *blur_open(const rsi_context *ctx, const rsi_param_value *params,
                       const rsi_tensor *baseline, const rsi_tensor *image,
                       int64_t steps)
{
    const rsi_host_api *h = ctx->host;
    (void)baseline;
    if (steps < 1) {
        h->error_class(RSI_ERR_USAGE, "steps must be at least 1, got %lld",
                       (long long)steps);
        return NULL;
    }
    blur_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->error("out of memory");
        return NULL;
    }
    s->h = h;
    s->steps = steps;
    if (read_params(h, params, s) < 0 || !(s->x = h->tensor_clone(image))) {
        blur_close(s);
        return NULL;
    }
    return s;
}

static int64_t blur_num_points(void *state)
{
    return ((blur_state *)state)->steps + 1;
}

static double sigma_at(const blur_state *s, int64_t i)
{
    const int64_t m = s->steps;
    if (i >= m)
        return 0;
    if (!s->log)
        return s->sigma_max * (double)(m - i) / (double)m;
    if (m == 1)
        return s->sigma_max;
    return s->sigma_max *
           pow(s->sigma_min / s->sigma_max, (double)i / (double)(m - 1));
}

static rsi_tensor *point(void *state, int64_t i)
{
    blur_state *s = state;
    if (i == s->steps)
        return s->h->tensor_clone(s->x);
    return s->h->tensor_gaussian_blur(s->x, sigma_at(s, i));
}

static int blur_next(void *state, int64_t max_points, rsi_tensor **batch)
{
    blur_state *s = state;
    return pt_next(s->h, point, s, s->steps + 1, &s->next, max_points, batch);
}

static const rsi_path_entry blur_entry = {
    .open = blur_open,
    .num_points = blur_num_points,
    .next = blur_next,
    .close = blur_close,
};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_PATH,
    .name = "blur",
    .version = "1.0.0",
    .license = "MIT",
    .description = "scale space: from the image blurred by sigma_max to the "
                   "image (ignores the baseline)",
    .params = blur_params,
    .entry = &blur_entry,
};
