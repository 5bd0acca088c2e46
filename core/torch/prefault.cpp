// rsicam — memory faulted in on a second thread while the model loads.
//
// On the VMs rsicam is measured on, the host takes freed memory back, so a
// page new to a process is written at 0.3-0.8 GB/s against 10-16 GB/s for
// one it used before (bench/results/2026-12-04-cpu-first-touch.md), and
// loading a model writes its weights (ResNet50: 97 MiB in blocks of 128 KiB
// and more) into such pages on one thread while the other core idles. Two
// threads fault pages in side by side at nearly twice one's rate there (a
// probe by hand: 2 x 200 MB in 0.22-0.35 s against 0.61-0.94 s one after
// the other). So a thread faults in a region the size of the file while
// the model loads, ahead of huge_pages.cpp's allocator, which carves the
// loading's blocks from it (bench/results/2026-12-05-cpu-prefault.md).
// MADV_POPULATE_WRITE faults pages in without writing them, so a block
// carved while the thread works on it is safe to write at once.
//
// Tried first and not kept: the region opened only once the model was
// loaded, for the head's prepacked weights and the first forward: the
// pass gained what the loading lost (madvise holds the address space's
// lock while it faults a huge page in, and the loading maps each block).
#include "prefault.h"

#include "huge_block.h"

#include "rsicam/error.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14; older kernels say EINVAL
#endif

namespace rsicam
{
namespace
{

constexpr size_t mib = size_t(1) << 20;
// Below this a file's loading maps too little to be worth a thread.
constexpr size_t least_region = 16 * mib;
// The most faulted in ahead unless RSICAM_PREFAULT_MB says otherwise
// (VGG19's 548 MB file: about all of it).
constexpr size_t default_cap_mib = 512;

class Region
{
  public:
    void start(size_t len)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (base_)
            return;
        base_ = static_cast<char *>(map_huge_block(len));
        if (!base_)
            return; // an optimisation only: the allocator maps its own
        len_ = len;
        carved_ = filled_ = faulted_ = 0;
        stop_ = false;
        static std::once_flag once;
        std::call_once(once, [] {
            pthread_atfork(before_fork, after_fork_in_parent,
                           after_fork_in_child);
        });
        filler_ = new std::thread([this] { fill(); });
    }

    void *carve(size_t len)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!base_ || len > len_ - carved_)
            return nullptr;
        void *p = base_ + carved_;
        carved_ += len;
        return p;
    }

    void end()
    {
        std::thread *filler;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!base_)
                return;
            stop_ = true;
            filler = filler_;
        }
        filler->join();
        delete filler;
        std::lock_guard<std::mutex> lock(mutex_);
        if (std::getenv("RSICAM_TRACE"))
            std::fprintf(stderr,
                         "rsicam: trace: prefault: %.1f MiB mapped while the "
                         "model loaded, %.1f MiB faulted in by a second "
                         "thread, %.1f MiB used\n",
                         (double)len_ / mib, (double)faulted_ / mib,
                         (double)carved_ / mib);
        forget();
    }

  private:
    // Faults in the region a huge page at a time, ahead of what was carved
    // (carved blocks are the allocator's, and may be unmapped), until the
    // end or end(). The region's address is fixed while the thread runs.
    void fill()
    {
        size_t done = 0; // bytes the last step faulted in
        for (;;) {
            size_t at, n;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                faulted_ += done;
                at = std::max(filled_, carved_);
                if (stop_ || at >= len_)
                    return;
                n = std::min(huge_page, len_ - at);
                filled_ = at + n;
            }
            if (madvise(base_ + at, n, MADV_POPULATE_WRITE) != 0)
                return; // an older kernel, or no memory: stop early
            done = n;
        }
    }

    // Gives back what was not carved; the region is no more.
    void forget()
    {
        if (len_ > carved_)
            munmap(base_ + carved_, len_ - carved_);
        base_ = nullptr;
        filler_ = nullptr;
        len_ = carved_ = filled_ = faulted_ = 0;
    }

    // A fork (the plugin scanner's, a Python user's) copies only the
    // thread that called it: the copy must neither wait for the filler
    // nor find the mutex held, so it keeps what was carved and forgets
    // the rest (the copy's thread object is left unjoined, never freed).
    static void before_fork();
    static void after_fork_in_parent();
    static void after_fork_in_child();

    std::mutex mutex_;
    std::thread *filler_ = nullptr;
    char *base_ = nullptr;
    size_t len_ = 0, carved_ = 0, filled_ = 0, faulted_ = 0;
    bool stop_ = false;
};

// Never destroyed: its thread may still be running when the process exits.
Region &region()
{
    static Region *r = new Region;
    return *r;
}

void Region::before_fork()
{
    region().mutex_.lock();
}

void Region::after_fork_in_parent()
{
    region().mutex_.unlock();
}

void Region::after_fork_in_child()
{
    Region &r = region();
    if (r.base_)
        r.forget();
    r.mutex_.unlock();
}

// RSICAM_PREFAULT_MB, or the default; -1 for a bad value.
long long cap_mib()
{
    const char *v = std::getenv("RSICAM_PREFAULT_MB");
    if (!v || !*v)
        return (long long)default_cap_mib;
    char *end = nullptr;
    errno = 0;
    const long long mb = std::strtoll(v, &end, 10);
    if (errno || *end || mb < 0 || mb > (1LL << 30))
        return -1;
    return mb;
}

} // namespace

bool prefault_start(const char *path, bool carved_from)
{
    const long long cap = cap_mib();
    if (cap < 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "RSICAM_PREFAULT_MB: expected a whole number of "
                            "MiB, 0 for none, got '%s'",
                            std::getenv("RSICAM_PREFAULT_MB"));
        return false;
    }
    struct stat st;
    if (!carved_from || !path || stat(path, &st) != 0)
        return true;
    const size_t len =
        std::min((size_t)st.st_size, (size_t)cap * mib) / huge_page * huge_page;
    if (len >= least_region)
        region().start(len);
    return true;
}

void *prefault_carve(size_t len)
{
    return region().carve(len);
}

void prefault_end()
{
    region().end();
}

} // namespace rsicam
