/* The "file" baseline: a baseline someone made elsewhere, read from disk.
 *
 * Two kinds of file, told apart by the name:
 *   *.npy   already in the model's normalised space, [1, C, H, W] or
 *           [C, H, W] matching the image; used as stored (no resizing:
 *           stretching a normalised array would be a guess);
 *   other   an image in any format libvips reads, taken as pixels in
 *           [0, 1], resized bilinearly to the model's input size and
 *           normalised with the model's mean/std.
 */
#include <string.h>

#include "../../common/pixels.h"

static const rsi_param_spec file_params[] = {
    {.name = "file",
     .type = RSI_PARAM_PATH,
     .default_value = NULL,
     .doc = "image (any format) or .npy array in normalised space"},
    {.name = NULL},
};

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npy") == 0;
}

/* The stored array as [1, C, H, W] when its shape fits the image's. */
static rsi_tensor *from_npy(const rsi_host_api *h, const char *path,
                            const rsi_tensor *image)
{
    rsi_tensor *t = px_follow(h, h->image_read(path), image);
    if (!t)
        return NULL;
    int nd = h->tensor_ndim(t);
    int fits = nd == 4 ? px_same_shape(h, t, image) : 0;
    if (nd == 3 && h->tensor_size(image, 0) == 1) {
        fits = 1;
        for (int i = 0; i < 3; i++)
            fits &= h->tensor_size(t, i) == h->tensor_size(image, i + 1);
    }
    if (!fits) {
        char got[96], want[96];
        h->error_class(RSI_ERR_USAGE,
                       "'%s' has shape %s; the image needs %s (or without "
                       "the leading 1)",
                       path, px_shape_text(h, t, got, sizeof got),
                       px_shape_text(h, image, want, sizeof want));
        h->tensor_free(t);
        return NULL;
    }
    if (nd == 4)
        return t;
    int64_t shape[4] = {1, h->tensor_size(t, 0), h->tensor_size(t, 1),
                        h->tensor_size(t, 2)};
    rsi_tensor *out = h->tensor_reshape(t, shape, 4);
    h->tensor_free(t);
    return out;
}

static rsi_tensor *file_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    const rsi_tensor *image = ctx->image;
    const char *path = h->param_string(ctx, "file");
    if (is_npy(path))
        return from_npy(h, path, image);
    rsi_tensor *b = px_read_input(h, path, ctx->info, image);
    if (b && !px_same_shape(h, b, image)) {
        char got[96], want[96];
        h->error_class(RSI_ERR_USAGE, "'%s' reads as %s, but the image is %s",
                       path, px_shape_text(h, b, got, sizeof got),
                       px_shape_text(h, image, want, sizeof want));
        h->tensor_free(b);
        return NULL;
    }
    return b;
}

RSI_DECLARE_BASELINE("file", "1.0.0", "MIT",
                     "a baseline read from an image or a normalised .npy file",
                     file_params, .make = file_make);
