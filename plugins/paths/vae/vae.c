/* The "vae" path: a straight line in a VAE's latent space.
 *
 * z0 = E(b), z1 = E(x), z(a) = z0 + a (z1 - z0) for a = i/m, and
 *   correct=true   x(a) = D(z(a)) + (1 - a)(b - D(z0)) + a (x - D(z1))
 *   correct=false  x(a) = D(z(a))
 * all in the classifier's normalised space (decode.c converts). The
 * correction adds back what the VAE cannot reconstruct, fading from the
 * baseline's residual to the image's, so that the path starts at b and
 * ends at x; without it the path runs from D(z0) to D(z1), and the
 * completeness check then compares the scores at those two ends.
 *
 * z(a) is written like the linear path's b + a (x - b): with an identity
 * VAE and the classifier's own preprocessing every point equals the linear
 * path's bit for bit. With correct=true the ends handed out are copies of
 * b and x (the formula gives them only up to rounding); exact_ends=false
 * hands out the formula's own ends instead, to check it.
 */
#include <stdlib.h>

#include "../../common/points.h"
#include "vae.h"

static const rsi_param_spec vae_params[] = {
    {.name = "model",
     .type = RSI_PARAM_PATH,
     .default_value = NULL,
     .doc = "TorchScript VAE with encode(x) -> z and decode(z) -> x"},
    {.name = "correct",
     .type = RSI_PARAM_BOOL,
     .default_value = "true",
     .doc = "add the reconstruction residuals so the path ends at b and x"},
    {.name = "exact_ends",
     .type = RSI_PARAM_BOOL,
     .default_value = "true",
     .doc = "with correct: copies of b and x at the ends, not the formula's"},
    {.name = NULL},
};

typedef struct vae_state {
    const rsi_host_api *h;
    vae_model vae;
    rsi_tensor *b, *x;   /* the ends, classifier space */
    rsi_tensor *z0, *z1; /* their codes */
    rsi_tensor *dz;      /* z1 - z0 */
    rsi_tensor *rb, *rx; /* b - D(z0), x - D(z1); NULL without correct */
    int64_t steps, next;
    int correct, exact_ends;
} vae_state;

static void vae_close(void *state)
{
    vae_state *s = state;
    if (!s)
        return;
    rsi_tensor *ts[] = {s->b, s->x, s->z0, s->z1, s->dz, s->rb, s->rx};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        s->h->tensor_free(ts[i]);
    vae_unload(&s->vae);
    free(s);
}

/* end - D(z): what the VAE misses of end. */
static rsi_tensor *residual(vae_state *s, const rsi_tensor *end,
                            const rsi_tensor *z)
{
    rsi_tensor *d = vae_decode(&s->vae, z, s->x);
    rsi_tensor *r = d ? s->h->tensor_sub(end, d) : NULL;
    s->h->tensor_free(d);
    return r;
}

static int prepare(vae_state *s, const rsi_tensor *baseline,
                   const rsi_tensor *image)
{
    const rsi_host_api *h = s->h;
    if (!(s->b = h->tensor_clone(baseline)) ||
        !(s->x = h->tensor_clone(image)) ||
        !(s->z0 = vae_encode(&s->vae, s->b)) ||
        !(s->z1 = vae_encode(&s->vae, s->x)))
        return -1;
    if (!(s->dz = h->tensor_sub(s->z1, s->z0)))
        return -1;
    if (!s->correct)
        return 0;
    s->rb = residual(s, s->b, s->z0);
    s->rx = s->rb ? residual(s, s->x, s->z1) : NULL;
    return s->rx ? 0 : -1;
}

static void *vae_open(const rsi_context *ctx, const rsi_param_value *params,
                      const rsi_tensor *baseline, const rsi_tensor *image,
                      int64_t steps)
{
    const rsi_host_api *h = ctx->host;
    if (steps < 1) {
        h->error_class(RSI_ERR_USAGE, "steps must be at least 1, got %lld",
                       (long long)steps);
        return NULL;
    }
    if (h->tensor_ndim(image) != 4 || h->tensor_size(image, 0) != 1 ||
        h->tensor_ndim(baseline) != 4 || h->tensor_size(baseline, 0) != 1) {
        h->error("expected one baseline and one image, each [1, C, H, W]");
        return NULL;
    }
    vae_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->error("out of memory");
        return NULL;
    }
    s->h = h;
    s->steps = steps;
    s->correct = h->param(vae_params, params, "correct")->i != 0;
    s->exact_ends = h->param(vae_params, params, "exact_ends")->i != 0;
    const char *path = h->param(vae_params, params, "model")->s;
    if (vae_load(&s->vae, h, path, ctx->info) < 0 ||
        prepare(s, baseline, image) < 0) {
        vae_close(s);
        return NULL;
    }
    return s;
}

static int64_t vae_num_points(void *state)
{
    return ((vae_state *)state)->steps + 1;
}

/* z(a_i) for the batch's points, concatenated. */
static rsi_tensor *codes(vae_state *s, int64_t first, int64_t n)
{
    rsi_tensor **zs = calloc((size_t)n, sizeof *zs);
    if (!zs) {
        s->h->error("out of memory");
        return NULL;
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t i = first + k;
        double a = (double)i / (double)s->steps;
        /* z1 itself at the end: z0 + 1 * dz may differ in the last bit. */
        zs[k] = i == s->steps ? s->h->tensor_clone(s->z1)
                              : s->h->tensor_axpby(1.0, s->z0, a, s->dz);
        if (!zs[k])
            break;
    }
    rsi_tensor *z = pt_cat_free(s->h, zs, n);
    free(zs);
    return z;
}

/* Point i from its decoded row d (borrowed). */
static rsi_tensor *point(vae_state *s, int64_t i, const rsi_tensor *d)
{
    const rsi_host_api *h = s->h;
    if (!s->correct)
        return h->tensor_clone(d);
    if (s->exact_ends && (i == 0 || i == s->steps))
        return h->tensor_clone(i == 0 ? s->b : s->x);
    double a = (double)i / (double)s->steps;
    rsi_tensor *fix = h->tensor_axpby(1.0 - a, s->rb, a, s->rx);
    rsi_tensor *p = fix ? h->tensor_add(d, fix) : NULL;
    h->tensor_free(fix);
    return p;
}

static int vae_next(void *state, int64_t max_points, rsi_tensor **batch)
{
    vae_state *s = state;
    const rsi_host_api *h = s->h;
    *batch = NULL;
    int64_t n = pt_batch_size(h, s->steps + 1, s->next, max_points);
    if (n <= 0)
        return (int)n;
    rsi_tensor *z = codes(s, s->next, n);
    rsi_tensor *d = z ? vae_decode(&s->vae, z, s->x) : NULL;
    h->tensor_free(z);
    rsi_tensor **pts = d ? calloc((size_t)n, sizeof *pts) : NULL;
    for (int64_t k = 0; pts && k < n; k++) {
        rsi_tensor *row = h->tensor_narrow(d, 0, k, 1);
        pts[k] = row ? point(s, s->next + k, row) : NULL;
        h->tensor_free(row);
        if (!pts[k])
            break;
    }
    if (d && !pts)
        h->error("out of memory");
    *batch = pts ? pt_cat_free(h, pts, n) : NULL;
    free(pts);
    h->tensor_free(d);
    if (!*batch)
        return -1;
    s->next += n;
    return 1;
}

static const rsi_path_entry vae_entry = {
    .open = vae_open,
    .num_points = vae_num_points,
    .next = vae_next,
    .close = vae_close,
};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_PATH,
    .name = "vae",
    .version = "1.0.0",
    .license = "MIT",
    .description = "a straight line in a VAE's latent space, decoded "
                   "(corrected to end at b and x)",
    .params = vae_params,
    .entry = &vae_entry,
};
