/* Pixel-space helpers (pixels.h). */
#include "pixels.h"

#include <stdio.h>

#define MAX_CHANNELS 3

/* One channel of t mapped to (v - sub) / div (normalise) or v * mul + add
 * (un-normalise), in float64, back as float32. full_like() makes the
 * constants on t's own device. */
static rsi_tensor *channel(const rsi_host_api *h, const rsi_tensor *t, int c,
                           double a, double b, int normalise)
{
    rsi_tensor *slice = h->tensor_narrow(t, 1, c, 1);
    rsi_tensor *v = slice ? h->tensor_to_dtype(slice, RSI_FLOAT64) : NULL;
    rsi_tensor *one = v ? h->tensor_full_like(v, 1.0) : NULL;
    rsi_tensor *r = NULL, *out = NULL;
    if (one && normalise) {
        rsi_tensor *shifted = h->tensor_axpby(1.0, v, -a, one);
        rsi_tensor *d = shifted ? h->tensor_full_like(v, b) : NULL;
        r = d ? h->tensor_div(shifted, d) : NULL;
        h->tensor_free(shifted);
        h->tensor_free(d);
    } else if (one) {
        r = h->tensor_axpby(a, v, b, one);
    }
    if (r)
        out = h->tensor_to_dtype(r, RSI_FLOAT32);
    h->tensor_free(slice);
    h->tensor_free(v);
    h->tensor_free(one);
    h->tensor_free(r);
    return out;
}

static rsi_tensor *per_channel(const rsi_host_api *h, const rsi_tensor *t,
                               const rsi_model_info *info, int normalise)
{
    if (!info) {
        h->error("no preprocessing info (mean/std) in the context");
        return NULL;
    }
    if (h->tensor_ndim(t) != 4) {
        h->error("expected an image [N, C, H, W], got %d dimensions",
                 h->tensor_ndim(t));
        return NULL;
    }
    int64_t channels = h->tensor_size(t, 1);
    if (channels != 1 && channels != MAX_CHANNELS) {
        h->error("expected 1 or 3 channels, got %lld", (long long)channels);
        return NULL;
    }
    rsi_tensor *parts[MAX_CHANNELS] = {NULL};
    int ok = 1;
    /* a BGR model's channel c is the pixels' channel 2 - c, both ways */
    const int flip = info->bgr && channels == MAX_CHANNELS;
    for (int c = 0; c < channels && ok; c++) {
        const int src = flip ? MAX_CHANNELS - 1 - c : c;
        const int stats = normalise ? c : src; /* mean, std: model order */
        double mean = info->mean[stats], sd = info->std[stats];
        if (!(sd > 0)) {
            h->error("channel %d: std must be positive, got %g", stats, sd);
            ok = 0;
            break;
        }
        parts[c] = normalise ? channel(h, t, src, mean, sd, 1)
                             : channel(h, t, src, sd, mean, 0);
        ok = parts[c] != NULL;
    }
    rsi_tensor *out = NULL;
    if (ok && channels == 1) {
        out = parts[0];
        parts[0] = NULL;
    } else if (ok) {
        out = h->tensor_cat((const rsi_tensor *const *)parts, MAX_CHANNELS, 1);
    }
    for (int c = 0; c < MAX_CHANNELS; c++)
        h->tensor_free(parts[c]);
    return out;
}

rsi_tensor *px_normalise(const rsi_host_api *h, const rsi_tensor *t,
                         const rsi_model_info *info)
{
    return per_channel(h, t, info, 1);
}

rsi_tensor *px_unnormalise(const rsi_host_api *h, const rsi_tensor *t,
                           const rsi_model_info *info)
{
    return per_channel(h, t, info, 0);
}

static int same_preprocessing(const rsi_model_info *a, const rsi_model_info *b)
{
    if (a->input_h != b->input_h || a->input_w != b->input_w ||
        a->bgr != b->bgr)
        return 0;
    for (int c = 0; c < MAX_CHANNELS; c++)
        if (a->mean[c] != b->mean[c] || a->std[c] != b->std[c])
            return 0;
    return 1;
}

/* Resizes to info's input size unless t already has it. */
static rsi_tensor *fit(const rsi_host_api *h, const rsi_tensor *t,
                       const rsi_model_info *info)
{
    if (h->tensor_size(t, 2) == info->input_h &&
        h->tensor_size(t, 3) == info->input_w)
        return h->tensor_clone(t);
    return h->tensor_resize_bilinear(t, info->input_h, info->input_w);
}

rsi_tensor *px_convert(const rsi_host_api *h, const rsi_tensor *t,
                       const rsi_model_info *from, const rsi_model_info *to)
{
    if (same_preprocessing(from, to))
        return h->tensor_clone(t);
    rsi_tensor *pixels = px_unnormalise(h, t, from);
    rsi_tensor *sized = pixels ? fit(h, pixels, to) : NULL;
    rsi_tensor *out = sized ? px_normalise(h, sized, to) : NULL;
    h->tensor_free(pixels);
    h->tensor_free(sized);
    return out;
}

rsi_tensor *px_follow(const rsi_host_api *h, rsi_tensor *t,
                      const rsi_tensor *like)
{
    if (!t || !RSI_HOST_HAS(h, tensor_to_like))
        return t;
    rsi_tensor *moved = h->tensor_to_like(t, like);
    h->tensor_free(t);
    return moved;
}

rsi_tensor *px_read_input(const rsi_host_api *h, const char *path,
                          const rsi_model_info *info, const rsi_tensor *like)
{
    rsi_tensor *img = px_follow(h, h->image_read(path), like);
    if (!img)
        return NULL;
    rsi_tensor *sized = NULL, *out = NULL;
    if (h->tensor_ndim(img) != 4 || h->tensor_size(img, 0) != 1) {
        char shape[96];
        h->error("'%s': expected one image [1, C, H, W], got %s", path,
                 px_shape_text(h, img, shape, sizeof shape));
    } else {
        sized = fit(h, img, info);
        out = sized ? px_normalise(h, sized, info) : NULL;
    }
    h->tensor_free(img);
    h->tensor_free(sized);
    return out;
}

int px_same_shape(const rsi_host_api *h, const rsi_tensor *a,
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

const char *px_shape_text(const rsi_host_api *h, const rsi_tensor *t, char *buf,
                          size_t n)
{
    size_t used = 0;
    int nd = h->tensor_ndim(t);
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "",
                                 (long long)h->tensor_size(t, i));
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}
