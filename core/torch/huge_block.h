// rsicam — fresh mappings that start at a huge page boundary.
#ifndef RSICAM_TORCH_HUGE_BLOCK_H
#define RSICAM_TORCH_HUGE_BLOCK_H

#include <cstddef>

namespace rsicam
{

constexpr size_t huge_page = size_t(2) << 20;

// n rounded up to a whole number of to's.
constexpr size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

// A fresh mapping of len bytes (whole small pages) that starts at a huge
// page boundary, advised huge; nullptr when the system has no memory for
// it. The kernel backs only whole aligned 2 MiB extents with huge pages,
// so the last part takes small ones and no memory is wasted; where the
// advice fails (transparent huge pages off), small pages serve.
void *map_huge_block(size_t len);

} // namespace rsicam

#endif
