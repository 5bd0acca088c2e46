// rsicam — the zero that each exposed layer's output is shifted by.
#ifndef RSICAM_TORCH_LAYER_DELTA_H
#define RSICAM_TORCH_LAYER_DELTA_H

#include <torch/script.h>

#include <vector>

namespace rsicam
{

// The operator that expose_layers() puts after exposed layer i:
// rsicam::add_delta(A, i) returns A + D for a fresh zero D of A's shape,
// and every later use of A reads that sum. d score / d D is the layer's
// gradient; made inside the forward, D needs no shape known beforehand (no
// probing run of the network), and an in-place operation downstream
// changes the sum, never the A that the forward returns.
extern const char *const add_delta_op;

// While one lives on a thread, the forwards run there with gradients on
// keep their D_i, requiring grad, in deltas()[i] (one per exposed layer;
// a later forward replaces them). Without one, D is a plain zero.
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

  private:
    std::vector<at::Tensor> deltas_;
    std::vector<at::Tensor> *outer_;
};

} // namespace rsicam

#endif
