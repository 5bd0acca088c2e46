/* rsicam — pixels to a model's normalised space and back (pixel_space.h). */
#include "pixel_space.h"

#include "rsicam/error.h"

#define MAX_CHANNELS 3

/* One channel of t mapped to (v - a) / b (to_model) or v * a + b, in
 * float64, back as float32. full_like() makes the constants on t's own
 * device. */
static rsi_tensor *channel(const rsi_tensor *t, int c, double a, double b,
                           int to_model)
{
    rsi_tensor *slice = rsi_tensor_narrow(t, 1, c, 1);
    rsi_tensor *v = slice ? rsi_tensor_to_dtype(slice, RSI_FLOAT64) : NULL;
    rsi_tensor *one = v ? rsi_tensor_full_like(v, 1.0) : NULL;
    rsi_tensor *r = NULL, *out = NULL;
    if (one && to_model) {
        rsi_tensor *shifted = rsi_tensor_axpby(1.0, v, -a, one);
        rsi_tensor *d = shifted ? rsi_tensor_full_like(v, b) : NULL;
        r = d ? rsi_tensor_div(shifted, d) : NULL;
        rsi_tensor_free(shifted);
        rsi_tensor_free(d);
    } else if (one) {
        r = rsi_tensor_axpby(a, v, b, one);
    }
    if (r)
        out = rsi_tensor_to_dtype(r, RSI_FLOAT32);
    rsi_tensor_free(slice);
    rsi_tensor_free(v);
    rsi_tensor_free(one);
    rsi_tensor_free(r);
    return out;
}

static rsi_tensor *per_channel(const rsi_tensor *t, const rsi_model_info *info,
                               int to_model)
{
    if (!info) {
        rsi_error("no preprocessing info (mean/std)");
        return NULL;
    }
    if (rsi_tensor_ndim(t) != 4) {
        rsi_error("expected an image [N, C, H, W], got %d dimensions",
                  rsi_tensor_ndim(t));
        return NULL;
    }
    int64_t channels = rsi_tensor_size(t, 1);
    if (channels != 1 && channels != MAX_CHANNELS) {
        rsi_error("expected 1 or 3 channels, got %lld", (long long)channels);
        return NULL;
    }
    rsi_tensor *parts[MAX_CHANNELS] = {NULL};
    int ok = 1;
    /* a BGR model's channel c is the pixels' channel 2 - c, both ways;
     * mean and std are in the model's order */
    const int flip = info->bgr && channels == MAX_CHANNELS;
    for (int c = 0; c < channels && ok; c++) {
        const int src = flip ? MAX_CHANNELS - 1 - c : c;
        const int stats = to_model ? c : src;
        double mean = info->mean[stats], sd = info->std[stats];
        if (!(sd > 0)) {
            rsi_error("channel %d: std must be positive, got %g", stats, sd);
            ok = 0;
            break;
        }
        parts[c] = to_model ? channel(t, src, mean, sd, 1)
                            : channel(t, src, sd, mean, 0);
        ok = parts[c] != NULL;
    }
    rsi_tensor *out = NULL;
    if (ok && channels == 1) {
        out = parts[0];
        parts[0] = NULL;
    } else if (ok) {
        out = rsi_tensor_cat((const rsi_tensor *const *)parts, MAX_CHANNELS, 1);
    }
    for (int c = 0; c < MAX_CHANNELS; c++)
        rsi_tensor_free(parts[c]);
    return out;
}

rsi_tensor *rsi_pixels_to_model(const rsi_tensor *t, const rsi_model_info *info)
{
    return per_channel(t, info, 1);
}

rsi_tensor *rsi_pixels_from_model(const rsi_tensor *t,
                                  const rsi_model_info *info)
{
    return per_channel(t, info, 0);
}
