/* The "quadratic" path, an out-of-tree rsicam plugin in plain C:
 *
 *     x_i = b + (i/m)^p (x - b),   i = 0..m,   p = exponent (default 2)
 *
 * A non-uniform path: with p > 1 its points crowd near the baseline, where
 * the model's output often changes fastest, and the Riemann-Stieltjes sum
 * spends its steps there. Any p gives a valid path because the sum weighs
 * each gradient by the change of the activations between neighbouring
 * points, not by a fixed step size; only the end points matter for
 * completeness, and they are exact copies of b and x.
 *
 * Build against an installed rsicam: `make` (see Makefile and README.md).
 */
#include <math.h>
#include <stdlib.h>

#include <rsicam/plugin.h>

typedef struct quad_state {
    const rsi_host_api *h; /* the host table: valid for the whole run */
    rsi_tensor *b, *x, *d; /* our own copies: arguments are borrowed */
    double p;
    int64_t steps; /* m: points are 0..m */
    int64_t next;  /* the next point to hand out */
} quad_state;

/* Parameters, in declaration order; the host parses and range-checks the
 * user's "--path quadratic:exponent=3" before open() is called. */
static const rsi_param_spec quad_params[] = {
    {.name = "exponent",
     .type = RSI_PARAM_FLOAT,
     .default_value = "2",
     .doc = "p in x_i = b + (i/m)^p (x - b); 1 is the linear path",
     .min = 0.1,
     .max = 10},
    {.name = NULL}, /* the end */
};

static void quad_close(void *state)
{
    quad_state *s = state;
    if (!s)
        return;
    s->h->tensor_free(s->b); /* NULL is fine */
    s->h->tensor_free(s->x);
    s->h->tensor_free(s->d);
    free(s);
}

static void *quad_open(const rsi_context *ctx, const rsi_param_value *params,
                       const rsi_tensor *baseline, const rsi_tensor *image,
                       int64_t steps)
{
    const rsi_host_api *h = ctx->host;
    if (steps < 1) {
        /* A usage error: the user asked for it (exit code 2). */
        h->error_class(RSI_ERR_USAGE, "steps must be at least 1, got %lld",
                       (long long)steps);
        return NULL;
    }
    if (h->tensor_numel(baseline) != h->tensor_numel(image)) {
        h->error("the baseline's shape differs from the image's");
        return NULL;
    }
    quad_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->error("out of memory");
        return NULL;
    }
    s->h = h;
    s->steps = steps;
    /* By name rather than params[0]: robust if parameters are added. */
    s->p = h->param(quad_params, params, "exponent")->f;
    s->b = h->tensor_clone(baseline);
    s->x = h->tensor_clone(image);
    s->d = s->b && s->x ? h->tensor_sub(s->x, s->b) : NULL;
    if (!s->d) { /* the failing call reported why */
        quad_close(s);
        return NULL;
    }
    return s;
}

static int64_t quad_num_points(void *state)
{
    return ((quad_state *)state)->steps + 1;
}

static rsi_tensor *point(quad_state *s, int64_t i)
{
    /* Exact end points: b + 1 * d could differ from x in the last bit. */
    if (i == 0)
        return s->h->tensor_clone(s->b);
    if (i == s->steps)
        return s->h->tensor_clone(s->x);
    double t = pow((double)i / (double)s->steps, s->p);
    return s->h->tensor_axpby(1.0, s->b, t, s->d);
}

/* Up to max_points points as one [B, C, H, W] batch, in path order. */
static int quad_next(void *state, int64_t max_points, rsi_tensor **batch)
{
    quad_state *s = state;
    const rsi_host_api *h = s->h;
    *batch = NULL;
    if (max_points < 1) {
        h->error("asked for batches of %lld points", (long long)max_points);
        return -1;
    }
    int64_t left = s->steps + 1 - s->next;
    if (left <= 0)
        return 0; /* the end of the path */
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
        *batch = h->tensor_cat((const rsi_tensor *const *)pts, n, 0);
    for (int k = 0; k < n; k++)
        h->tensor_free(pts[k]); /* cat made a new tensor: ours to free */
    free(pts);
    if (!*batch)
        return -1;
    s->next += n;
    return 1;
}

static const rsi_path_entry quad_entry = {
    .open = quad_open,
    .num_points = quad_num_points,
    .next = quad_next,
    .close = quad_close,
};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_PATH,
    .name = "quadratic",
    .version = "1.0.0",
    .license = "MIT",
    .description = "x_i = b + (i/m)^p (x - b): points crowd near the baseline",
    .params = quad_params,
    .entry = &quad_entry,
};
