/* The "linear" path: x_i = b + (i/m)(x - b), i = 0..m.
 *
 * d = x - b is computed once; each point is then one axpby. The end
 * points are copies of b and x rather than b + 0*d and b + 1*d: rounding
 * would otherwise make x_m differ from the image in the last bits, and the
 * Riemann-Stieltjes sum relies on the path ending exactly at the image.
 */
#include <stdlib.h>

#include "rsicam/plugin.h"

typedef struct linear_state {
    const rsi_host_api *h;
    rsi_tensor *b, *x, *d;
    int64_t steps; /* m: points are 0..m */
    int64_t next;  /* index of the next point to hand out */
} linear_state;

static void linear_close(void *state)
{
    linear_state *s = state;
    if (!s)
        return;
    s->h->tensor_free(s->b);
    s->h->tensor_free(s->x);
    s->h->tensor_free(s->d);
    free(s);
}

static int same_shape(const rsi_host_api *h, const rsi_tensor *a,
                      const rsi_tensor *b)
{
    int n = h->tensor_ndim(a);
    if (n != h->tensor_ndim(b))
        return 0;
    for (int i = 0; i < n; i++)
        if (h->tensor_size(a, i) != h->tensor_size(b, i))
            return 0;
    return 1;
}

static void *linear_open(const rsi_context *ctx, const rsi_param_value *params,
                         const rsi_tensor *baseline, const rsi_tensor *image,
                         int64_t steps)
{
    const rsi_host_api *h = ctx->host;
    (void)params;
    if (steps < 1) {
        h->error_class(RSI_ERR_USAGE, "steps must be at least 1, got %lld",
                       (long long)steps);
        return NULL;
    }
    if (!same_shape(h, baseline, image)) {
        h->error("the baseline's shape differs from the image's");
        return NULL;
    }
    linear_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->error("out of memory");
        return NULL;
    }
    s->h = h;
    s->steps = steps;
    /* The arguments are borrowed: keep copies for the later next() calls. */
    s->b = h->tensor_clone(baseline);
    s->x = h->tensor_clone(image);
    s->d = s->b && s->x ? h->tensor_sub(s->x, s->b) : NULL;
    if (!s->d) {
        linear_close(s);
        return NULL;
    }
    return s;
}

static int64_t linear_num_points(void *state)
{
    return ((linear_state *)state)->steps + 1;
}

static rsi_tensor *point(linear_state *s, int64_t i)
{
    if (i == 0)
        return s->h->tensor_clone(s->b);
    if (i == s->steps)
        return s->h->tensor_clone(s->x);
    return s->h->tensor_axpby(1.0, s->b, (double)i / (double)s->steps, s->d);
}

static int linear_next(void *state, int64_t max_points, rsi_tensor **batch)
{
    linear_state *s = state;
    const rsi_host_api *h = s->h;
    *batch = NULL;
    if (max_points < 1) {
        h->error("asked for batches of %lld points", (long long)max_points);
        return -1;
    }
    int64_t left = s->steps + 1 - s->next;
    if (left <= 0)
        return 0;
    int n = (int)(left < max_points ? left : max_points);
    rsi_tensor **pts = calloc((size_t)n, sizeof *pts);
    if (!pts) {
        h->error("out of memory");
        return -1;
    }
    int ok = 1;
    for (int k = 0; k < n && ok; k++)
        ok = (pts[k] = point(s, s->next + k)) != NULL;
    if (ok)
        *batch = n == 1 ? pts[0]
                        : h->tensor_cat((const rsi_tensor *const *)pts, n, 0);
    if (ok && n == 1)
        pts[0] = NULL;
    for (int k = 0; k < n; k++)
        h->tensor_free(pts[k]);
    free(pts);
    if (!*batch)
        return -1;
    s->next += n;
    return 1;
}

static const rsi_path_entry linear_entry = {
    .open = linear_open,
    .num_points = linear_num_points,
    .next = linear_next,
    .close = linear_close,
};

static const rsi_param_spec linear_params[] = {{.name = NULL}};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_PATH,
    .name = "linear",
    .version = "1.0.0",
    .license = "MIT",
    .description = "straight line from the baseline to the image",
    .params = linear_params,
    .entry = &linear_entry,
};
