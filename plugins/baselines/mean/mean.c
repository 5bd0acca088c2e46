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

static rsi_tensor *mean_make(const rsi_context *ctx,
                             const rsi_param_value *params,
                             const rsi_tensor *image)
{
    const rsi_host_api *h = ctx->host;
    (void)params;
    if (h->tensor_ndim(image) != 4) {
        h->error("expected an image [N, C, H, W], got %d dimensions",
                 h->tensor_ndim(image));
        return NULL;
    }
    static const int64_t spatial[2] = {2, 3};
    rsi_tensor *means = h->tensor_mean_dims(image, spatial, 2, 1);
    rsi_tensor *zero = means ? h->tensor_full_like(image, 0.0) : NULL;
    rsi_tensor *out = zero ? h->tensor_add(zero, means) : NULL;
    h->tensor_free(means);
    h->tensor_free(zero);
    return out;
}

static const rsi_baseline_entry mean_entry = {.make = mean_make};

static const rsi_param_spec mean_params[] = {{.name = NULL}};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = "mean",
    .version = "1.0.0",
    .license = "MIT",
    .description = "a constant image of the image's mean colour per channel",
    .params = mean_params,
    .entry = &mean_entry,
};
