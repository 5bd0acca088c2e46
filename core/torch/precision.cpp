// rsicam — reduced precision for the part of a network before its layers.
//
// Autocast is libtorch's per-thread dispatch state: while it is on, matrix
// products and convolutions run in bfloat16. The TorchScript interpreter
// runs a graph's nodes in order on the calling thread, so an operator with
// a side effect placed right after a layer's output switches the rest of
// the forward, and with it everything autograd records, back to float32;
// values made before it and read after it go through rsicam::float32.
// The JIT's own autocast pass would instead bake casts for the whole graph
// from the state at its first run; it is switched off while a scope is
// active.
#include "precision.h"
#include "shim.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/autocast.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/library.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rsicam
{

// libtorch 2.4 replaced the per-backend setters with ones taking a device.
#if RSICAM_TORCH_AT_LEAST(2, 4)
bool autocast_enabled(c10::DeviceType d)
{
    return at::autocast::is_autocast_enabled(d);
}
void set_autocast(c10::DeviceType d, bool on)
{
    at::autocast::set_autocast_enabled(d, on);
}
static c10::ScalarType autocast_dtype(c10::DeviceType d)
{
    return at::autocast::get_autocast_dtype(d);
}
static void set_autocast_dtype(c10::DeviceType d, c10::ScalarType t)
{
    at::autocast::set_autocast_dtype(d, t);
}
#else
bool autocast_enabled(c10::DeviceType d)
{
    return d == c10::kCPU ? at::autocast::is_cpu_enabled()
                          : at::autocast::is_enabled();
}
void set_autocast(c10::DeviceType d, bool on)
{
    if (d == c10::kCPU)
        at::autocast::set_cpu_enabled(on);
    else
        at::autocast::set_enabled(on);
}
static c10::ScalarType autocast_dtype(c10::DeviceType d)
{
    return d == c10::kCPU ? at::autocast::get_autocast_cpu_dtype()
                          : at::autocast::get_autocast_gpu_dtype();
}
static void set_autocast_dtype(c10::DeviceType d, c10::ScalarType t)
{
    if (d == c10::kCPU)
        at::autocast::set_autocast_cpu_dtype(t);
    else
        at::autocast::set_autocast_gpu_dtype(t);
}
#endif

bool bf16_convs_on_onednn()
{
#if defined(__x86_64__) || defined(__i386__)
    static const bool cpu = __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vl") &&
                            __builtin_cpu_supports("avx512dq");
    return cpu && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
#else
    return false;
#endif
}

const char *const end_autocast_op = "rsicam::end_autocast";
static const char *const float32_op = "rsicam::float32";

// x in float32, contiguous (whatever layout the head ran in), where
// autocast made it bfloat16 or half; else x itself.
static at::Tensor float32(const at::Tensor &x)
{
    const auto t = x.scalar_type();
    if (t != c10::kBFloat16 && t != c10::kHalf)
        return x;
    return x.to(c10::kFloat, /*non_blocking=*/false, /*copy=*/false,
                c10::MemoryFormat::Contiguous);
}

static at::Tensor end_autocast(const at::Tensor &x)
{
    set_autocast(x.device().type(), false);
    return float32(x);
}

// end_autocast is CONSERVATIVE: it has a side effect, so that no pass
// removes, merges or moves it. float32 may return its argument.
TORCH_LIBRARY(rsicam, m)
{
    m.def(torch::schema("end_autocast(Tensor x) -> Tensor",
                        c10::AliasAnalysisKind::CONSERVATIVE),
          &end_autocast);
    m.def(torch::schema("float32(Tensor(a) x) -> Tensor(a)",
                        c10::AliasAnalysisKind::FROM_SCHEMA),
          &float32);
}

void float32_after_autocast(torch::jit::Graph &g)
{
    const c10::Symbol end = c10::Symbol::fromQualString(end_autocast_op),
                      cast = c10::Symbol::fromQualString(float32_op);
    std::vector<torch::jit::Node *> before;
    torch::jit::Node *first_end = nullptr;
    for (torch::jit::Node *n : g.nodes()) {
        if (n->kind() == end) {
            first_end = n;
            break;
        }
        before.push_back(n);
    }
    if (!first_end)
        return;
    // after first_end: the nodes after it at the top level, anything
    // inside them, and the graph's return
    auto after = [&](torch::jit::Node *user) {
        while (user->owningBlock() != g.block())
            user = user->owningBlock()->owningNode();
        return user == g.return_node() || user->isAfter(first_end);
    };
    for (torch::jit::Node *n : before)
        for (torch::jit::Value *v : n->outputs()) {
            if (!v->type()->cast<c10::TensorType>())
                continue;
            std::vector<torch::jit::Use> late;
            for (const torch::jit::Use &use : v->uses())
                if (after(use.user))
                    late.push_back(use);
            if (late.empty())
                continue;
            torch::jit::WithInsertPoint here(first_end->next());
            torch::jit::Value *full = g.insert(cast, {v});
            for (const torch::jit::Use &use : late)
                use.user->replaceInput(use.offset, full);
        }
}

int cast_weights_for_autocast(torch::jit::Graph &g, c10::ScalarType dtype)
{
    // autocast's lower-precision operators, CPU and CUDA alike, whose
    // inputs 1 and 2 are a weight and a bias
    static const std::unordered_set<c10::Symbol> weighted{
        c10::aten::conv1d,       c10::aten::conv2d,      c10::aten::conv3d,
        c10::aten::_convolution, c10::aten::convolution, c10::aten::linear};
    const c10::Symbol end = c10::Symbol::fromQualString(end_autocast_op);
    std::unordered_map<torch::jit::Value *, torch::jit::Value *> cast;
    for (torch::jit::Node *n : g.nodes()) {
        if (n->kind() == end)
            break;
        if (!weighted.count(n->kind()))
            continue;
        for (size_t i = 1; i < 3 && i < n->inputs().size(); i++) {
            torch::jit::Value *v = n->input(i);
            if (v->node()->kind() != c10::prim::Constant ||
                !v->type()->cast<c10::TensorType>())
                continue;
            const at::Tensor t = torch::jit::toIValue(v)->toTensor();
            if (t.scalar_type() != c10::kFloat)
                continue;
            auto &to = cast[v];
            if (!to) {
                torch::jit::WithInsertPoint here(v->node());
                to = torch::jit::insertConstant(g, t.to(dtype));
            }
            n->replaceInput(i, to);
        }
    }
    torch::jit::EliminateDeadCode(g.block()); // the float32 ones unread
    return (int)cast.size();
}

AutocastScope::AutocastScope(c10::DeviceType device, c10::ScalarType dtype)
    : device_(device)
{
    if (dtype == c10::kFloat)
        return;
    if (device != c10::kCPU && device != c10::kCUDA)
        throw std::invalid_argument("reduced precision needs a CPU or CUDA "
                                    "device");
    torch::jit::setAutocastMode(false);
    was_enabled_ = autocast_enabled(device);
    was_dtype_ = autocast_dtype(device);
    set_autocast_dtype(device, dtype);
    set_autocast(device, true);
    active_ = true;
}

AutocastScope::~AutocastScope()
{
    if (!active_)
        return;
    set_autocast(device_, was_enabled_);
    set_autocast_dtype(device_, was_dtype_);
    at::autocast::clear_cache();
}

c10::ScalarType parse_precision(const char *name)
{
    const std::string s = name ? name : "";
    if (s == "fp32" || s == "float32")
        return c10::kFloat;
    if (s == "bf16" || s == "bfloat16")
        return c10::kBFloat16;
    throw std::invalid_argument("unknown precision '" + s +
                                "' (expected fp32 or bf16)");
}

} // namespace rsicam
