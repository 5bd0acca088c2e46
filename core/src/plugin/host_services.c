/* rsicam — seeded random numbers and interpolation (host_services.h).
 *
 * The random numbers are counter-based: element j of the draw at position
 * alpha is a pure function of (seed, image key, alpha, j), so no state
 * carries from one call to the next. That is what makes them the same on
 * every device and for every batch cut: the host may ask for a path's
 * points in any grouping and order (adaptive steps ask for midpoints
 * later), and each point still gets its own numbers. They are made in
 * host memory, in double precision, and then moved to the image's device.
 */
#include "host_services.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL
#define TWO_PI 6.28318530717958647692

/* The splitmix64 output function (Steele, Lea, Flood 2014): a bijection
 * of 64-bit words that mixes every input bit into every output bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The stream of one point: its numbers are mix64(key + (j + 1) GOLDEN),
 * splitmix64's sequence started at key. */
static uint64_t stream_key(uint64_t seed, uint64_t image, double alpha)
{
    uint64_t bits;
    alpha += 0.0; /* -0.0 is the same position as 0.0 */
    memcpy(&bits, &alpha, sizeof bits);
    return mix64(mix64(mix64(seed + GOLDEN) ^ image) + bits);
}

static uint64_t draw(uint64_t key, int64_t j)
{
    return mix64(key + (uint64_t)(j + 1) * GOLDEN);
}

/* Uniform in [0, 1) with 2^-53 spacing; (0, 1] when open_low. */
static double unit(uint64_t x, int open_low)
{
    return ((double)(x >> 11) + (open_low ? 1.0 : 0.0)) * 0x1p-53;
}

static void fill(float *out, int64_t count, uint64_t key, rsi_random_kind kind)
{
    for (int64_t j = 0; j < count; j++) {
        if (kind == RSI_RANDOM_UNIFORM) {
            /* the top 24 bits: every float in [0, 1) at 2^-24, exact */
            out[j] = (float)(draw(key, j) >> 40) * 0x1p-24f;
            continue;
        }
        /* Box-Muller from draws 2j and 2j + 1 */
        double u1 = unit(draw(key, 2 * j), 1),
               u2 = unit(draw(key, 2 * j + 1), 0);
        out[j] = (float)(sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2));
    }
}

rsi_tensor *rsi_host_random(const rsi_context *ctx, rsi_random_kind kind,
                            uint64_t seed, const double *alpha, int64_t n)
{
    const rsi_tensor *like = ctx ? ctx->image : NULL;
    if (!like || n < 1 || !alpha ||
        (kind != RSI_RANDOM_UNIFORM && kind != RSI_RANDOM_NORMAL)) {
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "random(): needs the context's image, a kind and "
                            "at least one position (got %lld)",
                            (long long)n);
        return NULL;
    }
    const int nd = rsi_tensor_ndim(like);
    if (nd < 1 || nd > RSI_MAX_DIMS)
        return NULL;
    int64_t shape[RSI_MAX_DIMS], per = 1;
    shape[0] = n;
    for (int d = 1; d < nd; d++)
        per *= shape[d] = rsi_tensor_size(like, d);
    float *data = malloc((size_t)(n * per > 0 ? n * per : 1) * sizeof *data);
    if (!data) {
        rsi_error("out of memory for %lld random numbers",
                  (long long)(n * per));
        return NULL;
    }
    for (int64_t k = 0; k < n; k++)
        fill(data + k * per, per, stream_key(seed, ctx->image_key, alpha[k]),
             kind);
    rsi_tensor *host = rsi_tensor_from_floats(data, shape, nd);
    free(data);
    rsi_tensor *out = host ? rsi_tensor_to_like(host, like) : NULL;
    rsi_tensor_free(host);
    return out;
}

rsi_tensor *rsi_host_lerp(const rsi_tensor *a, const rsi_tensor *b,
                          const double *alpha, int64_t n)
{
    rsi_tensor *out = rsi_tensor_lerp(a, b, alpha, n);
    if (!out)
        rsi_error_reclass(RSI_ERR_PLUGIN);
    return out;
}

uint64_t rsi_image_key(const rsi_tensor *x)
{
    const int64_t n = rsi_tensor_numel(x);
    float *data = n > 0 ? malloc((size_t)n * sizeof *data) : NULL;
    if (!data || rsi_tensor_to_floats(x, data, n) < 0) {
        if (!rsi_error_pending())
            rsi_error("out of memory hashing an image");
        free(data);
        return 0;
    }
    /* FNV-1a over the bytes, then mixed */
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < (size_t)n * sizeof *data; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    free(data);
    return mix64(h);
}
