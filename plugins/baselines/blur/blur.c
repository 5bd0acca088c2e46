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

static rsi_tensor *blur_make(const rsi_context *ctx)
{
    const double sigma = ctx->host->param_float(ctx, "sigma");
    /* Zero would be a copy of the image: a path of length zero. */
    if (sigma > 0 && sigma <= 1e6)
        return ctx->host->tensor_gaussian_blur(ctx->image, sigma);
    ctx->host->error_class(RSI_ERR_USAGE, "sigma must be a positive number");
    return NULL;
}

RSI_DECLARE_BASELINE("blur", "1.0.0", "MIT",
                     "the image under a Gaussian blur of sigma pixels",
                     blur_params, .make = blur_make);
