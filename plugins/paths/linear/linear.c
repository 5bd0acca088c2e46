/* The "linear" path: x(alpha) = b + alpha (x - b).
 *
 * tensor_lerp computes each point as b + alpha (x - b) in the tensors'
 * float32; the host hands out the ends itself, as exact copies of the
 * baseline and the image, so the Riemann-Stieltjes sum ends exactly at
 * the image whatever rounding does in between.
 */
#include "rsicam/plugin.h"

static rsi_tensor *linear_points(const rsi_context *ctx, const double *alpha,
                                 int64_t n)
{
    return ctx->host->tensor_lerp(ctx->baseline, ctx->image, alpha, n);
}

RSI_DECLARE_PATH("linear", "1.0.0", "MIT",
                 "straight line from the baseline to the image", NULL,
                 .points = linear_points);
