// rsicam — two of OpenBLAS's start-up choices, corrected for this process.
#ifndef RSICAM_TORCH_OPENBLAS_H
#define RSICAM_TORCH_OPENBLAS_H

namespace rsicam
{

// Where libtorch's BLAS is OpenBLAS (Debian's is), gives it the kernels of
// the CPU at hand where it did not know the CPU, and keeps its idle
// workers from spinning (openblas.cpp says why, and what each costs).
// A setting of the user's own (OPENBLAS_CORETYPE, OPENBLAS_THREAD_TIMEOUT)
// stands; another BLAS is left alone. It changes the environment for a
// moment: call it once, before rsicam starts threads of its own.
void settle_openblas(void);

} // namespace rsicam

#endif
