// rsicam — a graph's reads of its module's attributes, resolved.
#ifndef RSICAM_TORCH_ATTRIBUTE_READS_H
#define RSICAM_TORCH_ATTRIBUTE_READS_H

#include <torch/script.h>

#include <utility>
#include <vector>

namespace rsicam
{

// The values of g (a graph of self, ...) that read an attribute of self
// or of a submodule read so (self.features.0.weight), nested blocks
// included, in the graph's order, each with the attribute's value in
// module. Freezing turns them into constants (split_head.cpp); the wide
// tail test sums the tensors among them (wide_tail.cpp).
std::vector<std::pair<torch::jit::Value *, c10::IValue>>
attribute_reads(torch::jit::Graph &g, const torch::jit::Module &module);

} // namespace rsicam

#endif
