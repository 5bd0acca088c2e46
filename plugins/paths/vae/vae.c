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
 * z(a) is the host's tensor_lerp, as the linear path's b + a (x - b): with
 * an identity VAE and the classifier's own preprocessing every point
 * equals the linear path's bit for bit. With correct=true the host hands
 * out copies of b and x at the ends (the formula gives them only up to
 * rounding); exact_ends=false, or correct=false, makes the ends the
 * path's own (vae_own_ends), to check the formula. The codes and the
 * residuals are made once per image (vae_open); each batch of points is
 * then one decoder call.
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
    vae_model vae;
    rsi_tensor *z0, *z1; /* the codes of the baseline and the image */
    rsi_tensor *rb, *rx; /* b - D(z0), x - D(z1); NULL without correct */
} vae_state;

static void vae_close(const rsi_context *ctx, void *state)
{
    vae_state *s = state;
    if (!s)
        return;
    rsi_tensor *ts[] = {s->z0, s->z1, s->rb, s->rx};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        ctx->host->tensor_free(ts[i]);
    vae_unload(&s->vae);
    free(s);
}

/* end - D(z): what the VAE misses of end. */
static rsi_tensor *residual(const rsi_context *ctx, vae_state *s,
                            const rsi_tensor *end, const rsi_tensor *z)
{
    rsi_tensor *d = vae_decode(&s->vae, z, ctx->image);
    rsi_tensor *r = d ? ctx->host->tensor_sub(end, d) : NULL;
    ctx->host->tensor_free(d);
    return r;
}

/* Encodes the ends once per image (and decodes them for the residuals). */
static int vae_open(const rsi_context *ctx, void **state)
{
    const rsi_host_api *h = ctx->host;
    vae_state *s = calloc(1, sizeof *s);
    if (!(*state = s)) {
        h->error("out of memory");
        return -1;
    }
    if (vae_load(&s->vae, h, h->param_string(ctx, "model"), ctx->info) < 0 ||
        !(s->z0 = vae_encode(&s->vae, ctx->baseline)) ||
        !(s->z1 = vae_encode(&s->vae, ctx->image)))
        return -1;
    if (!h->param_bool(ctx, "correct"))
        return 0;
    s->rb = residual(ctx, s, ctx->baseline, s->z0);
    s->rx = s->rb ? residual(ctx, s, ctx->image, s->z1) : NULL;
    return s->rx ? 0 : -1;
}

/* Without the correction the path runs from D(z0) to D(z1); exact_ends
 * off asks for the formula's own ends, to check it. */
static int vae_own_ends(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    return !h->param_bool(ctx, "correct") || !h->param_bool(ctx, "exact_ends");
}

/* Row k of the decoded batch d, corrected: d_k + (1 - a) rb + a rx. */
static rsi_tensor *corrected(const rsi_context *ctx, const vae_state *s,
                             const rsi_tensor *d, int64_t k, double a)
{
    const rsi_host_api *h = ctx->host;
    rsi_tensor *row = h->tensor_narrow(d, 0, k, 1);
    rsi_tensor *fix = row ? h->tensor_axpby(1.0 - a, s->rb, a, s->rx) : NULL;
    rsi_tensor *p = fix ? h->tensor_add(row, fix) : NULL;
    h->tensor_free(row);
    h->tensor_free(fix);
    return p;
}

typedef struct vae_batch {
    const rsi_context *ctx;
    const rsi_tensor *decoded;
    const double *alpha;
} vae_batch;

static rsi_tensor *corrected_row(void *batch, int64_t k)
{
    const vae_batch *b = batch;
    return corrected(b->ctx, b->ctx->state, b->decoded, k, b->alpha[k]);
}

/* One decoder call for the batch: z(a) = z0 + a (z1 - z0) for every a. */
static rsi_tensor *vae_points(const rsi_context *ctx, const double *alpha,
                              int64_t n)
{
    const rsi_host_api *h = ctx->host;
    const vae_state *s = ctx->state;
    rsi_tensor *z = h->tensor_lerp(s->z0, s->z1, alpha, n);
    rsi_tensor *d = z ? vae_decode(&s->vae, z, ctx->image) : NULL;
    h->tensor_free(z);
    if (!d || !s->rb)
        return d;
    vae_batch b = {ctx, d, alpha};
    rsi_tensor *out = pt_rows(h, corrected_row, &b, 0, n);
    h->tensor_free(d);
    return out;
}

RSI_DECLARE_PATH("vae", "1.0.0", "MIT",
                 "a straight line in a VAE's latent space, decoded "
                 "(corrected to end at b and x)",
                 vae_params, .points = vae_points, .open = vae_open,
                 .close = vae_close, .own_ends = vae_own_ends);
