// rsicam — libtorch's profiler around part of a run (RSICAM_PROFILE).
//
// The profiler records every operator the calling thread runs and, where
// libtorch was built with Kineto, every GPU kernel and copy with its
// device time; written as one Chrome trace, it shows where a forward's
// time goes between the model's kernels, the engine's small per-image
// operations and the waits for the host. The API is the same in libtorch
// 1.13 and 2.x. Only Kineto can write the trace itself; a libtorch built
// without it (Debian's) still records the operators, and rsicam writes
// them in the same format.
#include "shim.h"

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "rsicam/model.h"

namespace prof = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

static bool recording;

// s as a JSON string's contents
static std::string json_escaped(const std::string &s)
{
    std::string out;
    for (const unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += (char)c;
        } else if (c < 0x20) {
            char u[8];
            std::snprintf(u, sizeof u, "\\u%04x", c);
            out += u;
        } else {
            out += (char)c;
        }
    }
    return out;
}

// The recorded operators as a Chrome trace of complete events, in the
// fields Kineto writes for them (bench/trace_summary.py reads either).
static void write_operators(const prof::ProfilerResult &result,
                            const char *path)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "{\"traceEvents\": [";
    const char *sep = "\n";
    for (const prof::KinetoEvent &e : result.events()) {
        if (e.deviceType() != c10::DeviceType::CPU)
            continue;
        out << sep << "{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \""
            << json_escaped(e.name())
            << "\", \"pid\": 0, \"tid\": " << e.startThreadId()
            << ", \"ts\": " << e.startUs() << ", \"dur\": " << e.durationUs();
        if (e.hasShapes()) {
            out << ", \"args\": {\"Input Dims\": [";
            const char *shape_sep = "";
            for (const auto &shape : e.shapes()) {
                out << shape_sep << "[";
                for (size_t i = 0; i < shape.size(); i++)
                    out << (i ? ", " : "") << shape[i];
                out << "]";
                shape_sep = ", ";
            }
            out << "]}";
        }
        out << "}";
        sep = ",\n";
    }
    out << "\n], \"displayTimeUnit\": \"ms\"}\n";
    out.close();
    if (!out)
        throw std::runtime_error(std::string("cannot write '") + path + "'");
}

extern "C" {

int rsi_torch_profile_start(void)
{
    return rsicam::shim_call<int>(-1, "profiler", [&] {
        if (recording)
            throw std::logic_error("the profiler is already recording");
        std::set<ActivityType> what{ActivityType::CPU};
        if (torch::cuda::is_available())
            what.insert(ActivityType::CUDA);
        // input shapes tell the per-image operations from the model's
        const ProfilerConfig config(ProfilerState::KINETO,
                                    /*report_input_shapes=*/true);
        prof::prepareProfiler(config, what);
        prof::enableProfiler(config, what);
        recording = true;
        return 0;
    });
}

int rsi_torch_profile_stop(const char *path)
{
    return rsicam::shim_call<int>(-1, "profiler", [&] {
        if (!recording)
            throw std::logic_error("the profiler is not recording");
        recording = false;
        std::unique_ptr<prof::ProfilerResult> result = prof::disableProfiler();
        if (!path)
            return 0;
        try {
            result->save(path);
        } catch (const c10::Error &) { // no Kineto: "Saving a trace requires"
            write_operators(*result, path);
        }
        return 0;
    });
}

} // extern "C"
