// rsicam — every layer's output shape at once (rsicam layers).
#include "expose_layers.h"
#include "model_impl.h"
#include "shim.h"

#include <map>

using rsicam::shim_call;

extern "C" {

int rsi_model_layer_shapes(rsi_model *m, int64_t h, int64_t w, int64_t *dims,
                           int *ndims)
{
    int rc = shim_call<int>(-1, "layer shapes", [&] {
        // each module once, however many names select it
        std::vector<std::string> paths;
        std::map<std::string, size_t> index;
        for (const auto &name : m->module_paths) {
            auto it = m->layer_module.find(name);
            const std::string &p =
                it == m->layer_module.end() ? name : it->second;
            if (index.emplace(p, paths.size()).second)
                paths.push_back(p);
        }
        std::vector<std::string> why;
        auto fn = rsicam::expose_layers(m->module, paths, &why);
        torch::NoGradGuard no_grad;
        const auto options = torch::TensorOptions().device(m->device);
        torch::jit::Stack stack{m->module._ivalue(),
                                torch::zeros({1, 3, h, w}, options)};
        fn->run(stack);
        auto outputs = stack.back().toTupleRef().elements();
        for (size_t i = 0; i < m->module_paths.size(); i++) {
            auto it = m->layer_module.find(m->module_paths[i]);
            const size_t k =
                index[it == m->layer_module.end() ? m->module_paths[i]
                                                  : it->second];
            ndims[i] = -1;
            if (!why[k].empty() || !outputs[k + 1].isTensor())
                continue;
            const auto sizes = outputs[k + 1].toTensor().sizes();
            ndims[i] = (int)std::min<size_t>(sizes.size(), RSI_LAYER_DIMS);
            for (int d = 0; d < ndims[i]; d++)
                dims[i * RSI_LAYER_DIMS + d] = sizes[d];
        }
        return 0;
    });
    if (rc < 0) {
        rsi_error_prefix("model '%s': ", m->path.c_str());
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return rc;
}

} // extern "C"
