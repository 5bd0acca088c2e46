// rsicam — two of OpenBLAS's start-up choices, corrected (openblas.h).
//
// Debian's libtorch runs Linear layers (and their backward) through
// OpenBLAS, which makes both choices when it is loaded, before rsicam runs,
// from its documented settings; rsicam sets those settings and has
// OpenBLAS take them up again.
//
// Its kernels. Debian's OpenBLAS (0.3.21) picks them by the CPU's model
// number, and for one it does not know it falls back to its Prescott
// kernels (SSE3) whatever the CPU can do: a 2-core Intel Xeon of family 6
// model 207 (AVX-512, AMX) ran VGG19's first classifier layer (64 rows,
// 25088 by 4096, no gradient) in 590-1260 ms on them against 150-440 ms
// on its SkylakeX kernels (OPENBLAS_CORETYPE=SkylakeX, by hand, other work
// beside). (Its sources fall back to Barcelona's, SSE too, for an AMD
// family they do not know.) Where OpenBLAS chose kernels without AVX and the
// CPU (and the kernel's saved state) has AVX-512, AVX2 with FMA or AVX, rsicam
// names the newest of SkylakeX, Haswell and Sandybridge instead, as a user
// would with OPENBLAS_CORETYPE, and OpenBLAS picks again. On a CPU with AVX,
// OpenBLAS chooses kernels without it only where it does not know the CPU
// or where the system does not save AVX's registers, which
// __builtin_cpu_supports asks too: that case is left alone. Other kernels
// sum in another order, so the Linear layers' last bits change, as they
// do from one CPU to the next.
//
// Its idle workers. OpenBLAS's pthread build keeps its workers spinning
// for 2^28 cycles (about 0.1 s) after every call. With as many cores as
// torch's OpenMP threads, the spinning workers take those cores from the
// next convolutions: measured on a 2-core AMD EPYC, ResNet50 `layer4` at
// batch 1 ran 54 ms per point with forwards of 38 ms and every fourth or
// fifth of 100-190 ms; with the workers sleeping after 2^4 cycles, 38-43
// ms (VGG19 `features.36` at batch 2: 237 -> 218 ms). rsicam sets
// OPENBLAS_THREAD_TIMEOUT (log2 of the cycles), has OpenBLAS read its
// settings again and restarts its idle workers; results are unchanged.
#include "openblas.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace
{

// An OpenBLAS function, or NULL. Under Python, which loads extensions
// with RTLD_LOCAL, OpenBLAS is not in the global scope: ask for it by
// name among the libraries already loaded.
void *openblas_symbol(const char *name)
{
    if (void *f = dlsym(RTLD_DEFAULT, name))
        return f;
    static void *lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
    return lib ? dlsym(lib, name) : NULL;
}

// The kernels this CPU can run that OpenBLAS names, newest first, or
// NULL. __builtin_cpu_supports also asks whether the kernel saves the
// registers' state (XCR0), as OpenBLAS's own choice does.
const char *kernels_for_this_cpu(void)
{
#if !defined(__x86_64__)
    return NULL; // OpenBLAS's Prescott fallback is x86-64's alone
#else
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    if (__builtin_cpu_supports("avx"))
        return "Sandybridge";
    return NULL;
#endif
}

// Whether OpenBLAS's kernels of that name run without AVX (its names, as
// openblas_get_corename gives them).
bool without_avx(const char *kernels)
{
    static const char *const old[] = {
        "Unknown", "Katmai", "Coppermine", "Northwood",    "Prescott",
        "Banias",  "Atom",   "Core2",      "Penryn",       "Dunnington",
        "Nehalem", "Athlon", "Opteron",    "Opteron_SSE3", "Barcelona",
        "Nano",    "Bobcat"};
    for (const char *name : old)
        if (strcmp(kernels, name) == 0)
            return true;
    return false;
}

// OpenBLAS's kernels for this CPU where it fell back to older ones (see
// the top of the file). Says under RSICAM_TRACE which kernels it runs.
void choose_kernels(void)
{
    auto corename = reinterpret_cast<const char *(*)(void)>(
        openblas_symbol("openblas_get_corename"));
    auto quit = reinterpret_cast<void (*)(void)>(
        openblas_symbol("gotoblas_dynamic_quit"));
    auto init = reinterpret_cast<void (*)(void)>(
        openblas_symbol("gotoblas_dynamic_init"));
    if (!corename || !quit || !init) // not a DYNAMIC_ARCH OpenBLAS
        return;
    const char *chose = corename();
    const char *better = kernels_for_this_cpu();
    const bool fell_back = chose && better && without_avx(chose);
    if (fell_back && !getenv("OPENBLAS_CORETYPE")) {
        setenv("OPENBLAS_CORETYPE", better, 1);
        quit(); // forgets the choice, so that init makes it again
        init();
        unsetenv("OPENBLAS_CORETYPE");
    }
    if (getenv("RSICAM_TRACE")) {
        const char *now = corename();
        if (fell_back && now && strcmp(now, chose) != 0)
            fprintf(stderr,
                    "rsicam: trace: OpenBLAS runs its %s kernels (it chose "
                    "%s's, not knowing this CPU)\n",
                    now, chose);
        else
            fprintf(stderr, "rsicam: trace: OpenBLAS runs its %s kernels\n",
                    now ? now : "unknown");
    }
}

void quiet_idle_workers(void)
{
    if (getenv("OPENBLAS_THREAD_TIMEOUT"))
        return;
    auto read_env =
        reinterpret_cast<void (*)(void)>(openblas_symbol("openblas_read_env"));
    auto stop_workers = reinterpret_cast<int (*)(void)>(
        openblas_symbol("blas_thread_shutdown_"));
    if (!read_env || !stop_workers)
        return;
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
    read_env();
    // the workers restart on the next call, with the new timeout
    stop_workers();
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
}

} // namespace

void rsicam::settle_openblas(void)
{
    choose_kernels();
    quiet_idle_workers();
}
