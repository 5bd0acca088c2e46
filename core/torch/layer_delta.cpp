// rsicam — the zero that each exposed layer's output is shifted by
// (layer_delta.h).
#include "layer_delta.h"

#include <stdexcept>
#include <string>

namespace rsicam
{

const char *const add_delta_op = "rsicam::add_delta";

static thread_local std::vector<at::Tensor> *capturing = nullptr;

DeltaCapture::DeltaCapture(size_t layers) : deltas_(layers), outer_(capturing)
{
    capturing = &deltas_;
}

DeltaCapture::~DeltaCapture()
{
    capturing = outer_;
}

static at::Tensor add_delta(const at::Tensor &a, int64_t layer)
{
    // contiguous, in A's type: as the deltas made before the forward were
    at::Tensor d = torch::zeros(a.sizes(), a.options());
    if (capturing && torch::GradMode::is_enabled()) {
        if (layer < 0 || (size_t)layer >= capturing->size())
            throw std::logic_error("add_delta: no slot for layer " +
                                   std::to_string(layer));
        d.requires_grad_();
        (*capturing)[(size_t)layer] = d;
    }
    return a + d;
}

// CONSERVATIVE: the operator has a side effect (it hands D out), so that
// no pass removes, merges or moves it.
TORCH_LIBRARY_FRAGMENT(rsicam, m)
{
    m.def(torch::schema("add_delta(Tensor a, int layer) -> Tensor",
                        c10::AliasAnalysisKind::CONSERVATIVE),
          &add_delta);
}

} // namespace rsicam
