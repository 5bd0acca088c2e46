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

static int good_init(const rsi_host_api *host)
{
    init_calls++;
    /* A host older than this header would lack members we use. */
    return host->size >= sizeof(rsi_host_api) ? 0 : -1;
}

static const rsi_param_spec good_params[] = {
    {"value", RSI_PARAM_FLOAT, "0.5", "the fill value", -10, 10},
    {"count", RSI_PARAM_INT, "3", "an integer", 0, 0},
    {"flag", RSI_PARAM_BOOL, "off", "a switch", 0, 0},
    {"label", RSI_PARAM_STRING, "hello", "some text", 0, 0},
    {"file", RSI_PARAM_PATH, NULL, "a file that must exist", 0, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

static rsi_tensor *good_make(const rsi_context *ctx,
                             const rsi_param_value *params,
                             const rsi_tensor *image)
{
    const rsi_host_api *h = ctx->host;
#if defined(GOOD_NESTED)
    (void)params;
    return h->make_baseline(ctx, "good:value=2,file=/", image);
#elif defined(GOOD_SELFISH)
    (void)params;
    return h->make_baseline(ctx, "selfish:file=/", image);
#else
    const rsi_param_value *v = h->param(good_params, params, "value");
    if (!v)
        return NULL;
    if (h->param(good_params, params, "undeclared")) {
        h->error("param() found an undeclared parameter");
        return NULL;
    }
    return h->tensor_full_like(image, v->f);
#endif
}

static const rsi_baseline_entry good_entry = {.make = good_make};

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
