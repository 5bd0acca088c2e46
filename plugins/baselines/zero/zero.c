/* The "zero" baseline: the black image, as the model sees it.
 *
 * Images reach baselines already normalised, so black is not 0 but
 * (0 - mean[c]) / std[c] in each channel c. Each channel is filled with
 * full_like on a slice of the image itself, so that the result has the
 * image's dtype and device (a small CPU tensor broadcast onto a GPU image
 * would fail).
 */
#include "rsicam/plugin.h"

#define MAX_CHANNELS 3

static rsi_tensor *zero_make(const rsi_context *ctx,
                             const rsi_param_value *params,
                             const rsi_tensor *image)
{
    const rsi_host_api *h = ctx->host;
    (void)params;
    if (!ctx->info) {
        h->error("no preprocessing info (mean/std) in the context");
        return NULL;
    }
    if (h->tensor_ndim(image) != 4) {
        h->error("expected an image [N, C, H, W], got %d dimensions",
                 h->tensor_ndim(image));
        return NULL;
    }
    int64_t channels = h->tensor_size(image, 1);
    /* One-channel models (greyscale) use the first mean/std entry. */
    if (channels != 1 && channels != MAX_CHANNELS) {
        h->error("expected 1 or 3 channels, got %lld", (long long)channels);
        return NULL;
    }
    rsi_tensor *parts[MAX_CHANNELS] = {NULL};
    rsi_tensor *out = NULL;
    int c;
    for (c = 0; c < channels; c++) {
        double sd = ctx->info->std[c];
        if (!(sd > 0)) {
            h->error("channel %d: std must be positive, got %g", c, sd);
            goto done;
        }
        rsi_tensor *slice = h->tensor_narrow(image, 1, c, 1);
        if (!slice)
            goto done;
        parts[c] = h->tensor_full_like(slice, (0.0 - ctx->info->mean[c]) / sd);
        h->tensor_free(slice);
        if (!parts[c])
            goto done;
    }
    out = channels == 1 ? parts[0]
                        : h->tensor_cat((const rsi_tensor *const *)parts,
                                        (int)channels, 1);
    if (channels == 1)
        parts[0] = NULL;
done:
    for (c = 0; c < MAX_CHANNELS; c++)
        h->tensor_free(parts[c]);
    return out;
}

static const rsi_baseline_entry zero_entry = {.make = zero_make};

static const rsi_param_spec zero_params[] = {{.name = NULL}};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = "zero",
    .version = "1.0.0",
    .license = "MIT",
    .description = "the black image, normalised: (0 - mean[c]) / std[c]",
    .params = zero_params,
    .entry = &zero_entry,
};
