/* The "mean" baseline: every pixel set to the image's mean colour.
 *
 * Each channel is filled with that channel's spatial mean of the
 * normalised image. The mean of a normalised channel is the normalised mean
 * of the pixel channel (normalisation is affine), so this is the mean
 * colour as the model sees it. Adding the [N, C, 1, 1] means to a zero
 * tensor of the image's shape broadcasts them over H and W on the image's
 * own device.
 */
#include "rsicam/plugin.h"

static rsi_tensor *mean_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    static const int64_t spatial[2] = {2, 3};
    rsi_tensor *means = h->tensor_mean_dims(ctx->image, spatial, 2, 1);
    rsi_tensor *zero = means ? h->tensor_full_like(ctx->image, 0.0) : NULL;
    rsi_tensor *out = zero ? h->tensor_add(zero, means) : NULL;
    h->tensor_free(means);
    h->tensor_free(zero);
    return out;
}

RSI_DECLARE_BASELINE("mean", "1.0.0", "MIT",
                     "a constant image of the image's mean colour per channel",
                     NULL, .make = mean_make);
