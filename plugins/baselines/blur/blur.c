/* The "blur" baseline: the image under a Gaussian blur of sigma pixels.
 *
 * The blur runs on the normalised image. Normalisation is an affine map per
 * channel and the blur kernel sums to one, so blurring before or after it
 * gives the same result. The default, 16 pixels, removes detail at the
 * scale of objects in a 224x224 input while keeping the colour layout;
 * small inputs want a smaller sigma (the kernel is cut at the image size).
 */
#include "rsicam/plugin.h"

static const rsi_param_spec blur_params[] = {
    {.name = "sigma",
     .type = RSI_PARAM_FLOAT,
     .default_value = "16",
     .doc = "Gaussian standard deviation in pixels (> 0)"},
    {.name = NULL},
};

static rsi_tensor *blur_make(const rsi_context *ctx,
                             const rsi_param_value *params,
                             const rsi_tensor *image)
{
    const rsi_host_api *h = ctx->host;
    double sigma = h->param(blur_params, params, "sigma")->f;
    /* Zero would be a copy of the image: a path of length zero. */
    if (!(sigma > 0) || sigma > 1e6) {
        h->error_class(RSI_ERR_USAGE,
                       "sigma must be a positive number of pixels, got %g",
                       sigma);
        return NULL;
    }
    return h->tensor_gaussian_blur(image, sigma);
}

static const rsi_baseline_entry blur_entry = {.make = blur_make};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = "blur",
    .version = "1.0.0",
    .license = "MIT",
    .description = "the image under a Gaussian blur of sigma pixels",
    .params = blur_params,
    .entry = &blur_entry,
};
