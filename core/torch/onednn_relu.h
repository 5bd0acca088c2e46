// rsicam — a frozen head's relus run inside the oneDNN call before them.
#ifndef RSICAM_TORCH_ONEDNN_RELU_H
#define RSICAM_TORCH_ONEDNN_RELU_H

#include <torch/csrc/jit/ir/ir.h>

namespace rsicam
{

// In g, a frozen head whose operations libtorch has moved to oneDNN's
// blocked layouts (ConvertFrozenOpsToMKLDNN), replaces each convolution,
// each batch norm and each residual sum (an in-place add) whose one use
// is a relu by one operator that applies the relu inside the same oneDNN
// primitive: a convolution with a relu post-op (VGG's, or any network's
// with batch norm folded), batch norm with its relu flag, a binary add
// with a relu post-op. Each value is what the two operations gave, bit for
// bit (the same kernel; the relu takes the same rounded float; an add with
// scales of one is the same sum), but the activations are read and
// written once, not twice, and the residual sum runs in a JIT kernel
// rather than oneDNN's generic one. Returns the number of relus folded
// in.
int fuse_onednn_relus(std::shared_ptr<torch::jit::Graph> &g);

} // namespace rsicam

#endif
