// rsicam — a frozen head's relus run inside the oneDNN call before them
// (onednn_relu.h).
//
// Measured on ResNet50 `layer4` at batch 8 (DNNL_VERBOSE, 2 cores of an
// Intel Xeon with AVX-512, by hand): of the float32 head's oneDNN time
// the batch norms took 7.6%, the residual sums 7.2% (oneDNN's generic
// `simple:any` sum, not a JIT kernel) and the relus 3.9%, each a pass
// over activations of up to 25 MB; with the relus inside, the batch
// norms (in place) took 7.5% and the sums (a JIT binary add) 4.2%.
#include "onednn_relu.h"

#if RSICAM_ONEDNN_RELU // cmake/OnednnRelu.cmake

#include <ATen/ATen.h>
#include <ATen/native/ConvUtils.h>
#include <ideep.hpp>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_pooling.h>
#include <torch/library.h>

// libtorch exports these (aten/src/ATen/native/mkldnn/MKLDNNCommon.h,
// which Debian's libtorch-dev does not install): the oneDNN tensor behind
// an at::Tensor of layout mkldnn, and an at::Tensor around a oneDNN
// tensor. Only with autograd's dispatch keys excluded, as inside an
// operator.
namespace at::native
{
ideep::tensor &itensor_from_mkldnn(const at::Tensor &t);
at::Tensor new_with_itensor_mkldnn(ideep::tensor &&it,
                                   c10::optional<c10::ScalarType> dtype,
                                   c10::optional<c10::Device> device);
} // namespace at::native

namespace rsicam
{
namespace
{

const char *const batch_norm_op = "rsicam::onednn_batch_norm_";
const char *const add_relu_op = "rsicam::onednn_add_relu_";
const char *const conv_relu_op = "rsicam::onednn_conv_relu";

bool all_onednn_float(std::initializer_list<const at::Tensor *> ts)
{
    for (const at::Tensor *t : ts)
        if (!t->defined() || !t->is_mkldnn() || t->scalar_type() != at::kFloat)
            return false;
    return true;
}

// x = batch_norm(x) in inference, in place, then relu(x) where asked, as
// one oneDNN batch norm (with its relu flag); anything not in oneDNN's
// layout runs as aten would run it.
at::Tensor &batch_norm_(at::Tensor &x, const at::Tensor &weight,
                        const at::Tensor &bias, const at::Tensor &mean,
                        const at::Tensor &var, double eps, bool relu)
{
    if (!all_onednn_float({&x, &weight, &bias, &mean, &var}) ||
        (x.dim() != 4 && x.dim() != 5)) {
        x.copy_(
            at::batch_norm(x, weight, bias, mean, var, false, 0.0, eps, false));
        return relu ? x.relu_() : x;
    }
    using at::native::itensor_from_mkldnn;
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    ideep::tensor &it = itensor_from_mkldnn(x);
    ideep::batch_normalization_forward_inference::compute(
        it, itensor_from_mkldnn(mean), itensor_from_mkldnn(var),
        itensor_from_mkldnn(weight), itensor_from_mkldnn(bias), it,
        static_cast<float>(eps),
        relu ? ideep::batch_normalization_flag::use_scale_shift |
                   ideep::batch_normalization_flag::fuse_norm_relu
             : ideep::batch_normalization_flag::use_scale_shift);
    return x;
}

// self = relu(self + other), in place, as one oneDNN binary add with a
// relu post-op.
at::Tensor &add_relu_(at::Tensor &self, const at::Tensor &other)
{
    if (!all_onednn_float({&self, &other}) || self.sizes() != other.sizes())
        return self.add_(other).relu_();
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    ideep::tensor &a = at::native::itensor_from_mkldnn(self);
    // oneDNN 2.6's binary kernel (jit:uni) gets the padded block wrong
    // when it has a post-op: up to a third of the values of 24 channels
    // (test_onednn_relu.py); ResNet50's channels fill their blocks. A
    // layout pads where it holds more elements than the tensor has.
    if (a.get_desc().nelems(/*with_padding=*/true) != a.get_nelems())
        return self.add_(other).relu_();
    const ideep::tensor b =
        at::native::itensor_from_mkldnn(other).reorder_if_differ_in(
            a.get_desc());
    dnnl::post_ops relu;
    relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(relu);
    const dnnl::binary::primitive_desc pd(
        {dnnl::algorithm::binary_add, a.get_desc(), b.get_desc(), a.get_desc()},
        attr, ideep::engine::cpu_engine());
    dnnl::binary(pd).execute(
        ideep::stream::default_stream(),
        {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, a}});
    return self;
}

// Whether a convolution's operands fit one another: otherwise aten's
// convolution says what is wrong ("expected input[1, 3, 28, 28] to have 1
// channels, ...") where oneDNN would only fail to build its primitive.
bool conv_shapes_fit(const at::Tensor &x, const at::Tensor &w,
                     const c10::optional<at::Tensor> &bias,
                     at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, int64_t groups)
{
    const size_t spatial = (size_t)x.dim() - 2;
    if (w.dim() != x.dim() || stride.size() != spatial ||
        padding.size() != spatial || dilation.size() != spatial || groups < 1 ||
        w.size(0) % groups != 0 || x.size(1) != w.size(1) * groups ||
        (bias && bias->defined() &&
         (bias->dim() != 1 || bias->size(0) != w.size(0))))
        return false;
    for (size_t i = 0; i < spatial; i++)
        if (stride[i] < 1 || padding[i] < 0 || dilation[i] < 1 ||
            x.size((int64_t)i + 2) + 2 * padding[i] <
                dilation[i] * (w.size((int64_t)i + 2) - 1) + 1)
            return false;
    return true;
}

// relu(convolution) as one oneDNN convolution with a relu post-op: the
// call libtorch 1.13's prim::mkldnn_convolution makes on oneDNN tensors
// (ideep's compute_v3, the padding on both sides, no channels-last) with
// the relu added; anything else runs as that operator and a relu.
at::Tensor conv_relu(const at::Tensor &x, const at::Tensor &weight,
                     const c10::optional<at::Tensor> &bias,
                     at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, int64_t groups)
{
    const bool has_bias = bias && bias->defined();
    if (!all_onednn_float({&x, &weight}) ||
        (has_bias && !all_onednn_float({&*bias})) ||
        (x.dim() != 4 && x.dim() != 5) || x.size(0) == 0 ||
        !conv_shapes_fit(x, weight, bias, stride, padding, dilation, groups))
        return at::mkldnn_convolution(x, weight, bias, padding, stride,
                                      dilation, groups)
            .relu_();
    using at::native::itensor_from_mkldnn;
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    const ideep::tensor &xi = itensor_from_mkldnn(x);
    const ideep::tensor &wi = itensor_from_mkldnn(weight);
    const ideep::dims out = at::native::conv_output_size(
                          x.sizes(), weight.sizes(), padding, stride, dilation),
                      s(stride.begin(), stride.end()),
                      d(dilation.begin(), dilation.end()),
                      p(padding.begin(), padding.end());
    const ideep::attr_t relu = ideep::attr_t::fuse_relu();
    ideep::tensor y;
    if (has_bias)
        ideep::convolution_forward::compute_v3(
            xi, wi, itensor_from_mkldnn(*bias), out, y, s, d, p, p,
            static_cast<int>(groups), false, relu);
    else
        ideep::convolution_forward::compute_v3(
            xi, wi, out, y, s, d, p, p, static_cast<int>(groups), false, relu);
    return at::native::new_with_itensor_mkldnn(std::move(y), at::kFloat,
                                               x.device());
}

// libtorch 1.13's convolution on oneDNN tensors
// (ConvertFrozenOpsToMKLDNN).
c10::Symbol mkldnn_convolution()
{
    static const c10::Symbol s =
        c10::Symbol::fromQualString("prim::mkldnn_convolution");
    return s;
}

bool is_tensor(const torch::jit::Value *v)
{
    return v->type()->cast<c10::TensorType>() != nullptr;
}

bool is_constant(torch::jit::Value *v, const c10::IValue &expected)
{
    const c10::optional<c10::IValue> got = torch::jit::toIValue(v);
    return got && *got == expected;
}

// v's one use where it is a relu (of kind in_place, or either) in the same
// block, else nullptr.
torch::jit::Node *relu_after(torch::jit::Value *v, bool in_place)
{
    if (v->uses().size() != 1)
        return nullptr;
    torch::jit::Node *user = v->uses()[0].user;
    const bool relu = user->kind() == c10::aten::relu_ ||
                      (!in_place && user->kind() == c10::aten::relu);
    return relu && user->owningBlock() == v->node()->owningBlock() ? user
                                                                   : nullptr;
}

// A batch norm in inference on a convolution's output that nothing else
// reads (so that it may overwrite it) made in the same block, and the
// relu after it if any:
// batch_norm(x, weight, bias, mean, var, training, momentum, eps,
// cudnn_enabled).
torch::jit::Node *fused_batch_norm(torch::jit::Node *n, torch::jit::Node *&relu)
{
    torch::jit::Value *x = n->input(0);
    // (in a loop, a value from outside it would be normalised again and
    // again; libtorch 1.13's conversion leaves loops' bodies alone, but
    // nothing promises that)
    if (x->node()->kind() != mkldnn_convolution() || x->uses().size() != 1 ||
        x->node()->owningBlock() != n->owningBlock() ||
        !is_tensor(n->input(1)) || !is_tensor(n->input(2)) ||
        !is_tensor(n->input(3)) || !is_tensor(n->input(4)) ||
        !is_constant(n->input(5), false) || !torch::jit::toIValue(n->input(7)))
        return nullptr;
    // a relu of its own would leave the batch norm's value to other readers
    relu = relu_after(n->output(), false);
    torch::jit::Graph &g = *n->owningGraph();
    torch::jit::WithInsertPoint here(n);
    return g.create(c10::Symbol::fromQualString(batch_norm_op),
                    {x, n->input(1), n->input(2), n->input(3), n->input(4),
                     n->input(7), g.insertConstant(relu != nullptr)});
}

// An add in place of alpha 1 and the relu in place after it: the relu's
// value is then what every reader of either sees.
torch::jit::Node *fused_add(torch::jit::Node *n, torch::jit::Node *&relu)
{
    relu = relu_after(n->output(), true);
    if (!relu || !is_tensor(n->input(1)) ||
        !(is_constant(n->input(2), 1) || is_constant(n->input(2), 1.0)))
        return nullptr;
    return n->owningGraph()->create(c10::Symbol::fromQualString(add_relu_op),
                                    {n->input(0), n->input(1)});
}

// A convolution and the relu that is its output's one use: the call
// takes the convolution's inputs.
torch::jit::Node *fused_conv(torch::jit::Node *n, torch::jit::Node *&relu)
{
    relu = relu_after(n->output(), false);
    if (!relu)
        return nullptr;
    std::vector<torch::jit::Value *> inputs(n->inputs().begin(),
                                            n->inputs().end());
    return n->owningGraph()->create(c10::Symbol::fromQualString(conv_relu_op),
                                    inputs);
}

int fuse_in(torch::jit::Block *b)
{
    int count = 0;
    for (auto it = b->nodes().begin(); it != b->nodes().end();) {
        torch::jit::Node *n = *it++;
        for (torch::jit::Block *inner : n->blocks())
            count += fuse_in(inner);
        torch::jit::Node *relu = nullptr;
        torch::jit::Node *f =
            n->kind() == c10::aten::batch_norm  ? fused_batch_norm(n, relu)
            : n->kind() == c10::aten::add_      ? fused_add(n, relu)
            : n->kind() == mkldnn_convolution() ? fused_conv(n, relu)
                                                : nullptr;
        if (!f)
            continue;
        f->insertBefore(n);
        f->output()->setType(n->output()->type());
        n->output()->replaceAllUsesWith(f->output());
        n->destroy();
        if (relu) {
            if (*it == relu)
                ++it;
            relu->output()->replaceAllUsesWith(f->output());
            relu->destroy();
            count++;
        }
    }
    return count;
}

} // namespace

TORCH_LIBRARY_FRAGMENT(rsicam, m)
{
    m.def(torch::schema("onednn_batch_norm_(Tensor(a!) x, Tensor weight, "
                        "Tensor bias, Tensor mean, Tensor var, float eps, "
                        "bool relu) -> Tensor(a!)",
                        c10::AliasAnalysisKind::FROM_SCHEMA),
          &batch_norm_);
    m.def(torch::schema("onednn_add_relu_(Tensor(a!) self, Tensor other) "
                        "-> Tensor(a!)",
                        c10::AliasAnalysisKind::FROM_SCHEMA),
          &add_relu_);
    m.def(torch::schema("onednn_conv_relu(Tensor x, Tensor weight, Tensor? "
                        "bias, int[] stride, int[] padding, int[] dilation, "
                        "int groups) -> Tensor",
                        c10::AliasAnalysisKind::FROM_SCHEMA),
          &conv_relu);
}

int fuse_onednn_relus(std::shared_ptr<torch::jit::Graph> &g)
{
    const int fused = fuse_in(g->block());
    torch::jit::ConstantPooling(g); // the relu flags, one per batch norm
    return fused;
}

} // namespace rsicam

#else

int rsicam::fuse_onednn_relus(std::shared_ptr<torch::jit::Graph> &)
{
    return 0;
}

#endif
