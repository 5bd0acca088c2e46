// rsicam — memory faulted in on a second thread while the model loads.
#ifndef RSICAM_TORCH_PREFAULT_H
#define RSICAM_TORCH_PREFAULT_H

#include <cstddef>

namespace rsicam
{

// Maps a region the size of the model file at path (at most
// RSICAM_PREFAULT_MB, default 512) and starts a thread that faults it in
// while this one loads the model from it: on the VMs rsicam is measured
// on, a page new to the process costs more than the work written into it,
// and the loading leaves the other core idle. Does nothing unless
// carved_from (huge_pages.cpp's allocator is in force: it carves the
// region), where RSICAM_PREFAULT_MB is 0, for a file under 16 MiB, or
// while a region exists. False, with the error pending, for a bad
// RSICAM_PREFAULT_MB.
bool prefault_start(const char *path, bool carved_from);

// len bytes (whole small pages) of the region, or nullptr where none
// is left. The pages may still be in the thread's hands: faulting one in
// never changes what it holds, so the caller may write at once.
void *prefault_carve(size_t len);

// Stops the thread and gives back what was not carved (RSICAM_TRACE says
// how much was): called after the first forward, when the model leaves
// the CPU, and when it is freed.
void prefault_end();

} // namespace rsicam

#endif
