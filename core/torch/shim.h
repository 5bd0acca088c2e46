// rsicam — internals of the libtorch shim (C++ only; never included from C).
//
// Every C entry point runs its body through shim_call(), which catches every
// exception — c10::Error, std::exception and anything else — and turns it
// into an rsicam error message, so no exception ever crosses into C.
#ifndef RSICAM_TORCH_SHIM_H
#define RSICAM_TORCH_SHIM_H

#include <torch/torch.h>
#include <torch/version.h>

#include <string>
#include <utility>
#include <vector>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "rsicam/tensor.h"

// Whether the libtorch built against is at least major.minor: its C++ API
// changed in places between 1.13 (Debian's) and 2.x (pip's).
#define RSICAM_TORCH_AT_LEAST(major, minor)                                    \
    (TORCH_VERSION_MAJOR > (major) ||                                          \
     (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

struct rsi_tensor {
    at::Tensor t;
};

namespace rsicam
{

// Records the exception being handled as the pending error (first line of
// its message only, prefixed by what the shim was doing).
void report_current_exception(const char *doing) noexcept;

// Runs f(); on any exception reports it and returns on_error.
template <class R, class F>
R shim_call(R on_error, const char *doing, F &&f) noexcept
{
    try {
        return f();
    } catch (...) {
        report_current_exception(doing);
        return on_error;
    }
}

// A new handle owning a reference to t.
inline rsi_tensor *wrap(at::Tensor t)
{
    return new rsi_tensor{std::move(t)};
}

// Throws a std::invalid_argument when a borrowed handle is NULL, so that a
// NULL from an earlier failed call becomes an error, not a crash.
inline const at::Tensor &unwrap(const rsi_tensor *t)
{
    if (!t)
        throw std::invalid_argument("NULL tensor");
    return t->t;
}

// Whether rsicam's own CPU loops (trapezoids.cpp, rows_finite.cpp) can
// read t in place: float32 or float64, in host memory, row after row.
// Anything else takes tensor operations.
inline bool cpu_loop_can_read(const at::Tensor &t)
{
    const auto type = t.scalar_type();
    return t.device().is_cpu() && t.is_contiguous() &&
           (type == at::kFloat || type == at::kDouble);
}

// Sets the graph executor rsicam uses for a model on device unless one was
// chosen (rsi_torch_set_executor, RSICAM_EXECUTOR): see executor.cpp. On
// failure (a bad RSICAM_EXECUTOR) the error is pending; returns false.
bool use_default_executor(const c10::Device &device) noexcept;

// Loads a TorchScript file with its rsicam.json metadata into module, path
// and info (model.cpp), for a "model" or a "module" (kind). On failure the
// error is pending, names the file and is a model error; returns false.
bool load_file(const char *path, const char *kind, torch::jit::Module &module,
               std::string &path_out, rsi_model_info &info) noexcept;

// A model around a module built in memory (script_model.cpp): takes over
// info (left zeroed); names are the layer names users may give, each with
// the module path it selects, in the order lists show them.
rsi_model *model_from_module(
    torch::jit::Module module, const std::string &path, rsi_model_info &info,
    const std::vector<std::pair<std::string, std::string>> &names);

// "cpu", "cuda" or "cuda:N", checked against what this build and machine
// offer: a CPU-only libtorch or a machine without a GPU gets a clear
// std::invalid_argument, not a crash.
c10::Device parse_device(const char *name);

} // namespace rsicam

#endif
