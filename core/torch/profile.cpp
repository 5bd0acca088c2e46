// rsicam — libtorch's profiler around part of a run (RSICAM_PROFILE).
//
// The profiler records every operator the calling thread runs and, where
// libtorch was built with Kineto, every GPU kernel and copy with its
// device time; written as one Chrome trace, it shows where a forward's
// time goes between the model's kernels, the engine's small per-image
// operations and the waits for the host. The API is the same in libtorch
// 1.13 and 2.x but for the events' times (start_us below). Only Kineto can
// write the trace itself; a libtorch built without it (Debian's) still
// records the operators, and rsicam writes them in the same format.
#include "shim.h"

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <jansson.h>

#include <set>
#include <string>

#include "rsicam/model.h"

namespace prof = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

static bool recording;

// An event's start and length in microseconds: libtorch 1.13 gives them
// so (startUs, durationUs), later ones in nanoseconds (startNs,
// durationNs); whichever the event has.
template <typename Event>
static auto start_us(const Event &e, int) -> decltype(int64_t(e.startNs()))
{
    return int64_t(e.startNs() / 1000);
}
template <typename Event> static int64_t start_us(const Event &e, long)
{
    return int64_t(e.startUs());
}
template <typename Event>
static auto duration_us(const Event &e, int)
    -> decltype(int64_t(e.durationNs()))
{
    return int64_t(e.durationNs() / 1000);
}
template <typename Event> static int64_t duration_us(const Event &e, long)
{
    return int64_t(e.durationUs());
}

// The recorded operators as a Chrome trace of complete events, in the
// fields Kineto writes for them (bench/trace_summary.py reads either).
static void write_operators(const prof::ProfilerResult &result,
                            const char *path)
{
    json_t *events = json_array();
    for (const prof::KinetoEvent &e : result.events()) {
        if (e.deviceType() != c10::DeviceType::CPU)
            continue;
        json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I}", "ph", "X",
                               "cat", "cpu_op", "name", e.name().c_str(), "pid",
                               0, "tid", (json_int_t)e.startThreadId(), "ts",
                               (json_int_t)start_us(e, 0), "dur",
                               (json_int_t)duration_us(e, 0));
        if (!ev) { // jansson takes UTF-8 names only
            json_decref(events);
            throw std::runtime_error("an operator's name is not UTF-8: '" +
                                     e.name() + "'");
        }
        if (e.hasShapes()) {
            json_t *dims = json_array();
            for (const auto &shape : e.shapes()) {
                json_t *sizes = json_array();
                for (const int64_t n : shape)
                    json_array_append_new(sizes, json_integer(n));
                json_array_append_new(dims, sizes);
            }
            json_object_set_new(ev, "args",
                                json_pack("{s:o}", "Input Dims", dims));
        }
        json_array_append_new(events, ev);
    }
    json_t *trace =
        json_pack("{s:o, s:s}", "traceEvents", events, "displayTimeUnit", "ms");
    const int failed = !trace || json_dump_file(trace, path, JSON_COMPACT);
    json_decref(trace);
    if (failed)
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
