// rsicam — whether the network after its first exposed layer is worth
// running on many rows at once.
//
// A classifier's end after its last convolution (pooling, flattening, one
// to three fully connected layers) keeps a few numbers per row for the
// backward, but reads all its weights once a run however many rows it
// takes, and again for the gradient: VGG19's classifier, 494 MB, took
// 126 ms a run of 8 rows and 250 ms a run of 51 on a 2-core AMD EPYC (by
// hand, bench/results/2026-12-05-cpu-wide-tail.md). Such a tail is worth
// running on many rows at once, while the frozen head before it runs a few
// rows at a time (its memory grows with its rows). Two conditions, then:
//   - only the operators below, which keep little per row, and branches
//     of them (a scripted module's checks of its input): a convolution,
//     attention or a loop may keep much, and a network with one keeps
//     forwards of --batch rows;
//   - at least WIDE_TAIL_BYTES of weights: ResNet50's fc (8 MB) reads in
//     about a millisecond, and larger runs bought nothing measurable there
//     (same file).
#include "attribute_reads.h"
#include "split_head.h"

#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace rsicam
{

namespace
{

const int64_t WIDE_TAIL_BYTES = int64_t(32) << 20;

bool light_node(const torch::jit::Node *n)
{
    static const std::unordered_set<std::string> light = {
        // values that are not rows: constants, attributes, lists, sizes
        "prim::Constant", "prim::GetAttr", "prim::ListConstruct",
        "prim::ListUnpack", "prim::TupleConstruct", "prim::TupleUnpack",
        "prim::TupleIndex", "prim::NumToTensor", "prim::dtype", "prim::device",
        "aten::size", "aten::dim", "aten::len", "aten::__getitem__",
        "aten::Int", "aten::ScalarImplicit",
        // a scripted module's checks of its input: comparisons, and the
        // exception of a branch (prim::If, below)
        "aten::gt", "aten::lt", "aten::ge", "aten::le", "aten::eq", "aten::ne",
        "aten::__not__", "aten::__is__", "aten::__isnot__", "aten::format",
        "prim::RaiseException", "prim::Uninitialized", "prim::unchecked_cast",
        // rsicam's own (layer_delta.h, precision.h)
        "rsicam::add_delta", "rsicam::end_autocast",
        // pooling and reshaping
        "aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d",
        "aten::adaptive_max_pool2d", "aten::avg_pool2d", "aten::max_pool2d",
        "aten::mean", "aten::amax", "aten::sum", "aten::flatten", "aten::view",
        "aten::reshape", "aten::squeeze", "aten::unsqueeze", "aten::contiguous",
        "aten::select", "aten::slice",
        // fully connected layers
        "aten::linear", "aten::addmm", "aten::t",
        // pointwise, and normalisation per feature
        "aten::relu", "aten::relu_", "aten::dropout", "aten::dropout_",
        "aten::feature_dropout", "aten::hardtanh", "aten::hardtanh_",
        "aten::gelu", "aten::sigmoid", "aten::tanh", "aten::silu",
        "aten::silu_", "aten::hardswish", "aten::hardswish_", "aten::softmax",
        "aten::log_softmax", "aten::add", "aten::add_", "aten::mul",
        "aten::mul_", "aten::div", "aten::sub", "aten::batch_norm",
        "aten::layer_norm"};
    if (n->kind() == c10::prim::If) { // a branch of light nodes (a check)
        for (const torch::jit::Block *b : n->blocks())
            for (const torch::jit::Node *inner : b->nodes())
                if (!light_node(inner))
                    return false;
        return true;
    }
    return n->blocks().empty() && light.count(n->kind().toQualString());
}

// The bytes of the module's tensors that nodes read, each storage once.
int64_t weight_bytes(torch::jit::Graph &g, const torch::jit::Module &module,
                     const std::vector<torch::jit::Node *> &nodes)
{
    std::unordered_map<const torch::jit::Value *, c10::IValue> attrs;
    for (auto &[read, value] : attribute_reads(g, module))
        attrs.emplace(read, std::move(value));
    std::unordered_set<const void *> seen;
    int64_t bytes = 0;
    for (const torch::jit::Node *n : nodes)
        for (const torch::jit::Value *v : n->inputs()) {
            auto a = attrs.find(v);
            if (a == attrs.end() || !a->second.isTensor())
                continue;
            const at::Tensor &t = a->second.toTensor();
            if (seen.insert(t.storage().data()).second)
                bytes += int64_t(t.storage().nbytes());
        }
    return bytes;
}

} // namespace

bool is_wide_tail(torch::jit::Graph &g, const torch::jit::Module &module,
                  const std::vector<torch::jit::Node *> &tail_nodes)
{
    for (const torch::jit::Node *n : tail_nodes)
        if (!light_node(n))
            return false;
    return weight_bytes(g, module, tail_nodes) >= WIDE_TAIL_BYTES;
}

} // namespace rsicam
