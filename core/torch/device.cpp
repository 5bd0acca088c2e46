// rsicam — choosing a device.
#include "shim.h"

#include <torch/cuda.h>

#include <string>

namespace rsicam
{

c10::Device parse_device(const char *name)
{
    const std::string s = name ? name : "";
    if (s == "cpu")
        return c10::Device(c10::kCPU);
    if (s.rfind("cuda", 0) != 0)
        throw std::invalid_argument("unknown device '" + s +
                                    "' (expected cpu, cuda or cuda:N)");
    c10::Device d(s); // throws on a malformed index
    if (!torch::cuda::is_available())
        throw std::invalid_argument(
            "device '" + s +
            "': CUDA is not available (this libtorch has no CUDA support "
            "or the machine has no GPU)");
    const int64_t n = (int64_t)torch::cuda::device_count();
    if (d.has_index() && d.index() >= n)
        throw std::invalid_argument("device '" + s + "': only " +
                                    std::to_string(n) + " GPU(s) present");
    return d;
}

} // namespace rsicam
