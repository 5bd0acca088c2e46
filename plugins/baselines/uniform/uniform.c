/* The "uniform" baseline: uniform noise in [0, 1) pixel space, normalised.
 *
 * The numbers come from splitmix64 here rather than from libtorch, so that
 * a seed gives the same baseline on every machine, thread count and
 * libtorch version. The noise is made in host memory and then moved to the
 * image's device.
 */
#include <stdlib.h>

#include "../../common/pixels.h"

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

static rsi_tensor *uniform_make(const rsi_context *ctx,
                                const rsi_param_value *params,
                                const rsi_tensor *image)
{
    const rsi_host_api *h = ctx->host;
    if (h->tensor_ndim(image) != 4) {
        h->error("expected an image [N, C, H, W], got %d dimensions",
                 h->tensor_ndim(image));
        return NULL;
    }
    int64_t shape[4], n = h->tensor_numel(image);
    for (int i = 0; i < 4; i++)
        shape[i] = h->tensor_size(image, i);
    float *px = malloc((size_t)(n > 0 ? n : 1) * sizeof *px);
    if (!px) {
        h->error("out of memory");
        return NULL;
    }
    uint64_t state = (uint64_t)h->param(uniform_params, params, "seed")->i;
    /* The top 24 bits: every float in [0, 1) with 2^-24 spacing, exact. */
    for (int64_t i = 0; i < n; i++)
        px[i] = (float)(splitmix64(&state) >> 40) * 0x1p-24f;
    rsi_tensor *noise =
        px_follow(h, h->tensor_from_floats(px, shape, 4), image);
    free(px);
    rsi_tensor *out = noise ? px_normalise(h, noise, ctx->info) : NULL;
    h->tensor_free(noise);
    return out;
}

static const rsi_baseline_entry uniform_entry = {.make = uniform_make};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = "uniform",
    .version = "1.0.0",
    .license = "MIT",
    .description = "uniform noise in [0, 1) pixel space, normalised (seeded)",
    .params = uniform_params,
    .entry = &uniform_entry,
};
