/* The "colour" baseline: one colour everywhere, given as pixel values.
 *
 * It works in pixel space (RSI_SPACE_PIXELS): it sees the image as RGB in
 * [0, 1] and answers in the same terms; the host normalises the answer to
 * the model's input space.
 */
#include <rsicam/plugin.h>

static const rsi_param_spec colour_params[] = {
    {.name = "r",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.5",
     .doc = "red, 0 to 1",
     .min = 0,
     .max = 1},
    {.name = "g",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.5",
     .doc = "green, 0 to 1",
     .min = 0,
     .max = 1},
    {.name = "b",
     .type = RSI_PARAM_FLOAT,
     .default_value = "0.5",
     .doc = "blue, 0 to 1",
     .min = 0,
     .max = 1},
    {.name = NULL},
};

static rsi_tensor *colour_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
    static const char *const channel[3] = {"r", "g", "b"};
    rsi_tensor *planes[3];
    for (int c = 0; c < 3; c++) {
        rsi_tensor *slice = h->tensor_narrow(ctx->image, 1, c, 1);
        planes[c] = h->tensor_full_like(slice, h->param_float(ctx, channel[c]));
        h->tensor_free(slice);
    }
    rsi_tensor *out = h->tensor_cat((const rsi_tensor *const *)planes, 3, 1);
    for (int c = 0; c < 3; c++)
        h->tensor_free(planes[c]);
    return out;
}

RSI_DECLARE_BASELINE("colour", "1.0.0", "MIT",
                     "one colour everywhere, r, g, b in [0, 1]", colour_params,
                     .make = colour_make, .space = RSI_SPACE_PIXELS);
