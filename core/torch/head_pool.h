// rsicam — max pooling in a frozen head that keeps aten's kernels.
#ifndef RSICAM_TORCH_HEAD_POOL_H
#define RSICAM_TORCH_HEAD_POOL_H

#include <torch/csrc/jit/ir/ir.h>

namespace rsicam
{

// Replaces every aten::max_pool2d in g (a frozen head whose kernels stay
// aten's: bfloat16, where autocast's casts keep oneDNN's conversion out)
// with rsicam::head_max_pool2d, which pools a contiguous 4-D CPU tensor
// on oneDNN and anything else as aten does. The maxima are the same,
// bit for bit (a max rounds nothing); oneDNN's skip NaN where aten's
// propagate it, so g's constants must be finite (split_head.cpp checks).
void pool_on_onednn(torch::jit::Graph &g);

} // namespace rsicam

#endif
