// rsicam — general TorchScript modules (a VAE's encode/decode, say).
#include "shim.h"

#include <torch/script.h>

#include "model_info.h"
#include "rsicam/model.h"

using rsicam::shim_call;
using rsicam::unwrap;
using rsicam::wrap;

struct rsi_module {
    torch::jit::Module module;
    std::string path;
    rsi_model_info info{};
    ~rsi_module()
    {
        rsi_model_info_release(&info);
    }
};

extern "C" {

rsi_module *rsi_module_load(const char *path)
{
    auto m = std::make_unique<rsi_module>();
    if (!rsicam::load_file(path, "module", m->module, m->path, m->info))
        return nullptr;
    return m.release();
}

void rsi_module_free(rsi_module *m)
{
    delete m;
}

rsi_model_info *rsi_module_get_info(rsi_module *m)
{
    return m ? &m->info : nullptr;
}

int rsi_module_has_method(rsi_module *m, const char *method)
{
    return shim_call<int>(0, "module", [&] {
        return m->module.find_method(method).has_value() ? 1 : 0;
    });
}

rsi_tensor *rsi_module_call(rsi_module *m, const char *method,
                            const rsi_tensor *x)
{
    rsi_tensor *out = shim_call<rsi_tensor *>(nullptr, method, [&] {
        torch::NoGradGuard no_grad;
        auto fn = m->module.find_method(method);
        if (!fn)
            throw std::invalid_argument("no method named '" +
                                        std::string(method) + "'");
        // The module stays where it was loaded (the CPU); the result goes
        // back to the caller's device.
        const at::Tensor &in = unwrap(x);
        c10::IValue r = (*fn)({in.to(c10::kCPU)});
        // encode() may return (mu, logvar): the first tensor is the point.
        if (r.isTuple())
            r = r.toTupleRef().elements().at(0);
        if (!r.isTensor())
            throw std::runtime_error("does not return a tensor");
        return wrap(r.toTensor().to(in.device()));
    });
    if (!out) {
        rsi_error_prefix("module '%s': ", m->path.c_str());
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return out;
}

} // extern "C"
