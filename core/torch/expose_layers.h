// rsicam — rewriting a TorchScript forward graph to expose layers.
#ifndef RSICAM_TORCH_EXPOSE_LAYERS_H
#define RSICAM_TORCH_EXPOSE_LAYERS_H

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace rsicam
{

// A copy of module.forward rewritten so that, for layers L_1..L_n (module
// paths such as "layer4.2.conv3"),
//
//   forward(self, x) -> (logits, A_1, ..., A_n)
//
// where A_i is L_i's output and every later use of A_i reads
// rsicam::add_delta(A_i, i) = A_i + D_i (layer_delta.h): with D_i a zero
// that requires grad, d score / d D_i is the layer's gradient, and
// autograd only records the part of the network after the layers. Calls on the
// way to a layer (the module itself, its submodules on the path, helper methods
// such as _forward_impl) are inlined first, to find the layers, then every
// other call; convolutions become aten::conv2d and the like (see
// expose_layers.cpp). Throws std::invalid_argument naming the layer when it
// cannot be exposed; given unexposable, it says why there instead, one entry
// per layer ("" for those exposed), and such a layer's A_i is the logits.
std::unique_ptr<torch::jit::GraphFunction>
expose_layers(const torch::jit::Module &module,
              const std::vector<std::string> &layers,
              std::vector<std::string> *unexposable = nullptr);

} // namespace rsicam

#endif
