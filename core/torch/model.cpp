// rsicam — model services (model.h): TorchScript classifiers.
#include "expose_layers.h"
#include "precision.h"
#include "shim.h"

#include <torch/script.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model_info.h"
extern "C" {
#include "nearest.h"
}
#include "rsicam/model.h"

using rsicam::shim_call;
using rsicam::unwrap;
using rsicam::wrap;

struct rsi_model {
    torch::jit::Module module;
    std::string path;
    rsi_model_info info{};
    c10::Device device = c10::kCPU; // where the module and its inputs live
    // the part before the first exposed layer: float32 or autocast bf16
    c10::ScalarType head_precision = c10::kFloat;
    std::vector<std::string> module_paths;
    std::vector<const char *> module_path_ptrs;
    std::vector<std::string> layers;
    std::unique_ptr<torch::jit::GraphFunction> exposed;
    // Per input size (H, W): each layer's activation shape without batch.
    std::map<std::pair<int64_t, int64_t>, std::vector<std::vector<int64_t>>>
        act_shapes;
    ~rsi_model()
    {
        rsi_model_info_release(&info);
    }
};

namespace rsicam
{

// Loads a TorchScript file with its rsicam.json metadata, in eval mode and
// with parameters that never require grad (so that only what depends on an
// input or a delta is recorded by autograd).
static torch::jit::Module load_module(const char *path, rsi_model_info &info)
{
    rsi_model_info_init(&info);
    torch::jit::ExtraFilesMap extra{{RSI_MODEL_EXTRA_FILE, ""}};
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, c10::nullopt, extra);
    } catch (const c10::Error &e) {
        // The archive reader fails first on anything torch.jit.save() did
        // not write; its own words ("constants.pkl: file not found") do not
        // say so.
        std::string what = e.what_without_backtrace();
        if (what.find("PytorchStreamReader") == std::string::npos)
            throw;
        throw std::runtime_error(
            "not a TorchScript file (expected torch.jit.save() of a traced or "
            "scripted model, not a torch.save() checkpoint): " +
            what.substr(0, what.find('\n')));
    }
    module.eval();
    for (auto p : module.parameters())
        p.requires_grad_(false);
    const std::string &meta = extra[RSI_MODEL_EXTRA_FILE];
    if (!meta.empty() && rsi_model_info_parse(&info, meta.c_str(), path) < 0)
        throw std::runtime_error(rsi_error_message());
    return module;
}

bool load_file(const char *path, const char *kind, torch::jit::Module &module,
               std::string &path_out, rsi_model_info &info) noexcept
{
    const std::string doing = std::string("cannot load TorchScript ") + kind;
    bool ok = shim_call<bool>(false, doing.c_str(), [&] {
        path_out = path ? path : "";
        module = load_module(path, info);
        return true;
    });
    if (!ok) {
        // rsicam.json errors already name the file
        if (!path || !std::strstr(rsi_error_message(), path))
            rsi_error_prefix("%s '%s': ", kind, path ? path : "(null)");
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return ok;
}

// Checks that a model output is logits [B, classes] for a batch of b.
static at::Tensor as_logits(const c10::IValue &out, int64_t b,
                            const std::string &path)
{
    if (!out.isTensor())
        throw std::runtime_error("model '" + path +
                                 "': forward does not return a tensor");
    at::Tensor t = out.toTensor();
    if (t.dim() != 2 || t.size(0) != b)
        throw std::runtime_error(
            "model '" + path + "': output has shape " + c10::str(t.sizes()) +
            ", expected [N, classes] with N = " + std::to_string(b));
    return t;
}

} // namespace rsicam

extern "C" {

rsi_model *rsi_model_load(const char *path)
{
    auto m = std::make_unique<rsi_model>();
    if (!rsicam::load_file(path, "model", m->module, m->path, m->info))
        return nullptr;
    bool ok = shim_call<bool>(false, "model", [&] {
        for (const auto &named : m->module.named_modules())
            if (!named.name.empty())
                m->module_paths.push_back(named.name);
        for (const auto &p : m->module_paths)
            m->module_path_ptrs.push_back(p.c_str());
        return true;
    });
    return ok ? m.release() : nullptr;
}

void rsi_model_free(rsi_model *m)
{
    delete m;
}

rsi_model_info *rsi_model_get_info(rsi_model *m)
{
    return m ? &m->info : nullptr;
}

const char *rsi_model_path(const rsi_model *m)
{
    return m ? m->path.c_str() : nullptr;
}

const char *const *rsi_model_module_paths(rsi_model *m, int *n)
{
    *n = (int)m->module_paths.size();
    return m->module_path_ptrs.data();
}

int rsi_model_set_device(rsi_model *m, const char *device)
{
    int rc = shim_call<int>(-1, "device", [&] {
        c10::Device d = rsicam::parse_device(device);
        m->module.to(d);
        m->device = d;
        m->act_shapes.clear();
        return 0;
    });
    if (rc < 0)
        rsi_error_reclass(RSI_ERR_USAGE);
    return rc;
}

int rsi_model_set_precision(rsi_model *m, const char *precision)
{
    int rc = shim_call<int>(-1, "precision", [&] {
        m->head_precision = rsicam::parse_precision(precision);
        return 0;
    });
    if (rc < 0)
        rsi_error_reclass(RSI_ERR_USAGE);
    return rc;
}

rsi_tensor *rsi_model_place(const rsi_model *m, const rsi_tensor *t)
{
    return shim_call<rsi_tensor *>(
        nullptr, "device", [&] { return wrap(unwrap(t).to(m->device)); });
}

int rsi_model_num_layers(const rsi_model *m)
{
    return (int)m->layers.size();
}

int rsi_model_select_layers(rsi_model *m, const char *const *layers, int n)
{
    std::vector<std::string> wanted(layers, layers + n);
    std::set<std::string> known(m->module_paths.begin(), m->module_paths.end());
    for (const auto &layer : wanted) {
        if (!known.count(layer)) {
            const char *near[5];
            int k = rsi_nearest_k(layer.c_str(), m->module_path_ptrs.data(),
                                  (int)m->module_path_ptrs.size(), 5, near);
            std::string list;
            for (int i = 0; i < k; i++)
                list += std::string(i ? ", " : "") + near[i];
            rsi_error_class_set(
                RSI_ERR_MODEL, "model '%s': no module named '%s'%s%s",
                m->path.c_str(), layer.c_str(),
                k ? "; nearest module paths: " : " (the model has none)",
                list.c_str());
            return -1;
        }
    }
    int rc = shim_call<int>(-1, "cannot expose layers", [&] {
        m->exposed = rsicam::expose_layers(m->module, wanted);
        m->layers = wanted;
        m->act_shapes.clear();
        return 0;
    });
    if (rc < 0) {
        rsi_error_prefix("model '%s': ", m->path.c_str());
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return rc;
}

rsi_tensor *rsi_model_logits(rsi_model *m, const rsi_tensor *x)
{
    rsi_tensor *out = shim_call<rsi_tensor *>(nullptr, "forward", [&] {
        torch::NoGradGuard no_grad;
        const at::Tensor in = unwrap(x).to(m->device);
        return wrap(
            rsicam::as_logits(m->module.forward({in}), in.size(0), m->path));
    });
    if (!out)
        rsi_error_reclass(RSI_ERR_MODEL);
    return out;
}

} // extern "C"

namespace rsicam
{

// The exposed forward on x with the given deltas; returns (logits, acts).
static std::vector<at::Tensor> run_exposed(rsi_model *m, const at::Tensor &x,
                                           const std::vector<at::Tensor> &d)
{
    torch::jit::Stack stack{m->module._ivalue(), x};
    for (const auto &t : d)
        stack.emplace_back(t);
    m->exposed->run(stack);
    auto elements = stack.back().toTupleRef().elements();
    std::vector<at::Tensor> out;
    out.push_back(as_logits(elements[0], x.size(0), m->path));
    for (size_t i = 1; i < elements.size(); i++)
        out.push_back(elements[i].toTensor());
    return out;
}

// Each layer's activation shape (without batch) for inputs of x's size,
// found once per size by a batch-of-one run with scalar zero deltas.
static const std::vector<std::vector<int64_t>> &
activation_shapes(rsi_model *m, const at::Tensor &x)
{
    auto key = std::make_pair(x.size(2), x.size(3));
    auto it = m->act_shapes.find(key);
    if (it != m->act_shapes.end())
        return it->second;
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> zeros(m->layers.size(),
                                  torch::zeros({}, x.options()));
    auto out = run_exposed(m, x.narrow(0, 0, 1), zeros);
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < m->layers.size(); i++) {
        auto sizes = out[i + 1].sizes().vec();
        if (sizes.size() != 4)
            throw std::runtime_error(
                "layer '" + m->layers[i] + "' outputs shape " +
                c10::str(out[i + 1].sizes()) +
                ", expected 4-D [N, channels, height, width]");
        sizes.erase(sizes.begin());
        shapes.push_back(sizes);
    }
    return m->act_shapes[key] = shapes;
}

// How a run picks its targets: given, or chosen from the first row's
// logits between the forward and the backward (that row then possibly a
// lead row: run, never differentiated nor returned).
struct Choice {
    rsi_target_chooser choose = nullptr;
    void *user = nullptr;
    int lead = 0;
    rsi_target *targets = nullptr; // room for max
    int max = 0;
    int *chosen = nullptr;       // receives the count chosen
    bool chooser_failed = false; // its error is the one to report
};

static int run(rsi_model *m, const rsi_tensor *xh, const rsi_target *targets,
               int n_targets, rsi_forward_result *res, Choice &choice)
{
    const at::Tensor x = unwrap(xh).to(m->device);
    if (!m->exposed)
        throw std::runtime_error("no layers selected");
    if (x.dim() != 4)
        throw std::invalid_argument("input must be [N, C, H, W]");
    const auto &shapes = activation_shapes(m, x);
    const int64_t b = x.size(0);
    std::vector<at::Tensor> deltas;
    for (const auto &s : shapes) {
        std::vector<int64_t> sizes{b};
        sizes.insert(sizes.end(), s.begin(), s.end());
        deltas.push_back(torch::zeros(sizes, x.options()).requires_grad_());
    }
    torch::AutoGradMode grad_mode(true);
    std::vector<at::Tensor> out;
    {
        AutocastScope head(m->device.type(), m->head_precision);
        out = run_exposed(m, x.detach(), deltas);
    }
    const int64_t lead = choice.lead;
    if (choice.choose) {
        rsi_tensor first{out[0].narrow(0, 0, 1).detach()};
        n_targets =
            choice.choose(choice.user, &first, choice.targets, choice.max);
        if (n_targets < 0 || n_targets > choice.max) {
            choice.chooser_failed = rsi_error_pending();
            throw std::runtime_error("choosing the targets failed");
        }
        targets = choice.targets;
        *choice.chosen = n_targets;
    }
    // the rows differentiated and returned
    const at::Tensor logits = out[0].narrow(0, lead, b - lead);
    const size_t nl = m->layers.size();
    for (int t = 0; t < n_targets; t++) {
        int64_t c = targets[t].class_index;
        if (c < 0 || c >= logits.size(1))
            throw std::out_of_range(
                "class " + std::to_string(c) + " out of range: the model has " +
                std::to_string(logits.size(1)) + " classes");
        at::Tensor score = targets[t].kind == RSI_SCORE_LOGIT
                               ? logits.select(1, c)
                               : torch::softmax(logits, 1).select(1, c);
        auto grads = torch::autograd::grad({score.sum()}, deltas, {},
                                           /*retain_graph=*/t + 1 < n_targets,
                                           /*create_graph=*/false,
                                           /*allow_unused=*/true);
        for (size_t l = 0; l < nl; l++) {
            at::Tensor g =
                grads[l].defined() ? grads[l] : torch::zeros_like(deltas[l]);
            res->grads[t * nl + l] = wrap(g.narrow(0, lead, b - lead));
        }
        res->scores[t] = wrap(score.detach());
    }
    for (size_t l = 0; l < nl; l++)
        res->acts[l] = wrap(out[l + 1].detach().narrow(0, lead, b - lead));
    res->logits = wrap(logits.detach());
    return 0;
}

} // namespace rsicam

extern "C" {

// Clears out for up to n_targets, runs, and on failure frees what the run
// made and names the model (unless the chooser failed: its error stands).
static int run_c(rsi_model *m, const rsi_tensor *x, const rsi_target *targets,
                 int n_targets, rsi_forward_result *out, rsicam::Choice &choice)
{
    const int nl = (int)m->layers.size();
    out->logits = nullptr;
    for (int l = 0; l < nl; l++)
        out->acts[l] = nullptr;
    for (int t = 0; t < n_targets; t++) {
        out->scores[t] = nullptr;
        for (int l = 0; l < nl; l++)
            out->grads[t * nl + l] = nullptr;
    }
    int rc = shim_call<int>(-1, "forward/backward", [&] {
        return rsicam::run(m, x, targets, n_targets, out, choice);
    });
    if (rc < 0) {
        rsi_forward_result_release(out, nl, n_targets);
        if (!choice.chooser_failed) {
            rsi_error_prefix("model '%s': ", m->path.c_str());
            rsi_error_reclass(RSI_ERR_MODEL);
        }
    }
    return rc;
}

int rsi_model_run(rsi_model *m, const rsi_tensor *x, const rsi_target *targets,
                  int n_targets, rsi_forward_result *out)
{
    rsicam::Choice none;
    return run_c(m, x, targets, n_targets, out, none);
}

int rsi_model_run_choosing(rsi_model *m, const rsi_tensor *x, int lead,
                           rsi_target_chooser choose, void *user,
                           rsi_target *targets, int max_targets, int *n_targets,
                           rsi_forward_result *out)
{
    rsicam::Choice c;
    c.choose = choose;
    c.user = user;
    c.lead = lead ? 1 : 0;
    c.targets = targets;
    c.max = max_targets;
    c.chosen = n_targets;
    *n_targets = 0;
    return run_c(m, x, targets, max_targets, out, c);
}

void rsi_forward_result_release(rsi_forward_result *out, int n_layers,
                                int n_targets)
{
    rsi_tensor_free(out->logits);
    out->logits = nullptr;
    for (int l = 0; l < n_layers; l++) {
        rsi_tensor_free(out->acts[l]);
        out->acts[l] = nullptr;
    }
    for (int t = 0; t < n_targets; t++) {
        rsi_tensor_free(out->scores[t]);
        out->scores[t] = nullptr;
        for (int l = 0; l < n_layers; l++) {
            rsi_tensor_free(out->grads[t * n_layers + l]);
            out->grads[t * n_layers + l] = nullptr;
        }
    }
}

rsi_tensor *rsi_model_input_grad_softmax(rsi_model *m, const rsi_tensor *x,
                                         const rsi_tensor *upstream,
                                         rsi_tensor **probs)
{
    rsi_tensor *out = shim_call<rsi_tensor *>(nullptr, "input gradient", [&] {
        at::Tensor in = unwrap(x).detach().to(m->device).requires_grad_();
        torch::AutoGradMode grad_mode(true);
        at::Tensor logits =
            rsicam::as_logits(m->module.forward({in}), in.size(0), m->path);
        at::Tensor p = torch::softmax(logits, 1);
        at::Tensor loss = (p * unwrap(upstream)).sum();
        auto g = torch::autograd::grad({loss}, {in});
        if (probs)
            *probs = wrap(p.detach());
        return wrap(g[0]);
    });
    if (!out)
        rsi_error_reclass(RSI_ERR_MODEL);
    return out;
}

} // extern "C"
