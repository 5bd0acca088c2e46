/* A test baseline named after its own file ("many_00042.so" is baseline
 * 'many_00042'), so that thousands of copies of one build are thousands
 * of distinct plugins: the loader must list them all without keeping them
 * mapped. */
#include <dlfcn.h>
#include <string.h>

#include "rsicam/plugin.h"

static char name[64] = "many";

static rsi_tensor *many_make(const rsi_context *ctx)
{
    return ctx->host->tensor_clone(ctx->image);
}

static const rsi_baseline_entry entry = {.make = many_make};

RSI_PLUGIN_EXPORT rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = name,
    .version = "0.1.0",
    .license = "MIT",
    .description = "test baseline named after its file",
    .entry = &entry,
};

/* Runs at dlopen, before the host reads the descriptor. */
__attribute__((constructor)) static void name_from_file(void)
{
    Dl_info info;
    if (!dladdr(&rsicam_plugin, &info) || !info.dli_fname)
        return;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    size_t n = strcspn(base, ".");
    if (n > 0 && n < sizeof name) {
        memcpy(name, base, n);
        name[n] = '\0';
    }
}
