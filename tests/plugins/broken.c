/* Test plugins that are each wrong in one way (BROKEN_* picks which; see
 * CMakeLists.txt). The loader must skip every one with a warning that
 * names it, and must not crash. Everything not under test is valid, so
 * that the one fault is the only reason for the skip. */
#include "rsicam/plugin.h"

#ifdef BROKEN_UNRESOLVED
/* Defined nowhere: dlopen(RTLD_NOW) must fail. */
extern int rsicam_test_symbol_defined_nowhere(void);
int rsicam_test_use_it(void);
RSI_PLUGIN_EXPORT int rsicam_test_use_it(void)
{
    return rsicam_test_symbol_defined_nowhere();
}
#endif

#ifdef BROKEN_INIT
static int init_fn(const rsi_context *ctx)
{
    ctx->host->error("the frobnicator is missing");
    return -1;
}
#else
#define init_fn NULL
#endif

#ifdef BROKEN_INCOMPLETE
/* A sequential path plugin without next(). */
static int64_t num_points(const rsi_context *ctx)
{
    (void)ctx;
    return 0;
}
static const rsi_path_entry entry = {.num_points = num_points};
#define KIND RSI_PLUGIN_PATH
#elif !defined(BROKEN_NULL_ENTRY)
static rsi_tensor *make(const rsi_context *ctx)
{
    return ctx->host->tensor_clone(ctx->image);
}
static const rsi_baseline_entry entry = {.make = make};
#endif

#ifndef KIND
#ifdef BROKEN_KIND
#define KIND ((rsi_plugin_kind)9)
#else
#define KIND RSI_PLUGIN_BASELINE
#endif
#endif

static const rsi_param_spec params[] = {
#ifdef BROKEN_PARAMS
    {"sigma", RSI_PARAM_FLOAT, "abc", "a default that is not a number", 0, 0,
     0},
#endif
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

#ifdef BROKEN_NO_SYMBOL
#define SYMBOL rsicam_plugin_v2 /* not the name the host looks for */
#else
#define SYMBOL rsicam_plugin
#endif

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor SYMBOL = {
#if defined(BROKEN_MAJOR)
    .abi_major = RSI_ABI_MAJOR + 1,
#else
    .abi_major = RSI_ABI_MAJOR,
#endif
#if defined(BROKEN_MINOR)
    .abi_minor = RSI_ABI_MINOR + 1,
#else
    .abi_minor = RSI_ABI_MINOR,
#endif
    .kind = KIND,
#if defined(BROKEN_NULL_NAME)
    .name = NULL,
#else
    .name = BROKEN_NAME,
#endif
    .version = "0.1.0",
    .license = "MIT",
    .description = "a deliberately broken test plugin",
    .params = params,
    .init = init_fn,
#if defined(BROKEN_NULL_ENTRY)
    .entry = NULL,
#else
    .entry = &entry,
#endif
};
