/* The "zero" baseline: the black image.
 *
 * It works in pixel space, where black is 0; the host normalises it to
 * what the model sees, (0 - mean[c]) / std[c] per channel.
 */
#include "rsicam/plugin.h"

static rsi_tensor *zero_make(const rsi_context *ctx)
{
    return ctx->host->tensor_full_like(ctx->image, 0.0);
}

RSI_DECLARE_BASELINE("zero", "1.0.0", "MIT",
                     "the black image (pixels 0, normalised by the host)", NULL,
                     .make = zero_make, .space = RSI_SPACE_PIXELS);
