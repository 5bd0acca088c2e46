/* Pixel-space helpers (pixels.h). */
#include "pixels.h"

#include <stdio.h>

#define MAX_CHANNELS 3

/* The host's own conversions, for any preprocessing (a VAE's, say). */
rsi_tensor *px_normalise(const rsi_host_api *h, const rsi_tensor *t,
                         const rsi_model_info *info)
{
    const rsi_context c = {.host = h, .info = info};
    return h->to_model_space(&c, t);
}

rsi_tensor *px_unnormalise(const rsi_host_api *h, const rsi_tensor *t,
                           const rsi_model_info *info)
{
    const rsi_context c = {.host = h, .info = info};
    return h->to_pixel_space(&c, t);
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
    if (!t)
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
