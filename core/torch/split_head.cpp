// rsicam — cutting the exposed forward into a frozen head and a tail.
//
// Every top-level node of the exposed graph is one of three kinds, decided
// by what it reads (its inputs and whatever its blocks read from outside):
//   tail:   something a delta reaches; autograd records it;
//   head:   something the input reaches but no delta: no gradient can flow
//           through it, so it may run frozen;
//   static: neither (constants, attribute reads, lists of constants);
//           copied into whichever part needs it.
// The head's values that the tail (or the result) reads become the
// tail's inputs. Freezing the head turns the module attributes it reads
// into constants; libtorch's frozen-graph passes then (in float32) move
// its convolutions to oneDNN on a CPU (where rsicam then runs each relu
// inside the batch norm or sum before it: onednn_relu.h) or fuse them with
// what follows on a GPU and, where asked, fold batch norm into them.
#include "split_head.h"
#include "attribute_reads.h"
#include "head_pool.h"
#include "layer_delta.h"
#include "onednn_relu.h"
#include "precision.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <unordered_map>
#include <unordered_set>

namespace rsicam
{

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace
{

enum class Part { statik, head, tail };

// Calls f on every value n reads: its inputs and, inside its blocks, every
// input and block output (values defined inside never match a caller's
// sets, so only reads from outside count).
void for_each_read(Node *n, const std::function<void(Value *)> &f)
{
    for (Value *v : n->inputs())
        f(v);
    for (Block *b : n->blocks()) {
        for (Node *inner : b->nodes())
            for_each_read(inner, f);
        for (Value *v : b->outputs())
            f(v);
    }
}

// The top-level node that n is, or sits inside.
Node *top_level(Node *n, const Graph &g)
{
    while (n->owningBlock() != g.block())
        n = n->owningBlock()->owningNode();
    return n;
}

// Whether n, or a node inside it, changes module state or calls out:
// a head that did could not be frozen.
bool escapes_freezing(Node *n)
{
    const c10::Symbol k = n->kind();
    if (k == c10::prim::SetAttr || k == c10::prim::CallMethod ||
        k == c10::prim::CallFunction)
        return true;
    for (Block *b : n->blocks())
        for (Node *inner : b->nodes())
            if (escapes_freezing(inner))
                return true;
    return false;
}

struct Cut {
    std::vector<Part> parts;       // per top-level node, in order
    std::vector<Value *> frontier; // head values the tail reads
};

// Classifies g's nodes (inputs self, x) and finds the frontier. The deltas
// enter at the rsicam::add_delta nodes (layer_delta.h).
Cut classify(Graph &g)
{
    const c10::Symbol add_delta = c10::Symbol::fromQualString(add_delta_op);
    std::unordered_set<const Value *> from_x{g.inputs()[1]}, from_delta;
    Cut cut;
    std::unordered_map<const Node *, Part> part_of;
    for (Node *n : g.nodes()) {
        bool delta = n->kind() == add_delta, x = false;
        for_each_read(n, [&](Value *v) {
            delta = delta || from_delta.count(v);
            x = x || from_x.count(v);
        });
        Part p = delta ? Part::tail : x ? Part::head : Part::statik;
        // a node of its own (an assertion, a loop) is kept with the head
        if (p == Part::statik && (n->hasSideEffects() || !n->blocks().empty()))
            p = Part::head;
        if (p != Part::statik)
            for (Value *out : n->outputs())
                (p == Part::tail ? from_delta : from_x).insert(out);
        cut.parts.push_back(p);
        part_of[n] = p;
    }
    auto read_by_tail = [&](Value *v) {
        for (const torch::jit::Use &use : v->uses()) {
            Node *user = top_level(use.user, g); // the return node is one
            if (user == g.return_node() || part_of[user] == Part::tail)
                return true;
        }
        return false;
    };
    if (read_by_tail(g.inputs()[1]))
        cut.frontier.push_back(g.inputs()[1]);
    size_t i = 0;
    for (Node *n : g.nodes()) {
        if (cut.parts[i++] == Part::head)
            for (Value *out : n->outputs())
                if (read_by_tail(out))
                    cut.frontier.push_back(out);
    }
    return cut;
}

// v's counterpart in copy, a node-for-node copy of g.
Value *counterpart(Value *v, Graph &g, Graph &copy)
{
    if (v->node() == g.param_node())
        return copy.inputs()[v->offset()];
    auto it = copy.nodes().begin();
    for (Node *n : g.nodes()) {
        if (n == v->node())
            return it->outputs()[v->offset()];
        ++it;
    }
    throw std::logic_error("split_head: value not found in the copy");
}

std::vector<Node *> top_nodes(Graph &g)
{
    return {g.nodes().begin(), g.nodes().end()};
}

// Destroys the nodes of part p, last first (so that each one's users, all
// later, are gone before it). parts is indexed by g's top-level nodes, so
// g must not have gained any since the cut was made (a node added at the
// end once read past parts' end, and now and then the head's output tuple
// was destroyed in use).
void drop(Graph &g, const std::vector<Part> &parts, Part p)
{
    std::vector<Node *> nodes = top_nodes(g);
    if (nodes.size() != parts.size())
        throw std::logic_error("split_head: the graph changed after the cut");
    for (size_t i = nodes.size(); i-- > 0;)
        if (parts[i] == p)
            nodes[i]->destroy();
}

// Turns attribute reads from self into constants; false (and why) when an
// attribute cannot be one or self is used otherwise.
bool freeze_attributes(std::shared_ptr<Graph> &graph,
                       const torch::jit::Module &module, std::string &why)
{
    Graph &g = *graph;
    for (const auto &[read, value] : attribute_reads(g, module)) {
        if (value.isObject()) // a submodule: its own reads are listed
            continue;
        torch::jit::WithInsertPoint here(read->node());
        auto constant = torch::jit::tryInsertConstant(g, value);
        if (!constant) {
            why = "attribute '" + read->node()->s(c10::attr::name) + "' (" +
                  value.tagKind() + ") cannot be frozen";
            return false;
        }
        read->replaceAllUsesWith(*constant);
    }
    torch::jit::EliminateDeadCode(g.block());
    if (g.inputs()[0]->hasUses()) {
        why = "the part before the layers uses the module itself";
        return false;
    }
    g.eraseInput(0);
    // with the attributes constant, branches such as batch norm's
    // `if self.training:` (which counts batches in place) fall away
    torch::jit::ConstantPropagation(graph);
    // an in-place operation on a parameter would change the constant
    torch::jit::AliasDb aliases(graph);
    for (Node *n : g.nodes())
        if (n->kind() == c10::prim::Constant &&
            n->output()->type()->cast<c10::TensorType>() &&
            aliases.hasWriters(n->output())) {
            why = "the part before the layers changes a parameter in place";
            return false;
        }
    return true;
}

// A node-for-node copy of g, with the frontier's values in it.
std::shared_ptr<Graph> copy_of(Graph &g, const Cut &cut,
                               std::vector<Value *> &frontier)
{
    std::shared_ptr<Graph> copy = g.copy();
    for (Value *v : cut.frontier)
        frontier.push_back(counterpart(v, g, *copy));
    return copy;
}

// head(self, x) -> (frontier) from a copy of g.
std::shared_ptr<Graph> make_head(Graph &g, const Cut &cut)
{
    std::vector<Value *> outs;
    std::shared_ptr<Graph> head = copy_of(g, cut, outs);
    while (!head->outputs().empty())
        head->eraseOutput(0);
    drop(*head, cut.parts, Part::tail); // before the tuple: no new node yet
    {
        torch::jit::WithInsertPoint end(head->return_node());
        head->registerOutput(
            head->insertNode(head->createTuple(outs))->output());
    }
    return head;
}

// tail(self, frontier) -> (logits, A...) from a copy of g.
std::shared_ptr<Graph> make_tail(Graph &g, const Cut &cut)
{
    std::vector<Value *> inner;
    std::shared_ptr<Graph> tail = copy_of(g, cut, inner);
    for (size_t i = 0; i < inner.size(); i++) {
        Value *in = tail->insertInput(2 + i, "frontier_" + std::to_string(i));
        in->setType(inner[i]->type());
        inner[i]->replaceAllUsesWith(in);
    }
    drop(*tail, cut.parts, Part::head);
    tail->eraseInput(1); // x: only the head read it
    torch::jit::EliminateDeadCode(tail);
    return tail;
}

// Whether every floating-point constant of g (the frozen weights among
// them) is finite. oneDNN's relu makes NaN 0 and its max pooling makes it
// the lowest float, where aten's propagate it (and cuDNN's fused
// activations are not documented to): a NaN weight would then give finite
// logits, and a map, where the model as written gives NaN and is refused.
bool constants_finite(const Block &b)
{
    for (const Node *n : b.nodes()) {
        for (const Block *inner : n->blocks())
            if (!constants_finite(*inner))
                return false;
        if (n->kind() != c10::prim::Constant ||
            !n->output()->type()->cast<c10::TensorType>())
            continue;
        const at::Tensor t = torch::jit::toIValue(n->output())->toTensor();
        if (!t.is_floating_point() || t.numel() == 0)
            continue;
        // the least and the greatest are NaN where any value is, and
        // infinite where one is; one read, where isfinite().all() (a bool
        // copy, then a reduction) took 190 ms for ResNet50's weights
        const auto [least, greatest] = at::aminmax(t);
        if (!at::isfinite(least).item<bool>() ||
            !at::isfinite(greatest).item<bool>())
            return false;
    }
    return true;
}

// The head for rows run as autocast stands now on device.
torch::jit::GraphFunction &head_for(const SplitForward &split,
                                    c10::DeviceType device)
{
    return split.head_autocast && autocast_enabled(device)
               ? *split.head_autocast
               : *split.head;
}

// The head's values for parts of x's rows (sizes), each value joined along
// the rows, each part started with autocast as given; empty where a value
// is not a tensor with a row per row of its part (an int list the tail
// reads, say).
std::vector<c10::IValue> run_head_parts(const SplitForward &split,
                                        const at::Tensor &x,
                                        const std::vector<int64_t> &sizes,
                                        bool autocast)
{
    const c10::DeviceType device = x.device().type();
    std::vector<std::vector<at::Tensor>> values;
    int64_t from = 0;
    for (int64_t rows : sizes) {
        set_autocast(device, autocast);
        torch::jit::Stack stack{x.narrow(0, from, rows)};
        head_for(split, device).run(stack);
        const auto &out = stack.back().toTupleRef().elements();
        values.resize(out.size());
        for (size_t i = 0; i < out.size(); i++) {
            if (!out[i].isTensor() || out[i].toTensor().dim() < 1 ||
                out[i].toTensor().size(0) != rows)
                return {};
            values[i].push_back(out[i].toTensor());
        }
        from += rows;
    }
    std::vector<c10::IValue> joined;
    for (auto &v : values)
        joined.emplace_back(at::cat(v));
    return joined;
}

// The head's values for x: in parts of at most head_rows + 1 rows, as
// equal as they come (51 rows at 8: six parts of 9 and 8, two kernel
// shapes as a forward of 51 points at --batch 8 would have), else whole.
std::vector<c10::IValue> run_head_rows(const SplitForward &split,
                                       const at::Tensor &x, int64_t head_rows)
{
    const int64_t rows = x.size(0);
    if (head_rows > 0 && rows > head_rows + 1) {
        const int64_t n = (rows + head_rows) / (head_rows + 1);
        std::vector<int64_t> sizes;
        for (int64_t i = 0; i < n; i++)
            sizes.push_back(rows / n + (i < rows % n));
        // the head's first exposed layer switches autocast off
        // (precision.h): each part starts in the state the first did
        const c10::DeviceType device = x.device().type();
        const bool autocast = autocast_enabled(device);
        std::vector<c10::IValue> joined =
            run_head_parts(split, x, sizes, autocast);
        if (!joined.empty())
            return joined;
        set_autocast(device, autocast);
    }
    torch::jit::Stack stack{x};
    head_for(split, x.device().type()).run(stack);
    return stack.back().toTupleRef().elements().vec();
}

// The head's values for x, contiguous as the tail expects them whatever
// the layout the head ran in. Rows in float32 (a bfloat16 path's ends)
// run as written: float32 convolutions would round apart channels-last.
std::vector<c10::IValue> run_head(const SplitForward &split,
                                  const at::Tensor &x, int64_t head_rows)
{
    torch::NoGradGuard no_grad; // nothing in the head has a gradient
    const bool nhwc = split.kernels == HeadKernels::channels_last &&
                      x.dim() == 4 && autocast_enabled(x.device().type());
    if (!nhwc)
        return run_head_rows(split, x, head_rows);
    std::vector<c10::IValue> values = run_head_rows(
        split, x.contiguous(at::MemoryFormat::ChannelsLast), head_rows);
    for (c10::IValue &v : values)
        if (v.isTensor())
            v = v.toTensor().contiguous();
    return values;
}

} // namespace

std::unique_ptr<SplitForward> split_head(const torch::jit::Module &module,
                                         torch::jit::Graph &exposed,
                                         HeadKernels kernels, bool fold,
                                         c10::ScalarType precision,
                                         std::string &why)
{
    std::shared_ptr<Graph> g = exposed.copy();
    Cut cut = classify(*g);
    size_t i = 0;
    std::vector<Node *> tail_nodes;
    for (Node *n : g->nodes()) {
        const Part p = cut.parts[i++];
        if (p == Part::head && escapes_freezing(n)) {
            why = "the part before the layers runs '" +
                  std::string(n->kind().toQualString()) + "'";
            return nullptr;
        }
        if (p == Part::tail)
            tail_nodes.push_back(n);
    }
    // a head in parts joins tensors along their rows: a value of another
    // type crossing the cut (an int list, say) would make every run try
    // parts and fall back to the whole head (run_head)
    const bool tensors_cross = std::all_of(
        cut.frontier.begin(), cut.frontier.end(),
        [](const Value *v) { return v->type()->cast<c10::TensorType>(); });
    const bool wide_tail =
        tensors_cross && is_wide_tail(*g, module, tail_nodes);
    std::shared_ptr<Graph> head = make_head(*g, cut);
    if (!freeze_attributes(head, module, why))
        return nullptr;
    const bool finite = constants_finite(*head->block());
    if (!finite)
        kernels = HeadKernels::plain;
    torch::jit::OptimizeFrozenGraph(head, /*optimize_numerics=*/fold);
    int fused_relus = 0;
    // libtorch registers the fusion with its CUDA library: on a CPU
    // build it does nothing
    if (kernels != HeadKernels::plain)
        torch::jit::FuseFrozenConvAddRelu(head);
    if (kernels == HeadKernels::onednn) {
        torch::jit::ConvertFrozenOpsToMKLDNN(head);
        fused_relus = fuse_onednn_relus(head);
    }
    if ((kernels == HeadKernels::plain ||
         kernels == HeadKernels::channels_last) &&
        finite)
        pool_on_onednn(*head);
    torch::jit::EliminateDeadCode(head);

    std::shared_ptr<Graph> tail = make_tail(*g, cut);
    if (std::getenv("RSICAM_DEBUG_GRAPH"))
        std::cerr << "rsicam: frozen head:\n"
                  << *head << "rsicam: tail:\n"
                  << *tail;
    auto split = std::make_unique<SplitForward>();
    split->kernels = kernels;
    split->fused_relus = fused_relus;
    split->wide_tail = wide_tail;
    if (precision != c10::kFloat) {
        std::shared_ptr<Graph> cast = head->copy();
        split->cast_weights = cast_weights_for_autocast(*cast, precision);
        if (split->cast_weights > 0)
            split->head_autocast = std::make_unique<torch::jit::GraphFunction>(
                "rsicam_frozen_head", cast, nullptr);
    }
    split->head = std::make_unique<torch::jit::GraphFunction>(
        "rsicam_frozen_head", head, nullptr);
    split->tail = std::make_unique<torch::jit::GraphFunction>("rsicam_tail",
                                                              tail, nullptr);
    return split;
}

std::vector<c10::IValue> run_split(const SplitForward &split,
                                   const torch::jit::Module &module,
                                   const at::Tensor &x, int64_t head_rows,
                                   double &head_seconds)
{
    const auto start = std::chrono::steady_clock::now();
    std::vector<c10::IValue> frontier = run_head(split, x, head_rows);
    head_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    torch::jit::Stack stack;
    stack.emplace_back(module._ivalue());
    for (auto &f : frontier)
        stack.push_back(std::move(f));
    split.tail->run(stack);
    return stack.back().toTupleRef().elements().vec();
}

} // namespace rsicam
