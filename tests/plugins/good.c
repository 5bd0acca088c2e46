/* Well-formed test baselines (built several ways, see CMakeLists.txt).
 *
 * By default it fills the image's shape with its 'value' parameter and
 * declares one parameter of every type, so that the listing and parsing
 * see them all. GOOD_NAME and GOOD_VERSION rename it (for duplicates);
 * GOOD_NESTED makes "good:value=2" through the host table, as a composite
 * baseline would; GOOD_SELFISH makes itself through the host table, which
 * the host must stop instead of recursing forever.
 */
#include "rsicam/plugin.h"

#ifndef GOOD_NAME
#define GOOD_NAME "good"
#endif
#ifndef GOOD_VERSION
#define GOOD_VERSION "0.1.0"
#endif

static int init_calls;

static int good_init(const rsi_context *ctx)
{
    init_calls++;
    /* A host older than this header would lack members we use. */
    return ctx->host->size >= sizeof(rsi_host_api) ? 0 : -1;
}

static const rsi_param_spec good_params[] = {
    {"value", RSI_PARAM_FLOAT, "0.5", "the fill value", -10, 10, 0},
    {"count", RSI_PARAM_INT, "3", "an integer", 0, 0, 0},
    {"flag", RSI_PARAM_BOOL, "off", "a switch", 0, 0, 0},
    {"label", RSI_PARAM_STRING, "hello", "some text", 0, 0, 0},
    {"file", RSI_PARAM_PATH, NULL, "a file that must exist", 0, 0, 0},
    {"extra", RSI_PARAM_FLOAT, NULL, "optional, no default", 0, 0, 1},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static rsi_tensor *good_make(const rsi_context *ctx)
{
    const rsi_host_api *h = ctx->host;
#if defined(GOOD_NESTED)
    return h->make_baseline(ctx, "good:value=2,file=/");
#elif defined(GOOD_SELFISH)
    return h->make_baseline(ctx, "selfish:file=/");
#else
    /* label=undeclared: asks for a parameter it never declared, and goes
     * on as if nothing happened; the host must fail the call anyway. */
    if (h->param_set(ctx, "label") && h->param_string(ctx, "label")[0] == 'u')
        return h->tensor_full_like(ctx->image, h->param_float(ctx, "valeu"));
    double v = h->param_float(ctx, "value");
    if (h->param_set(ctx, "extra"))
        v += h->param_float(ctx, "extra");
    return h->tensor_full_like(ctx->image, v);
#endif
}

static const rsi_baseline_entry good_entry = {.make = good_make};

/* Written out by hand (not RSI_DECLARE_BASELINE) for its init. */
RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = GOOD_NAME,
    .version = GOOD_VERSION,
    .license = "MIT",
    .description = "test baseline: a constant image",
    .params = good_params,
    .init = good_init,
    .entry = &good_entry,
};
