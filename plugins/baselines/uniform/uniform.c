/* The "uniform" baseline: uniform noise in [0, 1) pixel space.
 *
 * The numbers come from splitmix64 in its own sequence from the seed, the
 * generator this baseline has always used, so that a seed gives the same
 * baseline as before on every machine and for every image (the host's
 * random() draws per image and position instead). It works in pixel
 * space; the host normalises the noise.
 */
#include <stdlib.h>

#include "rsicam/plugin.h"

static const rsi_param_spec uniform_params[] = {
    {.name = "seed",
     .type = RSI_PARAM_INT,
     .default_value = "0",
     .doc = "random seed: the same seed gives the same baseline"},
    {.name = NULL},
};

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush,
 * and any seed, 0 included, is a good one. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static rsi_tensor *uniform_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    int64_t shape[4], n = h->tensor_numel(ctx->image);
    for (int i = 0; i < 4; i++)
        shape[i] = h->tensor_size(ctx->image, i);
    float *px = malloc((size_t)(n > 0 ? n : 1) * sizeof *px);
    if (!px) {
        h->error("out of memory");
        return NULL;
    }
    uint64_t state = (uint64_t)h->param_int(ctx, "seed");
    /* The top 24 bits: every float in [0, 1) with 2^-24 spacing, exact. */
    for (int64_t i = 0; i < n; i++)
        px[i] = (float)(splitmix64(&state) >> 40) * 0x1p-24f;
    rsi_tensor *noise = h->tensor_from_floats(px, shape, 4);
    free(px);
    rsi_tensor *out = noise ? h->tensor_to_like(noise, ctx->image) : NULL;
    h->tensor_free(noise);
    return out;
}

RSI_DECLARE_BASELINE("uniform", "1.0.0", "MIT",
                     "uniform noise in [0, 1) pixel space, normalised (seeded)",
                     uniform_params, .make = uniform_make,
                     .space = RSI_SPACE_PIXELS);
