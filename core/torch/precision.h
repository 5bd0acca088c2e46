// rsicam — reduced precision for the part of a network before its layers.
#ifndef RSICAM_TORCH_PRECISION_H
#define RSICAM_TORCH_PRECISION_H

#include <torch/script.h>

namespace rsicam
{

// The operator that expose_layers() applies to every exposed layer's
// output before its delta is added: rsicam::end_autocast(A) turns autocast
// off for the rest of the forward (the first exposed layer to run ends it)
// and returns A in float32 (contiguous, whatever layout the head ran in)
// when autocast made it bfloat16 or half, else A itself. With autocast off
// it changes nothing.
extern const char *const end_autocast_op;

// After the first layer the network runs in float32, but a value made
// before it may be read after it (a block's input, by a shortcut whose
// convolution runs after the layer): in a graph with end_autocast nodes,
// every such read of a tensor made before the first of them goes through
// rsicam::float32, which makes it float32 where autocast made it bfloat16
// or half, as end_autocast does the layer's output. Else a float32
// operator would meet a bfloat16 tensor: a convolution refuses it.
void float32_after_autocast(torch::jit::Graph &g);

// Casts to dtype, once, the float32 constants that a convolution or a
// linear layer reads as its weight or bias before g's first end_autocast
// (at the top level: what runs inside a loop or branch is left as it
// is); returns how many constants it cast. Under autocast such an
// operator runs in dtype, and autocast casts its weights at every call:
// it keeps only the casts of parameters that require grad, which a frozen
// head's constants do not. The values are those autocast would make, so
// the graph computes the same bits, but only with autocast on: it is for
// the rows run under autocast.
int cast_weights_for_autocast(torch::jit::Graph &g, c10::ScalarType dtype);

// Autocast to dtype on device's type for the lifetime of the scope, or
// nothing when dtype is float32. Restores the previous state on exit.
class AutocastScope
{
  public:
    AutocastScope(c10::DeviceType device, c10::ScalarType dtype);
    ~AutocastScope();
    AutocastScope(const AutocastScope &) = delete;
    AutocastScope &operator=(const AutocastScope &) = delete;

  private:
    c10::DeviceType device_;
    bool active_ = false, was_enabled_ = false;
    c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

// Whether autocast is on for device's type, and switching it (libtorch
// 2.4 renamed the calls).
bool autocast_enabled(c10::DeviceType device);
void set_autocast(c10::DeviceType device, bool on);

// Whether aten runs bfloat16 convolutions on oneDNN on this CPU (aten's
// own test: AVX512 BW, VL and DQ, oneDNN enabled). oneDNN computes them on
// channels-last (NHWC) activations: handed NCHW ones, aten reorders each
// convolution's input to NHWC and its output back.
bool bf16_convs_on_onednn();

// "fp32" or "bf16" (also "float32", "bfloat16"); throws
// std::invalid_argument on anything else.
c10::ScalarType parse_precision(const char *name);

} // namespace rsicam

#endif
