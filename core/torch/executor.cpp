// rsicam — which TorchScript graph executor runs the exposed forward.
//
// libtorch ships three ways to run a graph: the profiling executor (its
// default since 1.7: a few instrumented runs, then a graph specialised to
// the shapes seen, with guards and fallbacks), the legacy executor
// (optimises once, shape-agnostic) and no optimisation at all (the graph
// interpreted as written). They compute the same operators; what differs
// is the passes run over the graph and the bookkeeping per run. Which is
// fastest depends on the machine and libtorch's version, so it is a
// setting, measured by bench/ (bench/README.md: "the floor").
//
// "auto", the command's choice, picks per device as models are placed:
// on a CPU "simple", since rsicam freezes and optimises the part before
// the layers itself and the executors' passes found nothing more in the
// rest, while their instrumented first runs cost the one cold pass that a
// command makes (bench/results/2026-12-03-cpu-executors.md); on a GPU
// libtorch's default, whose fusers only the profiling executor drives.
// The choice is global to the process (libtorch's is), so the device of
// the model placed last decides.
#include "shim.h"

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "rsicam/model.h"

namespace
{

struct Executor {
    const char *name;
    bool profiling; // the profiling executor (else the legacy one)
    bool optimize;  // graph optimisation passes at all
};

const Executor executors[] = {
    {"profiling", true, true},
    {"legacy", false, true},
    {"simple", false, false},
};

const Executor *current = nullptr;
bool automatic = false; // "auto": chosen per device by use_default_executor

const Executor *find(const char *name)
{
    for (const Executor &e : executors)
        if (name && std::strcmp(name, e.name) == 0)
            return &e;
    return nullptr;
}

void apply(const Executor &e)
{
    torch::jit::getExecutorMode() = e.profiling;
    torch::jit::getProfilingMode() = e.profiling;
    torch::jit::setGraphExecutorOptimize(e.optimize);
    current = &e;
}

} // namespace

namespace rsicam
{

// RSICAM_EXECUTOR, read once, wins; else under "auto" the device decides;
// else libtorch's default (or an earlier rsi_torch_set_executor) stays.
bool use_default_executor(const c10::Device &device) noexcept
{
    static std::once_flag env_read;
    static bool env_ok = true;
    std::call_once(env_read, [] {
        const char *name = std::getenv("RSICAM_EXECUTOR");
        if (!name || !*name)
            return;
        const Executor *e = find(name);
        env_ok = e != nullptr;
        if (e)
            apply(*e);
    });
    if (!env_ok) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "RSICAM_EXECUTOR: unknown graph executor '%s' "
                            "(profiling, legacy or simple)",
                            std::getenv("RSICAM_EXECUTOR"));
        return false;
    }
    if (automatic && !std::getenv("RSICAM_EXECUTOR"))
        apply(*find(device.is_cuda() ? "profiling" : "simple"));
    return true;
}

} // namespace rsicam

extern "C" {

int rsi_torch_set_executor(const char *name)
{
    if (name && std::strcmp(name, "auto") == 0) {
        automatic = true; // applied as models are placed
        return 0;
    }
    const Executor *e = find(name);
    if (e)
        return rsicam::shim_call<int>(-1, "set the graph executor", [&] {
            apply(*e);
            automatic = false;
            return 0;
        });
    rsi_error_class_set(
        RSI_ERR_USAGE,
        "unknown graph executor '%s' (auto, profiling, legacy or simple)",
        name ? name : "(null)");
    return -1;
}

const char *rsi_torch_executor(void)
{
    if (current)
        return current->name;
    return torch::jit::getExecutorMode() ? "profiling" : "legacy";
}

} // extern "C"
