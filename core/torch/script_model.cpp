// rsicam — classifiers built from TorchScript source (the host's script_*
// services in plugin.h), for model plugins that import other formats.
//
// Each submodule gets a class of its own in one compilation unit, its
// buffers registered before its source is compiled; the model's forward
// calls them as attributes, so the layer rewrite (expose_layers.cpp) finds
// each by its module path exactly as in a scripted PyTorch model.
#include "shim.h"

#include <torch/script.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "model_info.h"

using rsicam::shim_call;
using rsicam::unwrap;

struct rsi_script_model {
    std::string path;
    std::shared_ptr<torch::jit::CompilationUnit> unit;
    torch::jit::Module root;
    std::vector<std::pair<std::string, std::string>> names;
    std::set<std::string> named;
};

namespace
{

// Compiles source into module; on failure throws the compiler's first
// non-empty line (its messages start with a newline), and with
// RSICAM_DEBUG_SCRIPT set prints the source and the whole message.
void compile(torch::jit::Module &module, const std::string &source,
             const std::string &what)
{
    try {
        module.define(source);
    } catch (const std::exception &e) {
        const std::string msg = e.what();
        if (getenv("RSICAM_DEBUG_SCRIPT"))
            std::cerr << "rsicam: " << what << ":\n"
                      << source << "\n"
                      << msg << "\n";
        size_t start = msg.find_first_not_of(" \n");
        start = start == std::string::npos ? 0 : start;
        const size_t end = msg.find('\n', start);
        throw std::runtime_error(
            "TorchScript does not compile: " +
            msg.substr(start, end == std::string::npos ? end : end - start));
    }
}

void model_error(const rsi_script_model *b)
{
    rsi_error_prefix("model '%s': ", b ? b->path.c_str() : "(null)");
    rsi_error_reclass(RSI_ERR_MODEL);
}

} // namespace

extern "C" {

rsi_script_model *rsi_script_new(const char *path)
{
    auto *b = shim_call<rsi_script_model *>(nullptr, "building", [&] {
        auto s = std::make_unique<rsi_script_model>();
        s->path = path ? path : "";
        s->unit = std::make_shared<torch::jit::CompilationUnit>();
        s->root = torch::jit::Module(
            c10::QualifiedName("__torch__.rsicam_script.Model"), s->unit,
            /*shouldMangle=*/true);
        s->root.register_attribute("training", c10::BoolType::get(), false);
        return s.release();
    });
    if (!b)
        model_error(nullptr);
    return b;
}

int rsi_script_add_module(rsi_script_model *b, const char *name,
                          const char *source, const char *const *buffer_names,
                          const rsi_tensor *const *buffers, int n_buffers)
{
    const std::string doing =
        std::string("submodule '") + (name ? name : "") + "'";
    int rc = shim_call<int>(-1, doing.c_str(), [&] {
        torch::jit::Module sub(
            c10::QualifiedName(std::string("__torch__.rsicam_script.") + name),
            b->unit, /*shouldMangle=*/true);
        // eval() and train() expect every module to have it
        sub.register_attribute("training", c10::BoolType::get(), false);
        for (int k = 0; k < n_buffers; k++)
            sub.register_buffer(buffer_names[k], unwrap(buffers[k]));
        compile(sub, source, doing);
        b->root.register_module(name, sub);
        return 0;
    });
    if (rc < 0)
        model_error(b);
    return rc;
}

int rsi_script_add_layer_name(rsi_script_model *b, const char *layer,
                              const char *module_path)
{
    return shim_call<int>(-1, "layer name", [&] {
        if (b->named.insert(layer).second)
            b->names.emplace_back(layer, module_path);
        return 0;
    });
}

rsi_model *rsi_script_finish(rsi_script_model *b, const char *source,
                             const char *const *metadata, int n_metadata)
{
    rsi_model_info info;
    rsi_model_info_init(&info);
    for (int k = 0; k < n_metadata; k++)
        if (rsi_model_info_parse(&info, metadata[k], b->path.c_str()) < 0) {
            rsi_model_info_release(&info);
            return nullptr; // the error names the file
        }
    rsi_model *m = shim_call<rsi_model *>(nullptr, "forward", [&] {
        compile(b->root, source, "forward");
        return rsicam::model_from_module(b->root, b->path, info, b->names);
    });
    rsi_model_info_release(&info); // empty when the model took it
    if (!m)
        model_error(b);
    return m;
}

void rsi_script_free(rsi_script_model *b)
{
    delete b;
}

} // extern "C"
