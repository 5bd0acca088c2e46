// rsicam — libtorch's thread count.
//
// Debian's libtorch starts with one intra-op thread on these machines;
// measured, ResNet50 then runs 1.3-1.7x slower than with two. So rsicam
// sets the count itself: every core this process may run on by default.
//
// It also corrects two of OpenBLAS's start-up choices (openblas.h) before
// rsicam starts threads of its own.
#include "shim.h"

#include <mutex>
#include <sched.h>
#include <stdlib.h>
#include <string>
#include <unistd.h>

#include "openblas.h"
#include "rsicam/model.h"

static int available_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

// The count goes where libtorch looks for its default, OMP_NUM_THREADS,
// rather than through at::set_num_threads: a count set that way is applied
// again, by at::set_num_threads itself, on the first parallel operation of
// every thread (the OpenMP workers, the image and map threads), and in
// libtorch 1.13 each such call also empties oneDNN's cache of convolution
// primitives (the next forward creates them anew) and replaces the thread
// pool kept for QNNPACK, whose new worker spins for ~20 ms on a core that a
// 2-core machine needs (perf, one 8-step ResNet50 `layer4` command: five
// new workers, one at start-up and four while its one image ran; the
// baseline's few operations took 28-31 ms against 14-18 without them,
// three runs each). From the environment each thread takes the same count
// with no such work. Where something in the process set a count through
// at::set_num_threads before (torch.set_num_threads, in Python), that
// count wins over the environment, so rsicam falls back to the same call.
//
// A process's environment must not change while another thread reads it
// (getenv walks the array that setenv replaces: a command whose libvips
// start-up thread read it meanwhile crashed in getenv), so the count is
// written only where the environment does not hold it already, and
// rsicam sets it before it starts threads of its own (model.h).
static void set_env(const char *name, const std::string &value)
{
    const char *now = getenv(name);
    if (!now || value != now)
        setenv(name, value.c_str(), 1);
}

static void set_intraop_threads(int n)
{
    const std::string count = std::to_string(n);
    set_env("OMP_NUM_THREADS", count);
    set_env("MKL_NUM_THREADS", count); // read after, and wins
    at::init_num_threads(); // this thread's count, from the environment
    if (at::get_num_threads() != n)
        at::set_num_threads(n);
}

extern "C" {

int rsi_torch_set_threads(int n)
{
    return rsicam::shim_call<int>(-1, "set threads", [&] {
        static std::once_flag blas_once;
        std::call_once(blas_once, rsicam::settle_openblas);
        set_intraop_threads(n > 0 ? n : available_cores());
        return 0;
    });
}

int rsi_torch_get_threads(void)
{
    return rsicam::shim_call<int>(-1, "get threads",
                                  [&] { return at::get_num_threads(); });
}

} // extern "C"
