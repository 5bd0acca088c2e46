// rsicam — fresh mappings that start at a huge page boundary.
#include "huge_block.h"

#include <sys/mman.h>

#include <cstdint>

namespace rsicam
{

void *map_huge_block(size_t len)
{
    const size_t span = len + huge_page;
    void *p = mmap(nullptr, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    const uintptr_t start = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = round_up(start, huge_page);
    if (aligned > start)
        munmap(p, aligned - start);
    if (start + span > aligned + len)
        munmap(reinterpret_cast<void *>(aligned + len),
               start + span - (aligned + len));
    void *block = reinterpret_cast<void *>(aligned);
    (void)madvise(block, len, MADV_HUGEPAGE); // off: small pages serve
    return block;
}

} // namespace rsicam
