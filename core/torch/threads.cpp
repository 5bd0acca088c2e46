// rsicam — libtorch's thread count.
//
// Debian's libtorch starts with one intra-op thread on these machines;
// measured, ResNet50 then runs 1.3-1.7x slower than with two. So rsicam
// sets the count itself: every core this process may run on by default.
#include "shim.h"

#include <sched.h>
#include <unistd.h>

#include "rsicam/model.h"

static int available_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

extern "C" {

int rsi_torch_set_threads(int n)
{
    return rsicam::shim_call<int>(-1, "set threads", [&] {
        at::set_num_threads(n > 0 ? n : available_cores());
        return 0;
    });
}

int rsi_torch_get_threads(void)
{
    return rsicam::shim_call<int>(-1, "get threads",
                                  [&] { return at::get_num_threads(); });
}

} // extern "C"
