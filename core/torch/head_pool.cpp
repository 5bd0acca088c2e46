// rsicam — max pooling in a frozen head that keeps aten's kernels
// (head_pool.h).
//
// aten pools a contiguous bfloat16 tensor in a scalar loop: 30 ms for
// ResNet50's 8 x 64 x 112 x 112 on a 2-core AMD EPYC (PyTorch 1.13, by
// hand), against 2.4 ms through oneDNN, both reorders included. In float32
// the head's convolutions, and its pooling with them, are on oneDNN
// already (split_head.cpp); bfloat16 heads run through autocast, which
// that conversion does not take.
#include "head_pool.h"

#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>

namespace rsicam
{
namespace
{

const char *const head_max_pool2d_op = "rsicam::head_max_pool2d";

at::Tensor head_max_pool2d(const at::Tensor &x, at::IntArrayRef kernel_size,
                           at::IntArrayRef stride, at::IntArrayRef padding,
                           at::IntArrayRef dilation, bool ceil_mode)
{
    // oneDNN takes no dilation and gives its result in its own layout,
    // which to_dense() makes contiguous: only contiguous inputs, so that
    // what follows meets the layout aten would have given it
    const bool onednn =
        x.device().is_cpu() && x.dim() == 4 && x.is_contiguous() &&
        !x.requires_grad() &&
        (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
        std::all_of(dilation.begin(), dilation.end(),
                    [](int64_t d) { return d == 1; });
    if (!onednn)
        return at::max_pool2d(x, kernel_size, stride, padding, dilation,
                              ceil_mode);
    return at::max_pool2d(x.to_mkldnn(), kernel_size, stride, padding, dilation,
                          ceil_mode)
        .to_dense();
}

void replace_pools(torch::jit::Block *b)
{
    for (auto it = b->nodes().begin(); it != b->nodes().end();) {
        torch::jit::Node *n = *it++;
        for (torch::jit::Block *inner : n->blocks())
            replace_pools(inner);
        if (n->kind() != c10::aten::max_pool2d)
            continue;
        torch::jit::Node *pool = b->owningGraph()->create(
            c10::Symbol::fromQualString(head_max_pool2d_op), n->inputs());
        pool->insertBefore(n);
        pool->output()->setType(n->output()->type());
        n->output()->replaceAllUsesWith(pool->output());
        n->destroy();
    }
}

} // namespace

TORCH_LIBRARY_FRAGMENT(rsicam, m)
{
    m.def(torch::schema("head_max_pool2d(Tensor x, int[2] kernel_size, "
                        "int[2] stride, int[2] padding, int[2] dilation, "
                        "bool ceil_mode) -> Tensor",
                        c10::AliasAnalysisKind::FROM_SCHEMA),
          &head_max_pool2d);
}

void pool_on_onednn(torch::jit::Graph &g)
{
    replace_pools(g.block());
}

} // namespace rsicam
