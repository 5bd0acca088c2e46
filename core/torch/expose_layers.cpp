// rsicam — rewriting a TorchScript forward graph to expose layers.
//
// TorchScript keeps a module's structure in its graphs: a submodule call is
// `prim::CallMethod[name="forward"](receiver, ...)` where the receiver is a
// chain of `prim::GetAttr` from `self`. So a module path can be recovered
// from any call's receiver, and a layer is exposed by inlining the calls
// that lead to it until its own call sits in the top graph.
#include "expose_layers.h"
#include "layer_delta.h"
#include "precision.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_pooling.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/graph_rewrite_helper.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/peephole.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace rsicam
{

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// The module path a value refers to ("" for self), or nothing when the
// value is not a GetAttr chain from self.
static std::optional<std::string> module_path(Value *v, Value *self)
{
    if (v == self)
        return std::string();
    Node *n = v->node();
    if (n->kind() != c10::prim::GetAttr)
        return std::nullopt;
    auto parent = module_path(n->input(0), self);
    if (!parent)
        return std::nullopt;
    const std::string &name = n->s(c10::attr::name);
    return parent->empty() ? name : *parent + "." + name;
}

// Whether calls on `path` must be inlined to reach `layer` inside it.
static bool leads_to(const std::string &path, const std::string &layer)
{
    if (path.empty())
        return true;
    return layer.size() > path.size() &&
           layer.compare(0, path.size(), path) == 0 &&
           layer[path.size()] == '.';
}

// The method calls in block (with functions too: every call), in order.
static void collect_calls(torch::jit::Block *block, std::vector<Node *> &out,
                          bool functions = false)
{
    for (Node *n : block->nodes()) {
        if (n->kind() == c10::prim::CallMethod ||
            (functions && n->kind() == c10::prim::CallFunction))
            out.push_back(n);
        for (torch::jit::Block *b : n->blocks())
            collect_calls(b, out, functions);
    }
}

// Callees' graphs as libtorch's graph optimisation prepares them: inlined
// all the way down, then the peephole and constant passes (among them the
// one that drops batch norm's input-rank check, so that a frozen head can
// fold batch norm into the convolution before it). torch::jit::Inline would
// take each callee's cached optimised graph instead, which is prepared only
// if optimisation was on when the callee first ran: under the "simple"
// executor, or after a forward made under it, calls would stay. Its autocast
// pass is left out: it acts only while autocast is on, and rsicam turns
// autocast on only around a run (precision.h). One graph per function.
using Prepared =
    std::unordered_map<torch::jit::GraphFunction *, std::shared_ptr<Graph>>;

static void inline_calls(Graph &g, Prepared &prepared);

static Graph *prepared_graph(torch::jit::GraphFunction *f, Prepared &prepared)
{
    std::shared_ptr<Graph> &slot = prepared[f];
    if (!slot) {
        std::shared_ptr<Graph> g = f->graph()->copy();
        inline_calls(*g, prepared);
        torch::jit::PeepholeOptimize(g, /*disable_shape_peepholes=*/true);
        torch::jit::ConstantPropagationImmutableTypes(g);
        torch::jit::ConstantPooling(g);
        slot = std::move(g);
    }
    return slot.get();
}

// Inlines every call in g that can be, each callee prepared as above.
static void inline_calls(Graph &g, Prepared &prepared)
{
    std::vector<Node *> calls;
    collect_calls(g.block(), calls, /*functions=*/true);
    for (Node *call : calls)
        if (torch::jit::GraphFunction *callee =
                torch::jit::tryToGraphFunction(call)) {
            if (call->kind() == c10::prim::CallFunction)
                call->removeInput(0); // the function itself
            torch::jit::inlineCallTo(call, callee,
                                     prepared_graph(callee, prepared));
        }
}

static void inline_all(Graph &g)
{
    Prepared prepared;
    inline_calls(g, prepared);
}

// Where a layer's output is used: `shift` is the node computing A + delta
// (layer_delta.h) that every later use reads; A there is end_autocast(output),
// so that the network after the first layer runs in float32 (precision.h). It
// is inserted as soon as the layer's output is known, because inlining further
// calls can replace that output value (a Sequential's output is its last
// child's) but never the node reading it.
struct Site {
    Node *shift = nullptr;
    int64_t index = 0; // the layer's place in the list: its delta's slot
    int calls = 0;
    bool nested = false;
    bool not_tensor = false;
};

static void record(Site &site, Value *output, Node *at, Graph &g)
{
    site.calls++;
    site.nested = site.nested || at->owningBlock() != g.block();
    site.not_tensor = !output->type()->isSubtypeOf(*c10::TensorType::get());
    if (site.calls > 1 || site.nested || site.not_tensor)
        return; // reported as an error once inlining is done
    torch::jit::WithInsertPoint guard(output->node()->next());
    Value *full =
        g.insert(c10::Symbol::fromQualString(end_autocast_op), {output});
    Value *shifted = g.insert(c10::Symbol::fromQualString(add_delta_op),
                              {full, site.index, /*copy=*/true});
    output->replaceAllUsesWith(shifted);
    full->node()->replaceInput(0, output);
    site.shift = shifted->node();
}

// Whether an operator's schema says all it does with its arguments.
static bool schema_is_whole(const Node *n)
{
    const torch::jit::Operator *op = n->maybeOperator();
    if (!op)
        return false;
    const c10::AliasAnalysisKind kind = op->aliasAnalysisKind();
    return kind == c10::AliasAnalysisKind::FROM_SCHEMA ||
           kind == c10::AliasAnalysisKind::PURE_FUNCTION;
}

// Whether anything may write into v or into a view of it: a use whose
// schema marks that argument written (only a use after `after` counts,
// when given), or one that may pass it on (a view, a container, rsicam's
// own operators) to a use that may. A use that puts it where the schema
// does not follow (into a list: `Tensor(c -> *)`), or whose schema does not
// say (a branch's result, a loop's, a custom operator), counts as a write
// wherever it is. (AliasDb answers the same question, but takes rsicam's
// own operators, CONSERVATIVE, for writers of all they touch.)
static bool may_be_written(const Value *v, const Node *after = nullptr)
{
    const Graph &g = *v->owningGraph();
    const c10::Symbol add_delta = c10::Symbol::fromQualString(add_delta_op),
                      end_autocast =
                          c10::Symbol::fromQualString(end_autocast_op);
    for (const torch::jit::Use &use : v->uses()) {
        const Node *n = use.user;
        const c10::Symbol kind = n->kind();
        bool writes = false, escapes = false, passes_on = false;
        if (n == g.return_node()) {
            // to rsicam, which only reads it
        } else if (kind == c10::prim::TupleConstruct ||
                   kind == c10::prim::ListConstruct || kind == add_delta ||
                   kind == end_autocast) {
            passes_on = true;
        } else if (schema_is_whole(n) &&
                   use.offset < n->schema().arguments().size()) {
            const c10::AliasInfo *alias =
                n->schema().arguments()[use.offset].alias_info();
            writes = alias && alias->isWrite();
            escapes = alias && alias->isWildcardAfter();
            passes_on = alias != nullptr;
        } else {
            escapes = true;
        }
        if (escapes || (writes && (!after || n->isAfter(after))))
            return true;
        if (passes_on)
            for (const Value *out : n->outputs())
                if (may_be_written(out, after))
                    return true;
    }
    return false;
}

// Adds to `shared` the values made before v whose memory v may be: the
// argument that each in-place or view operation returns, followed back
// (ResNet's block output is relu_(add_(bn3(...), identity)): bn3's output).
// False when a producer's schema does not say.
static bool shares_memory_with(const Value *v,
                               std::vector<const Value *> &shared)
{
    const Node *n = v->node();
    if (!schema_is_whole(n) || v->offset() >= n->schema().returns().size())
        return false;
    const c10::AliasInfo *out = n->schema().returns()[v->offset()].alias_info();
    if (!out)
        return true; // a new tensor
    const auto &args = n->schema().arguments();
    for (size_t i = 0; i < n->inputs().size() && i < args.size(); i++) {
        const c10::AliasInfo *in = args[i].alias_info();
        if (in && in->beforeSets() == out->beforeSets()) {
            shared.push_back(n->input(i));
            if (!shares_memory_with(n->input(i), shared))
                return false;
        }
    }
    return true;
}

// Whether anything may write into a layer's output once it is made:
// through what reads it (`shifted`, layer_delta.h) or through a value it
// shares memory with, used again after it.
static bool written_after(const Value *output, const Value *shifted)
{
    std::vector<const Value *> shared;
    if (may_be_written(shifted) || !shares_memory_with(output, shared))
        return true;
    for (const Value *v : shared)
        if (may_be_written(v, output->node()))
            return true;
    return false;
}

// Inlines, one call at a time, every call that leads to a layer; calls of
// a layer that also leads to another layer are inlined too, their output
// recorded. Returns when no call needs inlining.
static void inline_towards(Graph &g, const std::vector<std::string> &layers,
                           std::vector<Site> &sites)
{
    Value *self = g.inputs()[0];
    for (;;) {
        std::vector<Node *> calls;
        collect_calls(g.block(), calls);
        bool inlined = false;
        for (Node *call : calls) {
            auto path = module_path(call->input(0), self);
            if (!path)
                continue;
            bool needed = false;
            for (const auto &layer : layers)
                needed = needed || leads_to(*path, layer);
            if (!needed)
                continue;
            torch::jit::GraphFunction *callee =
                torch::jit::tryToGraphFunction(call);
            if (!callee)
                continue;
            bool is_forward = call->s(c10::attr::name) == "forward";
            Node *anchor = call->next();
            // The callee's own graph, not its optimized graph: that one is
            // inlined all the way down and would lose the module calls.
            auto outputs =
                torch::jit::inlineCallTo(call, callee, callee->graph().get());
            for (size_t i = 0; i < layers.size(); i++)
                if (is_forward && layers[i] == *path && outputs.size() == 1)
                    record(sites[i], outputs[0], anchor, g);
            inlined = true;
            break; // the node list changed: collect again
        }
        if (!inlined)
            return;
    }
}

std::unique_ptr<torch::jit::GraphFunction>
expose_layers(const torch::jit::Module &module,
              const std::vector<std::string> &layers,
              std::vector<std::string> *unexposable)
{
    auto graph = module.get_method("forward").graph()->copy();
    Graph &g = *graph;
    // forward(self, x); the deltas are slotted in the order of the layers
    std::vector<Site> sites(layers.size());
    for (size_t i = 0; i < layers.size(); i++)
        sites[i].index = (int64_t)i;
    inline_towards(g, layers, sites);

    // The layers' own calls, left as calls.
    std::vector<Node *> calls;
    collect_calls(g.block(), calls);
    for (Node *call : calls) {
        auto path = module_path(call->input(0), g.inputs()[0]);
        if (!path || call->s(c10::attr::name) != "forward")
            continue;
        for (size_t i = 0; i < layers.size(); i++)
            if (layers[i] == *path && call->outputs().size() == 1)
                record(sites[i], call->output(), call, g);
    }

    if (getenv("RSICAM_DEBUG_GRAPH"))
        std::cerr << "rsicam: forward after inlining:\n" << g;
    std::vector<std::string> why(layers.size());
    for (size_t i = 0; i < layers.size(); i++) {
        const Site &s = sites[i];
        if (s.calls == 0)
            why[i] = "layer '" + layers[i] + "' is never called by forward";
        else if (s.calls > 1)
            why[i] = "layer '" + layers[i] + "' is called " +
                     std::to_string(s.calls) +
                     " times by forward; choose a module that runs once";
        else if (s.nested)
            why[i] = "layer '" + layers[i] +
                     "' runs inside control flow and cannot be exposed";
        else if (s.not_tensor)
            why[i] = "layer '" + layers[i] + "' does not output a tensor";
        if (!why[i].empty() && !unexposable)
            throw std::invalid_argument(why[i]);
    }
    if (unexposable)
        *unexposable = why;

    // Outputs (logits, A_1..A_n). The logits are read only now: when a
    // layer is the last module, forward returns its shifted value.
    std::vector<Value *> outputs{g.outputs()[0]};
    for (size_t i = 0; i < sites.size(); i++) // the logits stand in
        outputs.push_back(why[i].empty() ? sites[i].shift->input(0)
                                         : g.outputs()[0]);
    torch::jit::WithInsertPoint guard(g.return_node());
    Value *tuple = g.insertNode(g.createTuple(outputs))->output();
    g.eraseOutput(0);
    g.registerOutput(tuple);
    // Traced models call aten::_convolution, which libtorch 1.13's CPU
    // autocast leaves in float32 (its CUDA autocast does not): as
    // aten::conv2d and the like, which both cast, a bf16 head is bf16 on
    // every device. The rewrite needs the convolutions in this graph, so
    // every remaining call is inlined (the graph executor would inline
    // them anyway, and the frozen head can only be cut from a graph
    // without calls); with the global cuDNN flags at their defaults, as
    // the trace recorded them, fp32 results do not change.
    inline_all(g);
    torch::jit::graph_rewrite_helper::replaceConvolutionWithAtenConv(graph);
    float32_after_autocast(g);
    // Now that the graph is whole: the layers nothing writes into later
    // need no copy (layer_delta.h).
    for (const Site &site : sites) {
        if (!site.shift)
            continue;
        // shift reads end_autocast(output) (record())
        const Value *output = site.shift->input(0)->node()->input(0);
        if (!written_after(output, site.shift->output())) {
            torch::jit::WithInsertPoint here(site.shift);
            site.shift->replaceInput(2, g.insertConstant(false));
        }
    }
    torch::jit::EliminateDeadCode(graph);
    if (getenv("RSICAM_DEBUG_GRAPH"))
        std::cerr << "rsicam: forward as exposed:\n" << g;

    return std::make_unique<torch::jit::GraphFunction>("rsicam_exposed_forward",
                                                       graph, nullptr);
}

} // namespace rsicam
