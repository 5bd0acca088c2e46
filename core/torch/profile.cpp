// rsicam — libtorch's profiler around part of a run (RSICAM_PROFILE).
//
// The Kineto profiler records every operator the calling thread runs and,
// on a GPU, every kernel and copy with its device time, and writes them as
// one Chrome trace: where a forward's time goes between the model's
// kernels, the engine's small per-image operations and the waits for the
// host. The API is the same in libtorch 1.13 and 2.x.
#include "shim.h"

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <set>

#include "rsicam/model.h"

namespace prof = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

static bool recording;

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
        result->save(path);
        return 0;
    });
}

} // extern "C"
