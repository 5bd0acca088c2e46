// rsicam — what each exposed layer's gradient is taken against.
#ifndef RSICAM_TORCH_LAYER_DELTA_H
#define RSICAM_TORCH_LAYER_DELTA_H

#include <torch/script.h>

#include <cstdint>
#include <vector>

namespace rsicam
{

// The operator that expose_layers() puts after exposed layer i, every
// later use of A reading its result:
//
//   rsicam::add_delta(A, i, copy=true)  returns A + D for a fresh zero D of
//     A's shape; d score / d D is the layer's gradient. An in-place
//     operation downstream (VGG's ReLU(inplace=True) after a convolution)
//     then changes the sum, never the A that the forward returns.
//   rsicam::add_delta(A, i, copy=false) returns A itself (detached into a
//     leaf that requires grad when nothing before it records gradients,
//     as after a frozen head), and the gradient is taken against it. Only
//     for a layer that nothing writes into later (expose_layers decides):
//     it spares every forward a zero and a sum of each exposed activation's
//     size (ResNet50, four layers, batch 8, one 50-step image: the tail's
//     forwards 14-18 ms faster, of about 1 s; the command's peak memory
//     766 to 720 MB).
//
// Made inside the forward, neither needs a shape known beforehand (no
// probing run of the network).
extern const char *const add_delta_op;

// While one lives on a thread, the forwards run there with gradients on
// keep what each layer's gradient is taken against (D_i, or A_i itself),
// requiring grad, in deltas()[i] (one per exposed layer; a later forward
// replaces them). Without one, add_delta adds nothing.
class DeltaCapture
{
  public:
    explicit DeltaCapture(size_t layers);
    ~DeltaCapture();
    DeltaCapture(const DeltaCapture &) = delete;
    DeltaCapture &operator=(const DeltaCapture &) = delete;
    std::vector<at::Tensor> &deltas()
    {
        return deltas_;
    }
    // The first layer whose A, handed out without a copy, an operation
    // changed in place after it (its gradient would then be the changed
    // value's), or -1. expose_layers() keeps that from happening; this is
    // the check that it did.
    int64_t changed_in_place() const;
    // add_delta's: T is layer's D (copy) or A itself.
    void keep(int64_t layer, const at::Tensor &t, bool copy);

  private:
    std::vector<at::Tensor> deltas_;
    std::vector<int64_t> versions_; // A's version when handed out; -1: D
    DeltaCapture *outer_;
};

} // namespace rsicam

#endif
