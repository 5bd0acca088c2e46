// rsicam — a graph's reads of its module's attributes, resolved
// (attribute_reads.h).
#include "attribute_reads.h"

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <unordered_map>

namespace rsicam
{

std::vector<std::pair<torch::jit::Value *, c10::IValue>>
attribute_reads(torch::jit::Graph &g, const torch::jit::Module &module)
{
    using torch::jit::Block;
    using torch::jit::Node;
    using torch::jit::Value;
    std::vector<std::pair<Value *, c10::IValue>> reads;
    // the values known to hold an object: self, and submodules read so
    std::unordered_map<const Value *, c10::IValue> objects{
        {g.inputs()[0], module._ivalue()}};
    std::function<void(Block *)> visit = [&](Block *b) {
        for (Node *n : b->nodes()) {
            for (Block *inner : n->blocks())
                visit(inner);
            auto owner = n->kind() == c10::prim::GetAttr
                             ? objects.find(n->input())
                             : objects.end();
            if (owner == objects.end())
                continue;
            c10::IValue value =
                owner->second.toObjectRef().getAttr(n->s(c10::attr::name));
            if (value.isObject())
                objects[n->output()] = value;
            reads.emplace_back(n->output(), std::move(value));
        }
    };
    visit(g.block());
    return reads;
}

} // namespace rsicam
