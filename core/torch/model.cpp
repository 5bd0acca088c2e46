// rsicam — model services (model.h): TorchScript classifiers.
#include "expose_layers.h"
#include "layer_delta.h"
#include "model_impl.h"
#include "precision.h"
#include "prefault.h"
#include "rows_finite.h"
#include "shim.h"
#include "split_head.h"

#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
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

rsi_model *
model_from_module(torch::jit::Module module, const std::string &path,
                  rsi_model_info &info,
                  const std::vector<std::pair<std::string, std::string>> &names)
{
    auto m = std::make_unique<rsi_model>();
    m->module = std::move(module);
    m->module.eval();
    m->path = path;
    m->info = info;
    std::memset(&info, 0, sizeof info); // the model's now
    for (const auto &[name, module_path] : names) {
        m->module_paths.push_back(name);
        m->layer_module[name] = module_path;
    }
    for (const auto &p : m->module_paths)
        m->module_path_ptrs.push_back(p.c_str());
    return m.release();
}

// How the head before the first layer runs, RSICAM_HEAD read once (bench/
// compares them): frozen (the default: parameters as constants, oneDNN on
// a CPU in float32, every operation computing as written, relus inside
// the batch norms and sums before them, so the maps are the plain
// forward's to the last bit), folded (also batch norm folded into the
// convolutions: no faster on ResNet50 `layer4`, 3% on VGG19 in bench/'s
// 2026-12-02 run, but the sums round differently: test_parity found the
// completeness gaps moved by 1.2e-4) or
// plain (as written, the whole forward under autograd's recording).
enum class HeadMode { plain, frozen, folded };

static HeadMode head_mode()
{
    static const char *const mode = std::getenv("RSICAM_HEAD");
    if (!mode || !*mode || std::strcmp(mode, "frozen") == 0)
        return HeadMode::frozen;
    if (std::strcmp(mode, "folded") == 0)
        return HeadMode::folded;
    if (std::strcmp(mode, "plain") == 0)
        return HeadMode::plain;
    throw std::invalid_argument("RSICAM_HEAD: unknown head '" +
                                std::string(mode) +
                                "' (frozen, folded or plain)");
}

// A bad RSICAM_HEAD is the user's: said when layers are chosen, before
// any work, as a usage error.
static bool head_setting_ok()
{
    try {
        head_mode();
        return true;
    } catch (const std::exception &e) {
        rsi_error_class_set(RSI_ERR_USAGE, "%s", e.what());
        return false;
    }
}

} // namespace rsicam

extern "C" {

rsi_model *rsi_model_load(const char *path)
{
    auto m = std::make_unique<rsi_model>();
    // the weights' pages, faulted in meanwhile
    if (!rsicam::prefault_start(path, rsi_torch_huge_pages()))
        return nullptr;
    if (!rsicam::load_file(path, "model", m->module, m->path, m->info) ||
        !rsicam::use_default_executor(m->device)) {
        rsicam::prefault_end();
        return nullptr;
    }
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
    rsicam::prefault_end();
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
        if (!d.is_cpu())
            rsicam::prefault_end(); // the region is host memory
        m->module.to(d);
        m->device = d;
        rsicam::forget_split(m);
        return 0;
    });
    if (rc < 0)
        rsi_error_reclass(RSI_ERR_USAGE);
    else if (!rsicam::use_default_executor(m->device))
        return -1;
    return rc;
}

int rsi_model_set_precision(rsi_model *m, const char *precision)
{
    int rc = shim_call<int>(-1, "precision", [&] {
        m->head_precision = rsicam::parse_precision(precision);
        rsicam::forget_split(m);
        return 0;
    });
    if (rc < 0)
        rsi_error_reclass(RSI_ERR_USAGE);
    return rc;
}

const char *rsi_model_get_precision(const rsi_model *m)
{
    return m->head_precision == c10::kBFloat16 ? "bf16" : "fp32";
}

int rsi_model_on_gpu(const rsi_model *m)
{
    return m->device.is_cuda();
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
    if (!rsicam::head_setting_ok())
        return -1;
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
    std::vector<std::string> paths = wanted;
    for (auto &p : paths)
        if (m->layer_module.count(p))
            p = m->layer_module[p];
    int rc = shim_call<int>(-1, "cannot expose layers", [&] {
        m->exposed = rsicam::expose_layers(m->module, paths);
        m->layers = wanted;
        rsicam::forget_split(m);
        return 0;
    });
    if (rc < 0) {
        rsi_error_prefix("model '%s': ", m->path.c_str());
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return rc;
}

rsi_tensor *rsi_model_forward(rsi_model *m, const rsi_tensor *x)
{
    rsi_tensor *out = shim_call<rsi_tensor *>(nullptr, "forward", [&] {
        torch::NoGradGuard no_grad;
        c10::IValue y = m->module.forward({unwrap(x).to(m->device)});
        if (!y.isTensor())
            throw std::runtime_error("forward does not return a tensor");
        return wrap(y.toTensor());
    });
    if (!out) {
        rsi_error_prefix("model '%s': ", m->path.c_str());
        rsi_error_reclass(RSI_ERR_MODEL);
    }
    return out;
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

// The exposed forward cut at its first layer, made once per device,
// precision and layers; nullptr where the cut is not possible (said once)
// or not wanted.
static const SplitForward *split_for(rsi_model *m)
{
    const HeadMode mode = head_mode();
    if (m->split_tried || mode == HeadMode::plain)
        return m->split.get();
    m->split_tried = true;
    std::string why;
    HeadKernels kernels = HeadKernels::plain;
    if (m->head_precision == c10::kFloat)
        kernels = m->device.is_cpu() ? HeadKernels::onednn : HeadKernels::cudnn;
    else if (m->head_precision == c10::kBFloat16 && m->device.is_cpu() &&
             bf16_convs_on_onednn())
        kernels = HeadKernels::channels_last;
    const auto start = std::chrono::steady_clock::now();
    try {
        m->split = split_head(m->module, *m->exposed->graph(), kernels,
                              mode == HeadMode::folded, m->head_precision, why);
    } catch (const std::exception &e) { // a pass that cannot handle a graph
        why = std::string("freezing failed: ") + e.what();
        why = why.substr(0, why.find('\n'));
    }
    if (!m->split)
        std::cerr << "rsicam: model '" << m->path << "': " << why
                  << "; the whole forward runs with gradients\n";
    else if (std::getenv("RSICAM_TRACE")) { // a one-time cost of the first run
        std::string how = m->split->kernels == HeadKernels::onednn
                              ? " and its convolutions prepacked"
                          : m->split->kernels == HeadKernels::channels_last
                              ? ", channels-last"
                              : "";
        if (m->split->fused_relus > 0)
            how += ", " + std::to_string(m->split->fused_relus) +
                   " relus run inside oneDNN's convolutions, batch norms "
                   "and sums";
        if (m->split->head_autocast)
            how += ", " + std::to_string(m->split->cast_weights) +
                   " weights cast to " + rsi_model_get_precision(m);
        std::fprintf(stderr, "rsicam: trace: head frozen%s in %.1f ms\n",
                     how.c_str(),
                     std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count());
    }
    return m->split.get();
}

void forget_split(rsi_model *m)
{
    m->split.reset();
    m->split_tried = false;
}

// One run of the exposed forward: (logits, A_1..A_n) and what each layer's
// gradient is taken against (D_i or A_i, layer_delta.h), requiring grad.
struct Exposed {
    std::vector<at::Tensor> out, deltas;
};

static Exposed run_exposed(rsi_model *m, const at::Tensor &x)
{
    DeltaCapture capture(m->layers.size());
    std::vector<c10::IValue> elements;
    m->head_seconds = -1;
    if (const SplitForward *split = split_for(m)) {
        elements =
            run_split(*split, m->module, x, m->head_rows, m->head_seconds);
    } else {
        torch::jit::Stack stack{m->module._ivalue(), x};
        m->exposed->run(stack);
        elements = stack.back().toTupleRef().elements().vec();
    }
    Exposed e;
    e.out.push_back(as_logits(elements[0], x.size(0), m->path));
    for (size_t i = 1; i < elements.size(); i++) {
        const at::Tensor a = elements[i].toTensor();
        if (a.dim() != 4)
            throw std::runtime_error("layer '" + m->layers[i - 1] +
                                     "' outputs shape " + c10::str(a.sizes()) +
                                     ", expected 4-D [N, channels, height, "
                                     "width]");
        e.out.push_back(a);
    }
    const int64_t changed = capture.changed_in_place();
    if (changed >= 0)
        throw std::logic_error("layer '" + m->layers[(size_t)changed] +
                               "' was changed in place after it was "
                               "exposed without a copy");
    e.deltas = std::move(capture.deltas());
    for (size_t l = 0; l < e.deltas.size(); l++)
        if (torch::GradMode::is_enabled() && !e.deltas[l].defined())
            throw std::logic_error("layer '" + m->layers[l] +
                                   "' did not run: it has no gradient");
    return e;
}

// A host tensor for indices or flags bound for device: pinned for a GPU,
// so that copying it (non_blocking) does not wait for the work queued
// before; owned, since autograd may keep an index for the backward.
static at::Tensor host_for(const c10::Device &device, c10::ScalarType type,
                           int64_t n)
{
    return torch::empty({n}, torch::TensorOptions().dtype(type).pinned_memory(
                                 device.is_cuda()));
}

static at::Tensor on_device(const at::Tensor &host, const c10::Device &device)
{
    return host.to(device, /*non_blocking=*/true);
}

// Each row's score for target slot t: its part's target t (its last when
// it has fewer), a logit or a softmax probability.
static at::Tensor row_scores(const at::Tensor &logits,
                             const rsi_run_part *parts, int n_parts, int t)
{
    const int64_t rows = logits.size(0);
    at::Tensor cls = host_for(logits.device(), torch::kLong, rows),
               is_logit = host_for(logits.device(), torch::kBool, rows);
    int64_t *c = cls.data_ptr<int64_t>();
    bool *l = is_logit.data_ptr<bool>();
    int64_t logit_rows = 0;
    for (int p = 0; p < n_parts; p++) {
        const rsi_run_part &part = parts[p];
        const rsi_target &target =
            part.targets[std::min(t, part.n_targets - 1)];
        if (target.class_index < 0 || target.class_index >= logits.size(1))
            throw std::out_of_range(
                "class " + std::to_string(target.class_index) +
                " out of range: the model has " +
                std::to_string(logits.size(1)) + " classes");
        const bool logit = target.kind == RSI_SCORE_LOGIT;
        std::fill(c, c + part.rows, target.class_index);
        std::fill(l, l + part.rows, logit);
        c += part.rows;
        l += part.rows;
        logit_rows += logit ? part.rows : 0;
    }
    at::Tensor index = on_device(cls, logits.device()).unsqueeze(1);
    auto pick = [&](const at::Tensor &v) {
        return v.gather(1, index).squeeze(1);
    };
    if (logit_rows == rows)
        return pick(logits);
    at::Tensor probs = pick(torch::softmax(logits, 1));
    if (logit_rows == 0)
        return probs;
    return torch::where(on_device(is_logit, logits.device()), pick(logits),
                        probs);
}

// The exposed forward of x: its outputs in x's row order, and each
// forward's deltas, whose gradients back puts in that order too.
struct Forward {
    std::vector<at::Tensor> out;                // logits, A_1..A_n
    std::vector<std::vector<at::Tensor>> parts; // each forward's D_1..D_n
    at::Tensor back; // row r of x is row back[r] of the forwards' rows
};

// The exposed forward of x, the head in the model's precision except for
// the rows in exact (increasing), which run in float32: one forward for
// each set of rows, their outputs put back in x's order.
static Forward forward(rsi_model *m, const at::Tensor &x,
                       const std::vector<int64_t> &exact)
{
    Forward f;
    if (exact.empty() || m->head_precision == c10::kFloat) {
        AutocastScope head(m->device.type(), m->head_precision);
        Exposed e = run_exposed(m, x);
        f.out = std::move(e.out);
        f.parts.push_back(std::move(e.deltas));
        return f;
    }
    const int64_t b = x.size(0), n_exact = (int64_t)exact.size();
    at::Tensor order = host_for(x.device(), torch::kLong, b),
               back = host_for(x.device(), torch::kLong, b);
    int64_t *o = order.data_ptr<int64_t>(), *w = back.data_ptr<int64_t>();
    // the reduced rows first, then the exact ones; back[r]: where row r went
    for (int64_t r = 0, e = 0, low = 0; r < b; r++) {
        const bool is_exact = e < n_exact && exact[e] == r;
        const int64_t at = is_exact ? b - n_exact + e++ : low++;
        o[at] = r;
        w[r] = at;
    }
    const at::Tensor order_d = on_device(order, x.device());
    auto rows = [&](int64_t from, int64_t n) {
        return x.index_select(0, order_d.narrow(0, from, n));
    };
    std::vector<Exposed> runs;
    if (b > n_exact) {
        AutocastScope head(m->device.type(), m->head_precision);
        runs.push_back(run_exposed(m, rows(0, b - n_exact)));
    }
    runs.push_back(run_exposed(m, rows(b - n_exact, n_exact)));
    f.back = on_device(back, x.device());
    for (size_t i = 0; i < runs[0].out.size(); i++) {
        std::vector<at::Tensor> all;
        for (const Exposed &e : runs)
            all.push_back(e.out[i]);
        f.out.push_back(torch::cat(all).index_select(0, f.back));
    }
    for (Exposed &e : runs)
        f.parts.push_back(std::move(e.deltas));
    return f;
}

// d score / d A_l for every layer l, in x's row order.
static std::vector<at::Tensor>
layer_grads(const Forward &f, const at::Tensor &score, bool retain_graph)
{
    std::vector<at::Tensor> deltas;
    for (const auto &part : f.parts)
        deltas.insert(deltas.end(), part.begin(), part.end());
    auto grads = torch::autograd::grad({score.sum()}, deltas, {}, retain_graph,
                                       /*create_graph=*/false,
                                       /*allow_unused=*/true);
    const size_t nl = f.parts[0].size();
    std::vector<at::Tensor> out;
    for (size_t l = 0; l < nl; l++) {
        std::vector<at::Tensor> rows;
        for (size_t p = 0; p < f.parts.size(); p++) {
            const at::Tensor &g = grads[p * nl + l];
            rows.push_back(g.defined() ? g
                                       : torch::zeros_like(deltas[p * nl + l]));
        }
        out.push_back(f.back.defined()
                          ? torch::cat(rows).index_select(0, f.back)
                          : rows[0]);
    }
    return out;
}

static int run(rsi_model *m, const rsi_tensor *xh, rsi_run_part *parts,
               int n_parts, int max_targets, rsi_forward_result *res,
               bool &chooser_failed)
{
    const at::Tensor x = unwrap(xh).to(m->device);
    if (!m->exposed)
        throw std::runtime_error("no layers selected");
    if (x.dim() != 4)
        throw std::invalid_argument("input must be [N, C, H, W]");
    int64_t b = 0;
    for (int p = 0; p < n_parts; p++) {
        if (parts[p].rows < 0 || (parts[p].choose && parts[p].rows < 1))
            throw std::invalid_argument("a part needs rows, and one that "
                                        "chooses its targets a row to "
                                        "choose from");
        b += parts[p].rows;
    }
    if (n_parts < 1 || b != x.size(0))
        throw std::invalid_argument("the parts hold " + std::to_string(b) +
                                    " rows, the input " +
                                    std::to_string(x.size(0)));
    std::vector<int64_t> exact;
    for (int64_t p = 0, row = 0; p < n_parts; row += parts[p++].rows) {
        const rsi_run_part &part = parts[p];
        if (part.n_full_precision < 0 ||
            part.n_full_precision > RSI_RUN_PART_MAX_FULL_PRECISION)
            throw std::invalid_argument("a part asks for " +
                                        std::to_string(part.n_full_precision) +
                                        " rows in full precision");
        for (int i = 0; i < part.n_full_precision; i++) {
            const int64_t at = part.full_precision_at[i];
            if (at < 0 || at >= part.rows)
                throw std::invalid_argument(
                    "row " + std::to_string(at) +
                    " asked for in full precision is outside its part of " +
                    std::to_string(part.rows) + " rows");
            exact.push_back(row + at);
        }
    }
    std::sort(exact.begin(), exact.end()); // forward() wants them increasing
    exact.erase(std::unique(exact.begin(), exact.end()), exact.end());
    torch::AutoGradMode grad_mode(true);
    const Forward f = forward(m, x.detach(), exact);
    const std::vector<at::Tensor> &out = f.out;
    int slots = 0;
    for (int p = 0, row = 0; p < n_parts; p++) {
        rsi_run_part &part = parts[p];
        if (part.choose) {
            rsi_tensor first{out[0].narrow(0, row, 1).detach()};
            part.n_targets =
                part.choose(part.user, &first, part.targets, max_targets);
            if (part.n_targets < 0 || part.n_targets > max_targets) {
                chooser_failed = rsi_error_pending();
                throw std::runtime_error("choosing the targets failed");
            }
        }
        row += (int)part.rows;
        if (part.n_targets > max_targets)
            throw std::invalid_argument("more targets than max_targets");
        slots = std::max(slots, part.n_targets);
    }
    for (int p = 0; p < n_parts; p++)
        if (slots > 0 && parts[p].n_targets < 1 && parts[p].rows > 0)
            throw std::invalid_argument("a part without targets beside "
                                        "parts with some");
    const at::Tensor &logits = out[0];
    const size_t nl = m->layers.size();
    std::vector<at::Tensor> checked;
    for (int t = 0; t < slots; t++) {
        at::Tensor score = row_scores(logits, parts, n_parts, t);
        const auto grads = layer_grads(f, score, t + 1 < slots);
        for (size_t l = 0; l < nl; l++) {
            checked.push_back(grads[l]);
            res->grads[t * nl + l] = wrap(checked.back());
        }
        res->scores[t] = wrap(score.detach());
    }
    for (size_t l = 0; l < nl; l++) {
        checked.push_back(out[l + 1].detach());
        res->acts[l] = wrap(checked.back());
    }
    res->logits = wrap(logits.detach());
    // The input too: oneDNN's ReLU in a frozen head maps NaN to 0, so a
    // non-finite input row need not reach the logits to be wrong.
    checked.push_back(x);
    checked.push_back(logits.detach());
    res->finite = wrap(rows_finite(checked));
    res->full_precision_rows =
        m->head_precision == c10::kFloat ? 0 : (int64_t)exact.size();
    return slots;
}

} // namespace rsicam

extern "C" {

// Clears out for up to n_targets, runs, and on failure frees what the run
// made and names the model (unless a chooser failed: its error stands).
int rsi_model_run_parts(rsi_model *m, const rsi_tensor *x, rsi_run_part *parts,
                        int n_parts, int max_targets, rsi_forward_result *out)
{
    const int nl = (int)m->layers.size();
    out->logits = nullptr;
    out->finite = nullptr;
    out->full_precision_rows = 0;
    for (int l = 0; l < nl; l++)
        out->acts[l] = nullptr;
    for (int t = 0; t < max_targets; t++) {
        out->scores[t] = nullptr;
        for (int l = 0; l < nl; l++)
            out->grads[t * nl + l] = nullptr;
    }
    bool chooser_failed = false;
    int rc = shim_call<int>(-1, "forward/backward", [&] {
        return rsicam::run(m, x, parts, n_parts, max_targets, out,
                           chooser_failed);
    });
    // later forwards reuse the first one's blocks: what is left is spare
    rsicam::prefault_end();
    if (rc < 0) {
        rsi_forward_result_release(out, nl, max_targets);
        if (!chooser_failed) {
            rsi_error_prefix("model '%s': ", m->path.c_str());
            rsi_error_reclass(RSI_ERR_MODEL);
        }
    }
    return rc;
}

int rsi_model_run(rsi_model *m, const rsi_tensor *x, const rsi_target *targets,
                  int n_targets, rsi_forward_result *out)
{
    rsi_run_part all{};
    all.rows = rsi_tensor_size(x, 0);
    all.targets = const_cast<rsi_target *>(targets); // only read: no chooser
    all.n_targets = n_targets;
    return rsi_model_run_parts(m, x, &all, 1, n_targets, out) < 0 ? -1 : 0;
}

void rsi_forward_result_release(rsi_forward_result *out, int n_layers,
                                int n_targets)
{
    rsi_tensor_free(out->logits);
    rsi_tensor_free(out->finite);
    out->logits = nullptr;
    out->finite = nullptr;
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

int rsi_model_wide_tail(rsi_model *m)
{
    return shim_call<int>(-1, "wide tail", [&] {
        if (!m->exposed)
            throw std::runtime_error("no layers selected");
        if (!m->device.is_cpu())
            return 0;
        const rsicam::SplitForward *split = rsicam::split_for(m);
        return split && split->wide_tail ? 1 : 0;
    });
}

int rsi_model_set_head_rows(rsi_model *m, int64_t rows)
{
    return shim_call<int>(-1, "head rows", [&] {
        if (rows < 0)
            throw std::invalid_argument("head rows must be >= 0");
        m->head_rows = rows;
        return 0;
    });
}

double rsi_model_head_seconds(const rsi_model *m)
{
    return m->head_seconds;
}

} // extern "C"
