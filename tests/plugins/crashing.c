/* Test baselines that crash the process that loads or calls them, one
 * way each (CRASH_* picks which; see CMakeLists.txt): in a constructor
 * (abort), in init (SIGSEGV), in the make entry point (SIGSEGV); or that
 * never finish loading (HANG_CONSTRUCTOR: a constructor that waits for
 * ever). The loader must survive the first two and the last with a
 * warning naming the file, and the third must end the run with one line
 * naming the plugin. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "rsicam/plugin.h"

#ifdef CRASH_CONSTRUCTOR
__attribute__((constructor)) static void crash_on_load(void)
{
    abort();
}
#endif

#ifdef HANG_CONSTRUCTOR
__attribute__((constructor)) static void wait_on_load(void)
{
    for (;;)
        pause();
}
#endif

#ifdef CRASH_INIT
static int crash_init(const rsi_context *ctx)
{
    (void)ctx;
    raise(SIGSEGV);
    return 0;
}
#else
#define crash_init NULL
#endif

static rsi_tensor *crash_make(const rsi_context *ctx)
{
#ifdef CRASH_MAKE
    raise(SIGSEGV);
#endif
    return ctx->host->tensor_clone(ctx->image);
}

static const rsi_baseline_entry entry = {.make = crash_make};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_BASELINE,
    .name = CRASH_NAME,
    .version = "0.1.0",
    .license = "MIT",
    .description = "test baseline that crashes",
    .init = crash_init,
    .entry = &entry,
};
