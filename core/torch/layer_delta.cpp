// rsicam — what each exposed layer's gradient is taken against
// (layer_delta.h).
#include "layer_delta.h"

#include <stdexcept>
#include <string>

namespace rsicam
{

const char *const add_delta_op = "rsicam::add_delta";

static thread_local DeltaCapture *capturing = nullptr;

DeltaCapture::DeltaCapture(size_t layers)
    : deltas_(layers), versions_(layers, -1), outer_(capturing)
{
    capturing = this;
}

DeltaCapture::~DeltaCapture()
{
    capturing = outer_;
}

int64_t DeltaCapture::changed_in_place() const
{
    for (size_t l = 0; l < deltas_.size(); l++)
        if (versions_[l] >= 0 && deltas_[l].defined() &&
            (int64_t)deltas_[l]._version() != versions_[l])
            return (int64_t)l;
    return -1;
}

void DeltaCapture::keep(int64_t layer, const at::Tensor &t, bool copy)
{
    if (layer < 0 || (size_t)layer >= deltas_.size())
        throw std::logic_error("add_delta: no slot for layer " +
                               std::to_string(layer));
    deltas_[(size_t)layer] = t;
    versions_[(size_t)layer] = copy ? -1 : (int64_t)t._version();
}

static at::Tensor add_delta(const at::Tensor &a, int64_t layer, bool copy)
{
    const bool capture = capturing && torch::GradMode::is_enabled();
    if (!copy) {
        if (!capture)
            return a;
        at::Tensor t = a.requires_grad() ? a : a.detach().requires_grad_();
        capturing->keep(layer, t, copy);
        return t;
    }
    // contiguous, in A's type: as the deltas made before the forward were
    at::Tensor d = torch::zeros(a.sizes(), a.options());
    if (capture) {
        d.requires_grad_();
        capturing->keep(layer, d, copy);
    }
    return a + d;
}

// CONSERVATIVE: the operator has a side effect (it hands D or A out), so
// that no pass removes, merges or moves it.
TORCH_LIBRARY_FRAGMENT(rsicam, m)
{
    m.def(torch::schema("add_delta(Tensor a, int layer, bool copy) -> Tensor",
                        c10::AliasAnalysisKind::CONSERVATIVE),
          &add_delta);
}

} // namespace rsicam
