// rsicam — large CPU tensors in transparent huge pages, kept for reuse.
//
// On the virtual machines rsicam is measured on, each first touch of a
// 4 KiB page costs microseconds (perf: a fifth of a ResNet50 `layer4`
// command in the kernel's page-fault path, most of it the hypervisor's
// interrupt handling). A command touches ~400 MB for the first time (the
// weights, their prepacked oneDNN copies, the first activations: 101,000
// faults at batch 1), and at batch 8 glibc maps each batch's larger
// activations afresh and unmaps them again (177,000 faults in 51 points).
//
// So blocks of at least 1 MiB get mappings of their own, aligned to 2 MiB
// and advised as huge pages (Linux's default, "madvise", grants them
// where asked; elsewhere the advice fails and small pages serve), and a
// freed block is kept for a later request it holds instead of being
// unmapped, as long as what is mapped stays within the peak of what was
// live (BlockCache). Blocks from 128 KiB get the same in small pages, in
// a cache of their own (so that they never take a large block's place):
// left to glibc, a freed one was reused or not by chance of the heap's
// layout (libtorch asks posix_memalign, whose request is a little larger
// than the chunk freed, so a freed block next to a live small object
// stayed a hole and the heap grew: 12 of 20 refills of 512 KiB faulted
// in afresh in one build of test_huge_pages, none in another). Smaller
// blocks go to libtorch's own allocator. Tensors that outlive a forward
// (rsi_torch_lasting_begin) get caches of their own: made between two
// forwards, they took the blocks that the first forward's activations had
// freed (the smallest kept block that holds them), and the second forward
// mapped those anew (ResNet50, four layers at batch 8: its second forward
// 75-105 ms dearer than `layer2` alone's, by RSICAM_TRACE; later ones
// even). Blocks are reported to libtorch's memory profiler as its allocator
// reports them. Measured (ResNet50 `layer4`, 51 points, 2-core AMD EPYC VM, two
// runs each, pass seconds / page faults / max RSS MB), huge against small
// pages: batch 1 2.53-2.56 / 54,000 / 435 against 2.64-2.82 / 102,000 / 441;
// batch 8 2.16-2.28 / 61,000 / 546 against 2.62-3.34 / 152,000- 237,000 /
// 572-614; batch 16 2.28-2.30 / 64,000 / 678 against 5.63-6.10 /
// 560,000-607,000 / 717-751. The same maps, bit for bit.
#include "huge_block.h"
#include "prefault.h"
#include "shim.h"

#include "rsicam/model.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <cstdlib>
#include <malloc.h>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unordered_map>

// libtorch 2.3 made Allocator::allocate non-const and added copy_data.
#if RSICAM_TORCH_AT_LEAST(2, 3)
#define RSICAM_ALLOCATE_CONST
#else
#define RSICAM_ALLOCATE_CONST const
#endif

namespace rsicam
{
namespace
{

constexpr size_t small_page = 4096;
constexpr size_t large_block = size_t(1) << 20;
constexpr size_t medium_block = size_t(128) << 10;

// A fresh mapping of len bytes (whole small pages); nullptr when the
// system has no memory for it. A huge one starts at a huge page boundary,
// advised huge (huge_block.cpp).
void *map_block(size_t len, bool huge)
{
    if (huge)
        return map_huge_block(len);
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// Large blocks, live and freed. The freed ones are kept while the blocks
// mapped in all (live and kept) stay within the most that were ever live
// at once, and an eighth more: a run whose sizes repeat reuses its blocks
// and maps little more than its peak; a request that no kept block fits
// unmaps kept ones (the largest first: the fewest calls) as far as that
// bound asks before it maps a new one.
class BlockCache
{
  public:
    explicit BlockCache(bool huge) : huge_(huge) {}

    // A block of at least n bytes: the smallest kept one that holds them,
    // else a new mapping. (Kept blocks at most a quarter or twice larger
    // than asked missed too often: at batch 8 the backward's buffers
    // differ from the forward's, and a plain forward at batch 1 reorders
    // each weight into a buffer of its own size, freed right after.)
    // But a kept block more than `oversized` times the request is left for the
    // requests of its size while a new mapping stays within the bound:
    // VGG19 at 17 rows ran its head in two 218 MB blocks, and the next
    // forward's 10 MB input, made while the last one was still live, took
    // one of them for the whole forward, so that forward mapped a third
    // (faulted in inside its second convolution: 443-482 ms against 174
    // later). Each 218 MB block faulted in costs 0.3-0.5 s on a VM whose
    // host takes freed memory back (the first touch of a page ran at
    // 0.5 GB/s there, a page touched before at 15 GB/s).
    void *take(size_t n)
    {
        const size_t len = round_up(n, small_page);
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.lower_bound(len);
        if (it != free_.end() && it->first / oversized > len &&
            within_bound(len))
            it = free_.end();
        size_t got = len;
        void *p = nullptr;
        if (it != free_.end()) {
            got = it->first;
            p = it->second;
            free_.erase(it);
            kept_ -= got;
        } else {
            while (!free_.empty() && !within_bound(len))
                unmap_largest_kept();
            p = prefault_carve(len); // faulted in on another thread
            if (!p && !(p = map_block(len, huge_)))
                return nullptr;
        }
        live_[p] = got;
        live_bytes_ += got;
        peak_ = std::max(peak_, live_bytes_);
        return p;
    }

    // Keeps p for reuse; false when p is not a block of the cache.
    bool give_back(void *p)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = live_.find(p);
        if (it == live_.end())
            return false;
        const size_t len = it->second;
        live_.erase(it);
        live_bytes_ -= len;
        free_.emplace(len, p);
        kept_ += len;
        return true;
    }

  private:
    // How far the blocks mapped may exceed the peak of those live. With
    // none, the sizes a forward asks for in turn made it unmap kept blocks
    // and map others in every forward, each faulted in afresh (ResNet50,
    // four layers at batch 8: a 3.2 MB and a 12.8 MB block a forward, the
    // batch norm and convolution backwards that first wrote them 2-3x
    // slower); with an eighth, no block was mapped after the second
    // forward, for 1-4% more peak memory. (Moving a kept block's pages
    // into a larger new one with mremap, tried too, fed the churn: each
    // forward's 12.8 MB request turned a 9 MiB block that the next
    // forward wanted again into another 12.8 MB one.)
    size_t slack() const
    {
        return peak_ / 8;
    }

    // Whether len more bytes mapped keep all mapped within the bound.
    bool within_bound(size_t len) const
    {
        return live_bytes_ + kept_ + len <= peak_ + slack();
    }

    static constexpr size_t oversized = 16;

    void unmap_largest_kept()
    {
        auto last = std::prev(free_.end());
        munmap(last->second, last->first);
        kept_ -= last->first;
        free_.erase(last);
    }

    const bool huge_; // blocks mapped in huge pages
    std::mutex mutex_;
    std::unordered_map<void *, size_t> live_; // block -> mapped length
    std::multimap<size_t, void *> free_;      // mapped length -> kept block
    size_t live_bytes_ = 0, peak_ = 0, kept_ = 0;
};

// Blocks of at least large_block and medium_block, for tensors of a
// forward, and (lasting_*) for those that outlive it.
BlockCache *large, *medium, *lasting_large, *lasting_medium;
thread_local int lasting_depth = 0; // rsi_torch_lasting_begin's, unended
c10::Allocator *base;

BlockCache *cache_for(size_t n)
{
    if (lasting_depth > 0)
        return n < large_block ? lasting_medium : lasting_large;
    return n < large_block ? medium : large;
}

void release(void *p)
{
    if (large->give_back(p) || medium->give_back(p) ||
        lasting_large->give_back(p) || lasting_medium->give_back(p)) {
        c10::profiledCPUMemoryReporter().Delete(p);
        return;
    }
    base->raw_deleter()(p); // a small block: libtorch's own
}

class HugePageAllocator final : public c10::Allocator
{
  public:
    c10::DataPtr allocate(size_t n) RSICAM_ALLOCATE_CONST override
    {
        if (n < medium_block)
            return base->allocate(n);
        void *p = cache_for(n)->take(n);
        if (!p) {
            c10::profiledCPUMemoryReporter().OutOfMemory(n);
            throw std::runtime_error("out of memory: cannot map " +
                                     std::to_string(n) + " bytes");
        }
        c10::profiledCPUMemoryReporter().New(p, n);
        return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr raw_deleter() const override
    {
        return &release;
    }

#if RSICAM_TORCH_AT_LEAST(2, 3)
    void copy_data(void *dest, const void *src, size_t count) const override
    {
        default_copy_data(dest, src, count);
    }
#endif
};

} // namespace

} // namespace rsicam

extern "C" {

int rsi_torch_use_huge_pages(void)
{
    return rsicam::shim_call<int>(-1, "huge pages", [] {
        static std::once_flag once;
        std::call_once(once, [] {
            using namespace rsicam;
            const char *small = std::getenv("RSICAM_SMALL_PAGES");
            if (small && *small)
                return;
            base = c10::GetCPUAllocator();
            if (!base->raw_deleter()) // release() could not free its blocks
                return;
            // as long as the blocks they hand out
            large = new BlockCache(true);
            medium = new BlockCache(false);
            lasting_large = new BlockCache(true);
            lasting_medium = new BlockCache(false);
            // glibc raises these itself once large blocks it mapped are
            // freed, which no longer happens: left at 128 KiB, every
            // block up to 1 MiB (libtorch's, before the medium cache;
            // other libraries' still) was mapped afresh and the heap's
            // top trimmed and faulted in again (ResNet50 at batch 1:
            // 2,500 brk calls, 307,000 faults, twice the time)
            mallopt(M_MMAP_THRESHOLD, (int)large_block);
            mallopt(M_TRIM_THRESHOLD, 64 << 20);
            static HugePageAllocator allocator;
            // priority 1: above libtorch's own (0)
            c10::SetAllocator(c10::DeviceType::CPU, &allocator, 1);
        });
        return 0;
    });
}

int rsi_torch_huge_pages(void)
{
    return rsicam::large != nullptr;
}

void rsi_torch_lasting_begin(void)
{
    rsicam::lasting_depth++;
}

void rsi_torch_lasting_end(void)
{
    if (rsicam::lasting_depth > 0)
        rsicam::lasting_depth--;
}

} // extern "C"
