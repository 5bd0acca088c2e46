// rsicam — the exposed forward cut at its first layer: a frozen head that
// needs no gradient and a tail that autograd differentiates.
#ifndef RSICAM_TORCH_SPLIT_HEAD_H
#define RSICAM_TORCH_SPLIT_HEAD_H

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace rsicam
{

enum class HeadKernels {
    // as the graph says (bfloat16 on a GPU, or where a frozen weight is
    // NaN or Inf)
    plain,
    // a CPU in float32: oneDNN's blocked layouts with prepacked weights,
    // as torch.jit.optimize_for_inference does
    onednn,
    // a GPU in float32: a convolution and the relu after it (or the add
    // and relu) as one cuDNN call (where batch norm sits between them, only
    // once it is folded)
    cudnn,
    // a CPU whose bfloat16 convolutions aten runs on oneDNN
    // (bf16_convs_on_onednn()): as plain, but rows run under autocast
    // enter the head channels-last, oneDNN's layout, and its values leave
    // it contiguous. On an Intel Xeon with AMX (PyTorch 1.13) the NCHW
    // head spent more of its oneDNN time reordering activations than
    // convolving; channels-last, the pass on ResNet50 `layer4` took 0.67x
    // the time and on VGG19 `features.36` 0.78x, the maps the same to the
    // bit (aten's bfloat16 kernels compute the same sums in either layout;
    // bench/results/2026-12-06-cpu-bf16-channels-last.md).
    channels_last,
};

// The exposed forward (expose_layers.h) as two graphs:
//
//   head(x) -> (F_1, ..., F_k)
//   tail(self, F_1, ..., F_k) -> (logits, A_1..A_n)
//
// The head is every node that no delta reaches; F are the head's values
// that the tail reads (for ResNet50 `layer4`, layer4's output; for
// `layer4.2.conv3`, also the block's shortcut). No gradient flows through
// the head, so it is frozen: the module's parameters become constants,
// with fold batch norm is folded into the convolutions before it (which
// rounds differently: maps move in their last bits), and kernels says how
// its convolutions run. The tail is the rest of the graph, unchanged.
struct SplitForward {
    std::unique_ptr<torch::jit::GraphFunction> head, tail;
    // In reduced precision, the head again for the rows run under
    // autocast, its weights cast to that precision once
    // (cast_weights_for_autocast, precision.h: autocast casts a frozen
    // weight at every call); head then serves the rows run in float32 (a
    // path's ends). nullptr in float32 or where no weight was cast.
    // For ResNet50's head that is 94 MB read and 47 MB written per
    // forward: on an Intel Xeon with AMX, a bf16 `layer4` pass took about
    // 0.95x the time, VGG19's no less (bench/results/
    // 2026-12-06-cpu-bf16-weights.md), for a second copy of the weights.
    std::unique_ptr<torch::jit::GraphFunction> head_autocast;
    int cast_weights = 0; // how many constants head_autocast holds cast
    // How many relus run inside the oneDNN call before them (in float32
    // on a CPU: onednn_relu.h)
    int fused_relus = 0;
    HeadKernels kernels; // those asked for, or plain where a frozen weight
                         // is NaN or Inf
    // Whether the tail is worth running on many rows at once
    // (wide_tail.cpp): only pooling, reshaping, fully connected layers and
    // pointwise operations, which keep little per row, with weights enough
    // that reading them once a run is much of a run's cost.
    bool wide_tail;
};

// Cuts exposed (a graph of self and x) for module, whose
// parameters already live where the head will run, and whose head runs
// under autocast to precision (float32: without autocast). Returns
// nullptr and says why when the cut is not possible (the head changes
// module state, say): the whole exposed forward then runs as before.
std::unique_ptr<SplitForward> split_head(const torch::jit::Module &module,
                                         torch::jit::Graph &exposed,
                                         HeadKernels kernels, bool fold,
                                         c10::ScalarType precision,
                                         std::string &why);

// Runs a split forward: the head without gradient, on at most head_rows
// of x's rows at a time (0: all at once), then the tail on all of them.
// head_seconds: the head's wall time (on a GPU, the time to queue it).
std::vector<c10::IValue> run_split(const SplitForward &split,
                                   const torch::jit::Module &module,
                                   const at::Tensor &x, int64_t head_rows,
                                   double &head_seconds);

// SplitForward::wide_tail for the tail_nodes of g, a graph of (self, x)
// for module (wide_tail.cpp).
bool is_wide_tail(torch::jit::Graph &g, const torch::jit::Module &module,
                  const std::vector<torch::jit::Node *> &tail_nodes);

} // namespace rsicam

#endif
